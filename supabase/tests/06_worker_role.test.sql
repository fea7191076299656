-- pgTAP: the functions' role (supabase/schemas/09_access.sql). pm_pipeline_worker executes
-- the SQL API, whose functions write as the schema's owner, reads what the functions read, and
-- can write nothing directly nor read the queue's rows.
--
-- Runs in one transaction that is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(16);

-- runs `p_sql` as pm_pipeline_worker: 'ok', or the SQLSTATE it failed with
create function pg_temp.as_worker(p_sql text) returns text language plpgsql as $$
begin
  set local role pm_pipeline_worker;
  begin
    execute p_sql;
  exception when others then
    reset role;
    return sqlstate;
  end;
  reset role;
  return 'ok';
end
$$;

select ok(exists (select from pg_roles where rolname = 'pm_pipeline_worker' and not rolsuper and not rolbypassrls and not rolcreaterole),
  'pm_pipeline_worker exists, without superuser, bypassrls or createrole');
select is_empty($$ select p.oid::regprocedure from pg_proc p where p.pronamespace = 'pm_pipeline'::regnamespace and p.prokind = 'f'
                     and not (p.prosecdef and exists (select from unnest(p.proconfig) c where c = 'search_path=""')) $$,
  'every function of pm_pipeline is security definer with an empty search_path');

select is(pg_temp.as_worker($$ select * from pm_pipeline.tasks $$), '42501', 'the role cannot read the queue''s rows');
select is(pg_temp.as_worker($$ select * from pm_pipeline.events $$), '42501', 'nor the events');
select is(pg_temp.as_worker($$ select * from pm_pipeline.worker_heartbeats $$), '42501', 'nor the worker rows');
select is(pg_temp.as_worker($$ insert into pm_pipeline.runs (criteria, target_quantity) values ('{}', 1) $$), '42501', 'it cannot insert a run');
select is(pg_temp.as_worker($$ update pm_pipeline.companies set status = 'accepted' $$), '42501', 'nor update a company');
select is(pg_temp.as_worker($$ delete from pm_pipeline.contacts $$), '42501', 'nor delete contacts');
select is(pg_temp.as_worker($$ update pm_pipeline.settings set heartbeat_interval_seconds = 5 $$), '42501', 'nor change the settings');

select is(pg_temp.as_worker($$ select pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 2) $$), 'ok',
  'it starts a run through the SQL API');
select is(pg_temp.as_worker($$ do 'begin if (select count(*) from pm_pipeline.runs) = 0 then raise ''no run visible''; end if; end' $$), 'ok',
  'and sees runs (the policy lets it read them)');
select is(pg_temp.as_worker($$ select * from pm_pipeline.v_queue_stats $$), 'ok', 'it reads the queue''s numbers');
select is(pg_temp.as_worker($$ select * from pm_pipeline.v_companies_export $$), 'ok', 'and the exports');
select is(pg_temp.as_worker($$ select * from pm_pipeline.claim_tasks('role-test-worker', array['lead_list'], 1) $$), 'ok',
  'it claims tasks through the SQL API');

select is(pg_temp.as_worker($$ select pm_pipeline.take_provider_turn('openai', 'role-test-model', 100),
                                      pm_pipeline.record_provider_limits('openai', 'role-test-model', '{"limit_requests": 5}') $$), 'ok',
  'it paces its provider calls through the SQL API');
select is(pg_temp.as_worker($$ update pm_pipeline.provider_rate_limits set blocked_until = null $$), '42501',
  'but cannot change the rate-limit buckets directly');

select * from finish();
rollback;
