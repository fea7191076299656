-- pgTAP: access to schema pm_pipeline. anon and authenticated (the Data API roles) can read,
-- write and call nothing; there are no policies and no grants for them, and even a mistaken grant
-- exposes no rows (row level security with no policies). service_role can do everything.
-- Runs in one transaction that is rolled back: it leaves nothing behind.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(105);

-- Fixtures, as postgres: a run, a task kind of our own and one queued task.
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds)
values ('pgtap_rls', 'pgTAP 01_rls test kind', 3, 30);
do $$
begin
  perform set_config('pmtest.run', (select id::text from pm_pipeline.create_run('{"state": "TX"}', 1)), true);
  perform set_config('pmtest.task', (select id::text from pm_pipeline.enqueue_tasks('pgtap_rls', current_setting('pmtest.run')::uuid,
    '[{"key": "rls-1"}]')), true);
end
$$;

-- The relations every role check below goes over; the count proves the lists are not empty.
create temp table pgtap_relations on commit drop as
  select c.oid, c.relname::text as relname, c.relkind from pg_class c
   where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f');
create temp table pgtap_functions on commit drop as
  select p.oid, p.oid::regprocedure::text as signature from pg_proc p where p.pronamespace = 'pm_pipeline'::regnamespace;
grant select on pgtap_relations, pgtap_functions to public;

-- Every table and view of the schema (whatever later migrations add) that the current role can
-- select from, or that fails with anything but 42501.
create function pg_temp.relations_not_refused() returns setof text language plpgsql as $fn$
declare
  v_name text;
begin
  for v_name in select relname from pgtap_relations where relkind in ('r', 'p', 'v', 'm', 'f') order by 1 loop
    begin
      execute format('select 1 from pm_pipeline.%I limit 0', v_name);
      return next v_name || ': readable';
    exception
      when insufficient_privilege then null;
      when others then return next format('%s: %s %s', v_name, sqlstate, sqlerrm);
    end;
  end loop;
end
$fn$;

select cmp_ok((select count(*)::int from pgtap_relations where relkind in ('r', 'v')), '>=', 13,
  'the schema has at least 10 tables and 3 views');
select cmp_ok((select count(*)::int from pgtap_functions), '>=', 25, 'the schema has at least 25 functions');

-- ---------------------------------------------------------------------------------------------
-- Catalog: no policies, no grants, no privileges for anon, authenticated or PUBLIC
-- ---------------------------------------------------------------------------------------------
select is_empty($$ select schemaname, tablename, policyname, roles from pg_policies
                    where schemaname = 'pm_pipeline' and roles && array['anon', 'authenticated', 'public']::name[] $$,
  'no policy in pm_pipeline applies to anon, authenticated or public');
select is_empty($$ select schemaname, tablename, policyname from pg_policies
                    where schemaname = 'pm_pipeline' and not (cmd = 'SELECT' and roles = array['pm_pipeline_worker']::name[]) $$,
  'pm_pipeline has no policies but the functions'' role''s reads (RLS on, nothing allowed but to bypassrls roles)');
select is_empty($$ select table_name, grantee, privilege_type from information_schema.role_table_grants
                    where table_schema = 'pm_pipeline' and grantee in ('anon', 'authenticated', 'PUBLIC') $$,
  'no table or view grant to anon, authenticated or PUBLIC');
select is_empty($$ select table_name, column_name, grantee from information_schema.column_privileges
                    where table_schema = 'pm_pipeline' and grantee in ('anon', 'authenticated', 'PUBLIC') $$,
  'no column grant to anon, authenticated or PUBLIC');
select is_empty($$ select routine_name, grantee from information_schema.role_routine_grants
                    where routine_schema = 'pm_pipeline' and grantee in ('anon', 'authenticated') $$,
  'no function grant to anon or authenticated');

select ok(not has_schema_privilege(r, 'pm_pipeline', 'usage') and not has_schema_privilege(r, 'pm_pipeline', 'create'),
          format('%s has neither usage nor create on schema pm_pipeline', r))
  from unnest(array['anon', 'authenticated']) r;

select is_empty(format($$
  select r.relname, p.priv from pgtap_relations r
   cross join unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p(priv)
   where r.relkind <> 'S' and has_table_privilege(%L, r.oid, p.priv)
  union all
  select r.relname, p.priv from pgtap_relations r
   cross join unnest(array['usage', 'select', 'update']) p(priv)
   where r.relkind = 'S' and has_sequence_privilege(%L, r.oid, p.priv) $$, role, role),
  format('%s holds no privilege on any table, view or sequence of pm_pipeline', role))
  from unnest(array['anon', 'authenticated']) role;

-- Functions keep PostgreSQL's default EXECUTE for PUBLIC unless each migration revokes it
-- ("alter default privileges in schema ... revoke ... from public" cannot take away a global default).
select is((select string_agg(routine_name, ', ' order by routine_name) from information_schema.role_routine_grants
            where routine_schema = 'pm_pipeline' and grantee = 'PUBLIC'), null,
  'no function of pm_pipeline is granted to PUBLIC');
select is((select count(*)::int from pgtap_functions where has_function_privilege(role, oid, 'execute')), 0,
  format('%s may execute no function of pm_pipeline', role))
  from unnest(array['anon', 'authenticated']) role;
select is_empty($$ select signature from pgtap_functions
                    where has_function_privilege('anon', oid, 'execute')
                      and signature in ('pm_pipeline.claim_tasks(text,text[],integer)', 'pm_pipeline.create_run(jsonb,integer,integer,integer,text,text)',
                                        'pm_pipeline.enqueue_tasks(text,uuid,jsonb)', 'pm_pipeline.complete_task(bigint,uuid,jsonb)',
                                        'pm_pipeline.fail_task(bigint,uuid,text,boolean,double precision,text)',
                                        'pm_pipeline.release_dead_worker_leases()', 'pm_pipeline.set_run_status(uuid,pm_pipeline.run_status,text,pm_pipeline.run_status)') $$,
  'anon may not execute the queue and run functions');

-- service_role: usage, every table privilege, every function, and it bypasses RLS
select ok(has_schema_privilege('service_role', 'pm_pipeline', 'usage'), 'service_role has usage on pm_pipeline');
select is_empty($$ select relname from pgtap_relations
                    where relkind in ('r', 'v') and not (has_table_privilege('service_role', oid, 'select')
                      and (relkind = 'v' or (has_table_privilege('service_role', oid, 'insert')
                        and has_table_privilege('service_role', oid, 'update') and has_table_privilege('service_role', oid, 'delete')))) $$,
  'service_role can read every table and view and write every table');
select is_empty($$ select signature from pgtap_functions where not has_function_privilege('service_role', oid, 'execute') $$,
  'service_role may execute every function of pm_pipeline');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses row level security');

-- ---------------------------------------------------------------------------------------------
-- As anon, then as authenticated: every read, write and call is refused with 42501
-- ---------------------------------------------------------------------------------------------
set local role anon;
select is(current_user::text, 'anon', 'now acting as anon');
select is_empty($$ select * from pg_temp.relations_not_refused() $$, 'anon is refused (42501) by every table and view of pm_pipeline');

select throws_ok(format('select * from pm_pipeline.%I', t), '42501', null, format('anon cannot select from pm_pipeline.%s', t))
  from unnest(array['runs', 'companies', 'company_research', 'contacts', 'suppression', 'events', 'settings',
                    'task_kinds', 'tasks', 'worker_heartbeats', 'v_active_workers', 'v_dead_workers', 'v_queue_stats']) t;

select throws_ok(q, '42501', null, 'anon: ' || btrim(q))
  from unnest(array[
    $$ insert into pm_pipeline.runs (criteria, target_quantity) values ('{}', 1) $$,
    $$ insert into pm_pipeline.suppression (domain) values ('example.com') $$,
    $$ update pm_pipeline.settings set heartbeat_interval_seconds = 5 $$,
    $$ delete from pm_pipeline.tasks $$,
    $$ select pm_pipeline.create_run('{"state": "TX"}', 1) $$,
    $$ select * from pm_pipeline.claim_tasks('pgtap-anon', array['pgtap_rls'], 1) $$,
    $$ select * from pm_pipeline.enqueue_tasks('pgtap_rls', null, '[{}]') $$,
    $$ select pm_pipeline.complete_task(1, gen_random_uuid()) $$,
    $$ select * from pm_pipeline.release_dead_worker_leases() $$,
    $$ select * from pm_pipeline.get_worker_stats() $$,
    $$ select pm_pipeline.upsert_worker_heartbeat('pgtap-anon', 'pgtap_rls') $$,
    $$ select pm_pipeline.normalize_domain('example.com') $$
  ]) q;
reset role;

set local role authenticated;
select is(current_user::text, 'authenticated', 'now acting as authenticated');
select is_empty($$ select * from pg_temp.relations_not_refused() $$, 'authenticated is refused (42501) by every table and view of pm_pipeline');

select throws_ok(format('select * from pm_pipeline.%I', t), '42501', null, format('authenticated cannot select from pm_pipeline.%s', t))
  from unnest(array['runs', 'companies', 'company_research', 'contacts', 'suppression', 'events', 'settings',
                    'task_kinds', 'tasks', 'worker_heartbeats', 'v_active_workers', 'v_dead_workers', 'v_queue_stats']) t;

select throws_ok(q, '42501', null, 'authenticated: ' || btrim(q))
  from unnest(array[
    $$ insert into pm_pipeline.runs (criteria, target_quantity) values ('{}', 1) $$,
    $$ insert into pm_pipeline.suppression (domain) values ('example.com') $$,
    $$ update pm_pipeline.settings set heartbeat_interval_seconds = 5 $$,
    $$ delete from pm_pipeline.tasks $$,
    $$ select pm_pipeline.create_run('{"state": "TX"}', 1) $$,
    $$ select * from pm_pipeline.claim_tasks('pgtap-auth', array['pgtap_rls'], 1) $$,
    $$ select * from pm_pipeline.enqueue_tasks('pgtap_rls', null, '[{}]') $$,
    $$ select pm_pipeline.complete_task(1, gen_random_uuid()) $$,
    $$ select * from pm_pipeline.release_dead_worker_leases() $$,
    $$ select * from pm_pipeline.get_worker_stats() $$,
    $$ select pm_pipeline.upsert_worker_heartbeat('pgtap-auth', 'pgtap_rls') $$,
    $$ select pm_pipeline.normalize_domain('example.com') $$
  ]) q;
reset role;
select is(current_user::text, 'postgres', 'back to postgres after reset role');

-- ---------------------------------------------------------------------------------------------
-- Defence in depth (rolled back with the rest): a mistaken schema grant still leaves every table
-- and function closed, and a mistaken table grant still shows no row and admits no insert (RLS).
-- ---------------------------------------------------------------------------------------------
grant usage on schema pm_pipeline to anon;
set local role anon;
select throws_ok($$ select * from pm_pipeline.runs $$, '42501', 'permission denied for table runs',
  'with schema usage only, anon still cannot read runs');
select throws_ok($$ select * from pm_pipeline.claim_tasks('pgtap-anon', array['pgtap_rls'], 1) $$, '42501',
  'permission denied for function claim_tasks', 'with schema usage only, anon still cannot call claim_tasks');
select throws_ok($$ select pm_pipeline.set_run_status(gen_random_uuid(), 'cancelled', 'x') $$, '42501',
  'permission denied for function set_run_status', 'with schema usage only, anon still cannot call set_run_status');
-- not executable by anon at all (and invoker rights would stop it anyway)
select throws_ok($$ select * from pm_pipeline.add_companies(1, gen_random_uuid(), '[]') $$, '42501', null,
  'with schema usage only, anon still gets nothing through add_companies');
select throws_ok($$ select pm_pipeline.next_task_due('lead_list') $$, '42501', null,
  'with schema usage only, anon still gets nothing through next_task_due');
reset role;

grant select, insert on pm_pipeline.runs to anon;
set local role anon;
select is((select count(*)::int from pm_pipeline.runs where id = current_setting('pmtest.run')::uuid), 0,
  'with a table grant, RLS still hides every row of runs from anon');
select throws_ok($$ insert into pm_pipeline.runs (criteria, target_quantity) values ('{"state": "TX"}', 1) $$, '42501',
  'new row violates row-level security policy for table "runs"', 'with a table grant, RLS still rejects inserts by anon');
reset role;
revoke all on pm_pipeline.runs from anon;
revoke usage on schema pm_pipeline from anon;

-- ---------------------------------------------------------------------------------------------
-- As service_role: the tables and views are readable, rows are visible, the queue works
-- ---------------------------------------------------------------------------------------------
set local role service_role;
select is(current_user::text, 'service_role', 'now acting as service_role');

select lives_ok(format('select * from pm_pipeline.%I limit 1', t), format('service_role can select from pm_pipeline.%s', t))
  from unnest(array['runs', 'companies', 'company_research', 'contacts', 'suppression', 'events', 'settings',
                    'task_kinds', 'tasks', 'worker_heartbeats', 'v_active_workers', 'v_dead_workers', 'v_queue_stats']) t;

select is((select count(*)::int from pm_pipeline.runs where id = current_setting('pmtest.run')::uuid), 1,
  'service_role sees the run (RLS bypassed)');
select is((select count(*)::int from pm_pipeline.settings), 1, 'service_role sees the settings row');

select isnt((pm_pipeline.create_run('{"pms": "Buildium"}', 2, p_idempotency_key => 'pgtap-rls-' || gen_random_uuid())).id, null,
  'service_role can create a run');
select is((select count(*)::int from pm_pipeline.enqueue_tasks('pgtap_rls', current_setting('pmtest.run')::uuid,
            '[{"key": "rls-2"}, {"key": "rls-1"}]')), 2, 'service_role can enqueue (one new task, one existing)');

create temp table pgtap_claimed on commit drop as
  select id, lease_token from pm_pipeline.claim_tasks('pgtap-rls-worker', array['pgtap_rls'], 10);
select is((select count(*)::int from pgtap_claimed), 2, 'service_role can claim tasks');
select isnt(pm_pipeline.heartbeat_task(c.id, c.lease_token), null, 'service_role can heartbeat a task')
  from pgtap_claimed c where c.id = current_setting('pmtest.task')::bigint;
select ok(pm_pipeline.complete_task(c.id, c.lease_token, '{"ok": true}'), 'service_role can complete a task')
  from pgtap_claimed c where c.id = current_setting('pmtest.task')::bigint;
select is(pm_pipeline.fail_task(c.id, c.lease_token, 'pgtap failure', false), 'failed'::pm_pipeline.task_state,
          'service_role can fail a task')
  from pgtap_claimed c where c.id <> current_setting('pmtest.task')::bigint;
select results_eq($$ select ready, running, succeeded, failed from pm_pipeline.v_queue_stats where kind = 'pgtap_rls' $$,
                  $$ values (0::bigint, 0::bigint, 1::bigint, 1::bigint) $$,
                  'service_role reads v_queue_stats for its kind');
select is((select status from pm_pipeline.worker_heartbeats where worker_id = 'pgtap-rls-worker'), 'processing',
  'service_role''s claim recorded the worker heartbeat');
reset role;

select * from finish();
rollback;
