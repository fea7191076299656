-- pgTAP: the single-task worker's fast path. complete_and_claim completes a task under its lease
-- and claims the next in one call: fenced by the token (a stale one writes and claims nothing), a
-- stopped worker claims nothing, claims keep the fair order across runs and skip runs that are not
-- active, and every claim mints a fresh token. claim_tasks sweeps expired leases only when
-- nothing is ready.
--
-- Runs in one transaction that is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(21);

insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds) values ('pgtap_cc', 'pgTAP complete_and_claim', 3, 30);
create temp table fx (name text primary key, id text, token uuid) on commit drop;
create function pg_temp.id(p_name text) returns text language sql as $$ select id from fx where name = p_name $$;
create function pg_temp.tok(p_name text) returns uuid language sql as $$ select token from fx where name = p_name $$;
insert into fx (name, id) select 'run_a', id::text from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 3);
insert into fx (name, id) select 'run_b', id::text from pm_pipeline.start_run('{"pms": "AppFolio", "state": "TX"}', 3);
insert into fx (name, id) select 'run_p', id::text from pm_pipeline.start_run('{"pms": "Yardi", "state": "TX"}', 3);
-- run A enqueues three tasks, then run B two: fair tags interleave them a1 b1 a2 b2 a3
insert into fx (name, id) select key, id::text from pm_pipeline.enqueue_tasks('pgtap_cc', pg_temp.id('run_a')::uuid,
  '[{"key": "a1"}, {"key": "a2"}, {"key": "a3"}]');
insert into fx (name, id) select key, id::text from pm_pipeline.enqueue_tasks('pgtap_cc', pg_temp.id('run_b')::uuid,
  '[{"key": "b1"}, {"key": "b2"}]');
-- a run that waits for a decision hands out no work
insert into fx (name, id) select key, id::text from pm_pipeline.enqueue_tasks('pgtap_cc', pg_temp.id('run_p')::uuid, '[{"key": "p1"}]');
select ok(pm_pipeline.set_run_status(pg_temp.id('run_p')::uuid, 'needs_user_decision', 'pick one'), 'run P waits for a decision');

-- The worker's loop: claim once, then complete_and_claim until it returns nothing
create function pg_temp.claim(p_worker text) returns text language plpgsql as $$
declare
  v_task pm_pipeline.tasks;
begin
  select * into v_task from pm_pipeline.claim_tasks(p_worker, array['pgtap_cc'], 1);
  update pg_temp.fx set token = v_task.lease_token where id = v_task.id::text;
  return v_task.key;
end
$$;
create function pg_temp.complete_and_claim(p_worker text, p_name text, p_result jsonb default '{"ok": true}') returns text language plpgsql as $$
declare
  v_task pm_pipeline.tasks;
begin
  select * into v_task from pm_pipeline.complete_and_claim(pg_temp.id(p_name)::bigint, pg_temp.tok(p_name), p_result, p_worker, array['pgtap_cc'], 1);
  update pg_temp.fx set token = v_task.lease_token where id = v_task.id::text;
  return coalesce(v_task.key, 'nothing');
end
$$;

select is(pg_temp.claim('pgtap-cc-1'), 'a1', 'the first claim takes a1, the lowest fair tag');
insert into fx (name, token) values ('a1_token', pg_temp.tok('a1'));

-- Fencing: a stale token completes nothing and claims nothing
select throws_ok(format($$ select * from pm_pipeline.complete_and_claim(%s, gen_random_uuid(), '{"zombie": true}', 'pgtap-cc-1', array['pgtap_cc'], 1) $$,
  pg_temp.id('a1')), 'PM001', null, 'complete_and_claim with a stale token raises PM001 (lease lost)');
select results_eq(format($$ select state::text, result from pm_pipeline.tasks where id = %s $$, pg_temp.id('a1')),
  $$ values ('running', null::jsonb) $$, 'the stale call wrote nothing: a1 still runs, without a result');
select is((select count(*)::int from pm_pipeline.tasks where kind = 'pgtap_cc' and state = 'running'), 1,
  'and claimed nothing: only a1 is running');

-- The fast path, in fair order across runs
select is(pg_temp.complete_and_claim('pgtap-cc-1', 'a1'), 'b1', 'completing a1 claims b1 (runs interleave by fair tag)');
select results_eq(format($$ select state::text, result, lease_token from pm_pipeline.tasks where id = %s $$, pg_temp.id('a1')),
  $$ values ('succeeded', '{"ok": true}'::jsonb, null::uuid) $$, 'a1 succeeded with its result, its lease gone');
select results_eq(format($$ select state::text, locked_by, attempts, lease_token <> %L from pm_pipeline.tasks where id = %s $$,
                         pg_temp.tok('a1_token'), pg_temp.id('b1')),
  $$ values ('running', 'pgtap-cc-1', 1, true) $$, 'b1 runs for the worker under a fresh token');
select ok(not pm_pipeline.complete_task(pg_temp.id('a1')::bigint, pg_temp.tok('a1_token')), 'a1''s token is dead once completed');
select throws_ok(format($$ select * from pm_pipeline.complete_and_claim(%s, %L, null, 'pgtap-cc-1', array['pgtap_cc'], 1) $$,
  pg_temp.id('a1'), pg_temp.tok('a1_token')), 'PM001', null, 'completing a1 twice raises PM001');
select is(pg_temp.complete_and_claim('pgtap-cc-1', 'b1'), 'a2', 'completing b1 claims a2');

-- A stopped worker: its lease went back, so its completion fails, and it claims nothing
select is(pm_pipeline.stop_worker('pgtap-cc-1', 'deploy'), 1, 'pgtap-cc-1 stops, releasing a2');
select throws_ok(format($$ select * from pm_pipeline.complete_and_claim(%s, %L, null, 'pgtap-cc-1', array['pgtap_cc'], 1) $$,
  pg_temp.id('a2'), pg_temp.tok('a2')), 'PM001', null, 'the stopped worker''s completion raises PM001');
select is(pg_temp.claim('pgtap-cc-2'), 'a2', 'another worker claims a2 again');
-- a stopped worker with a current lease (stopped by hand, mid-task) completes it but claims nothing more
update pm_pipeline.worker_heartbeats set status = 'stopped' where worker_id = 'pgtap-cc-2';
select is(pg_temp.complete_and_claim('pgtap-cc-2', 'a2'), 'nothing', 'a worker marked stopped completes its task and claims nothing');
select is((select state::text from pm_pipeline.tasks where id = pg_temp.id('a2')::bigint), 'succeeded', 'a2 succeeded');

-- Expired leases: no sweep while tasks are ready; taken over when nothing else is
select is(pg_temp.claim('pgtap-cc-3'), 'b2', 'pgtap-cc-3 claims b2');
update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second' where id = pg_temp.id('b2')::bigint;
insert into fx (name, token) values ('b2_expired', pg_temp.tok('b2'));
select is(pg_temp.claim('pgtap-cc-4'), 'a3', 'with a3 ready, pgtap-cc-4 claims a3 and leaves the expired b2 to the sweep');
select is((select state::text from pm_pipeline.tasks where id = pg_temp.id('b2')::bigint), 'running', 'b2 is not swept by a claim that found work');
select is(pg_temp.complete_and_claim('pgtap-cc-4', 'a3'), 'b2',
  'with nothing ready, the claim re-queues the expired b2 and takes it over (run P''s p1 is never handed out)');
select results_eq(format($$ select attempts, lease_token <> %L, errors->0->>'kind' from pm_pipeline.tasks where id = %s $$,
                         pg_temp.tok('b2_expired'), pg_temp.id('b2')),
  $$ values (2, true, 'lease_expired') $$, 'b2''s second attempt has a fresh token; the expired one is on record');

select * from finish();
rollback;
