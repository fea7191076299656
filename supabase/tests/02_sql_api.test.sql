-- pgTAP: the SQL API of schema pm_pipeline. Domains and criteria, the run lifecycle, the task
-- queue (idempotent enqueue, claims, lease fencing, retries with backoff, expired leases), worker
-- liveness, and the fenced writes of companies and contacts.
--
-- Runs in one transaction that is rolled back: it leaves nothing behind. It uses task kinds,
-- runs and workers of its own (pgtap_*), so it neither sees nor counts anybody else's rows.
-- now() is constant inside the transaction: lease expiry and passing backoffs are simulated by
-- moving lease_expires_at / run_after into the past directly.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(245);

-- ---------------------------------------------------------------------------------------------
-- Fixtures: our own task kinds, and a scratch table of the ids and tokens the tests pass around
-- ---------------------------------------------------------------------------------------------
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds, backoff_base_seconds, backoff_max_seconds) values
  ('pgtap_q', 'pgTAP: queue', 4, 30, 10, 25),          -- backoff d = 10, 20, then capped at 25 s
  ('pgtap_c', 'pgTAP: cancelling', 3, 30, 2, 300),
  ('pgtap_w', 'pgTAP: worker liveness', 5, 30, 2, 300),
  ('pgtap_f', 'pgTAP: fenced writes', 3, 30, 2, 300),
  ('pgtap_todo', 'pgTAP: known bugs', 3, 30, 2, 300);

create temp table fx (name text primary key, uid uuid, task_id bigint, token uuid) on commit drop;
create function pg_temp.uid(p_name text) returns uuid language sql stable as $$ select uid from pg_temp.fx where name = p_name $$;
create function pg_temp.task(p_name text) returns bigint language sql stable as $$ select task_id from pg_temp.fx where name = p_name $$;
create function pg_temp.tok(p_name text) returns uuid language sql stable as $$ select token from pg_temp.fx where name = p_name $$;
-- the task row as jsonb, to prove a call changed nothing
create function pg_temp.task_row(p_id bigint) returns jsonb language sql stable as $$ select to_jsonb(t) from pm_pipeline.tasks t where t.id = p_id $$;
-- the SQLSTATE and message a statement raises (its effects then rolled back), or null when it succeeds
create function pg_temp.sqlstate_of(p_sql text) returns text language plpgsql as $fn$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlstate || ': ' || sqlerrm;
end
$fn$;
create function pg_temp.task_state(p_id bigint) returns text language sql stable as $$ select state::text from pm_pipeline.tasks t where t.id = p_id $$;

-- =============================================================================================
-- normalize_domain
-- =============================================================================================
select is(pm_pipeline.normalize_domain(c.input), c.expected, format('normalize_domain(%s) = %s', coalesce(quote_literal(c.input), 'null'), coalesce(c.expected, 'null')))
  from (values
    ('HTTPS://www.Example.com:443/path?q#f', 'example.com'),
    ('http://example.com', 'example.com'),                      -- scheme
    ('www.example.com', 'example.com'),                         -- www.
    ('example.com:8080', 'example.com'),                        -- port
    ('example.com/about/team', 'example.com'),                  -- path
    ('example.com?utm_source=x', 'example.com'),                -- query
    ('example.com#contact', 'example.com'),                     -- fragment
    ('https://user:secret@www.example.com/login', 'example.com'), -- user info
    ('EXAMPLE.COM', 'example.com'),                             -- case
    ('example.com.', 'example.com'),                            -- trailing dot
    ('  https://Example.com/  ', 'example.com'),                -- surrounding blanks
    ('sub.example.co.uk', 'sub.example.co.uk'),                 -- subdomains are kept
    ('wwwexample.com', 'wwwexample.com'),                       -- only a "www." label is dropped
    ('example.com/a@b', 'example.com'),                         -- @ in the path is not user info
    ('', null),                                                 -- empty -> null
    ('   ', null),
    ('https://', null),
    ('www.', null),
    (null, null)
  ) as c(input, expected);

select is_empty($$
  select v from unnest(array['HTTPS://www.Example.com:443/path?q#f', 'https://user:secret@www.example.com/login',
                             'EXAMPLE.COM.', 'sub.example.co.uk', 'example.com:8080']) v
   where pm_pipeline.normalize_domain(pm_pipeline.normalize_domain(v)) is distinct from pm_pipeline.normalize_domain(v) $$,
  'normalize_domain is idempotent on ordinary input');

-- =============================================================================================
-- criteria_problem
-- =============================================================================================
select is(pm_pipeline.criteria_problem(c.criteria::jsonb), c.problem, format('criteria_problem(%s)', coalesce(c.criteria, 'null')))
  from (values
    ('{"pms": "Buildium", "state": "TX", "city": "Austin", "units_min": 100, "units_max": 2000}', null),
    ('{}', null),
    ('{"pms": ["Buildium", "AppFolio"], "states": ["TX", "CA"]}', null),
    ('{"pms": null}', null),
    ('{"units_min": 5, "units_max": 5}', null),
    ('{"units_min": 0, "units_max": 1000000}', null),
    ('{"units_min": 5.0}', null),
    ('{"foo": 1}', 'unknown criteria field "foo" (allowed: pms, state, states, city, units_min, units_max)'),
    ('{"state": "TX", "State": "TX"}', 'unknown criteria field "State" (allowed: pms, state, states, city, units_min, units_max)'),
    ('{"pms": 5}', 'pms must be a string, a list of strings or null'),
    ('{"pms": ["Buildium", 1]}', 'pms must be a string, a list of strings or null'),
    ('{"state": ["TX"]}', 'state must be a string'),
    ('{"state": null}', 'state must be a string'),
    ('{"city": 1}', 'city must be a string'),
    ('{"states": "TX"}', 'states must be a list of strings'),
    ('{"states": ["TX", 2]}', 'states must be a list of strings'),
    ('{"state": ""}', 'pms, state, states and city must be 1 to 100 characters each'),
    ('{"city": "   "}', 'pms, state, states and city must be 1 to 100 characters each'),
    ('{"states": ["TX", ""]}', 'pms, state, states and city must be 1 to 100 characters each'),
    ('{"pms": [" "]}', 'pms, state, states and city must be 1 to 100 characters each'),
    ('{"pms": "' || repeat('x', 101) || '"}', 'pms, state, states and city must be 1 to 100 characters each'),
    ('{"units_min": -1}', 'units_min must be a whole number from 0 to 1000000'),
    ('{"units_max": 2.5}', 'units_max must be a whole number from 0 to 1000000'),
    ('{"units_min": "100"}', 'units_min must be a whole number from 0 to 1000000'),
    ('{"units_min": "abc"}', 'units_min must be a whole number from 0 to 1000000'),
    ('{"units_max": 1000001}', 'units_max must be a whole number from 0 to 1000000'),
    ('{"units_min": 500, "units_max": 100}', 'units_min (500) is greater than units_max (100)'),
    ('[]', 'criteria must be a JSON object'),
    ('"TX"', 'criteria must be a JSON object'),
    (null, 'criteria must be a JSON object')
  ) as c(criteria, problem);

-- =============================================================================================
-- create_run: validation (22023) and idempotency
-- =============================================================================================
select throws_ok($$ select pm_pipeline.create_run('{"foo": 1}', 10) $$, '22023',
  'invalid criteria: unknown criteria field "foo" (allowed: pms, state, states, city, units_min, units_max)',
  'create_run rejects unknown criteria fields with 22023');
select throws_ok($$ select pm_pipeline.create_run('{"units_min": 9, "units_max": 1}', 10) $$, '22023', null, 'create_run rejects units_min > units_max');
select throws_ok($$ select pm_pipeline.create_run('[]', 10) $$, '22023', null, 'create_run rejects non-object criteria');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 0) $$, '22023', 'invalid quantity 0: must be 1 to 1000', 'create_run rejects quantity 0');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 1001) $$, '22023', null, 'create_run rejects quantity 1001');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', null) $$, '22023', null, 'create_run rejects a null quantity');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 10, 4, 3) $$, '22023', null, 'create_run rejects contacts_min > contacts_max');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 10, 0, 0) $$, '22023', null, 'create_run rejects contacts_max 0');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 10, -1, 3) $$, '22023', null, 'create_run rejects negative contacts_min');
select throws_ok($$ select pm_pipeline.create_run('{"state": "TX"}', 10, 1, 11) $$, '22023', null, 'create_run rejects contacts_max 11');

insert into fx (name, uid) select 'idem_key_run', id
  from pm_pipeline.create_run('{"pms": "Buildium", "state": "TX"}', 25, 2, 4, 'pgtap-idem-' || txid_current(), 'first');
select results_eq(format($$ select criteria, target_quantity, contacts_min, contacts_max, stage::text, status::text, notes, idempotency_key
                              from pm_pipeline.runs where id = %L $$, pg_temp.uid('idem_key_run')),
                  format($$ values ('{"pms": "Buildium", "state": "TX"}'::jsonb, 25, 2, 4, 'company_discovery', 'active', 'first', %L) $$,
                         'pgtap-idem-' || txid_current()),
                  'create_run stores the run: active, at company_discovery');
select is((pm_pipeline.create_run('{"pms": "Buildium", "state": "TX"}', 25, 2, 4, 'pgtap-idem-' || txid_current())).id, pg_temp.uid('idem_key_run'),
  'create_run with a used idempotency key returns the same run');
select is((pm_pipeline.create_run('{"pms": "AppFolio"}', 3, 1, 1, 'pgtap-idem-' || txid_current())).target_quantity, 25,
  'with a used key even a different request returns the first run unchanged');
select is((select count(*)::int from pm_pipeline.runs where idempotency_key = 'pgtap-idem-' || txid_current()), 1,
  'the idempotency key made one run');
select is((select count(*)::int from pm_pipeline.events where run_id = pg_temp.uid('idem_key_run') and kind = 'run_created'), 1,
  'one run_created event for it');
select isnt((pm_pipeline.create_run('{"state": "TX"}', 1)).id, (pm_pipeline.create_run('{"state": "TX"}', 1)).id,
  'without a key every call makes a new run');

-- =============================================================================================
-- Run stage and status: forward only, compare-and-set, completed is final
-- =============================================================================================
insert into fx (name, uid) select 'A', id from pm_pipeline.create_run('{"state": "TX"}', 10);
create function pg_temp.run_at(p_id uuid) returns text language sql stable as $$ select stage || '/' || status from pm_pipeline.runs where id = p_id $$;

select ok(pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'company_research'), 'advance_run_stage forward returns true');
select is(pg_temp.run_at(pg_temp.uid('A')), 'company_research/active', 'the run is at company_research');
select is((select data from pm_pipeline.events where run_id = pg_temp.uid('A') and kind = 'stage_changed'),
  '{"from": "company_discovery", "to": "company_research"}'::jsonb, 'the stage change is logged as an event');
select ok(not pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'company_discovery'), 'advance_run_stage backwards returns false');
select ok(not pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'company_research'), 'advance_run_stage to the current stage returns false');
select is(pg_temp.run_at(pg_temp.uid('A')), 'company_research/active', 'the failed moves changed nothing');
select is((select count(*)::int from pm_pipeline.events where run_id = pg_temp.uid('A') and kind = 'stage_changed'), 1, 'and logged nothing');
select throws_ok(format($$ select pm_pipeline.advance_run_stage(%L, 'done') $$, pg_temp.uid('A')), '22023', null,
  'advance_run_stage to done is refused (only completing reaches done)');
select throws_ok(format($$ update pm_pipeline.runs set stage = 'company_discovery' where id = %L $$, pg_temp.uid('A')), '23514', null,
  'a direct UPDATE moving the stage backwards raises');
select throws_ok(format($$ update pm_pipeline.runs set status = 'completed' where id = %L $$, pg_temp.uid('A')), '23514', null,
  'completed without stage done is rejected');
select throws_ok(format($$ update pm_pipeline.runs set stage = 'done' where id = %L $$, pg_temp.uid('A')), '23514', null,
  'stage done without completed is rejected');
select ok(not pm_pipeline.advance_run_stage(gen_random_uuid(), 'contact_discovery'), 'advance_run_stage of an unknown run returns false');

-- needs_user_decision -> resume_run may move the stage back
select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'needs_user_decision', 'too few companies: widen the area?'),
  'set_run_status active -> needs_user_decision');
select ok(not pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'contact_discovery'), 'a run waiting for a decision does not advance');
select ok(not pm_pipeline.resume_run(gen_random_uuid(), 'company_discovery', 'go'), 'resume_run of an unknown run returns false');
select throws_ok(format($$ select pm_pipeline.resume_run(%L, 'done', 'go') $$, pg_temp.uid('A')), '22023', null, 'resume_run at stage done is refused');
select ok(pm_pipeline.resume_run(pg_temp.uid('A'), 'company_discovery', 'user: widen to all of Texas'), 'resume_run resets the stage');
select results_eq(format($$ select stage::text, status::text, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('A')),
  $$ values ('company_discovery', 'active', 'user: widen to all of Texas') $$, 'the resumed run is active at company_discovery');
select ok(not pm_pipeline.resume_run(pg_temp.uid('A'), 'company_research', 'again'), 'resume_run of an active run returns false');

-- compare-and-set
select ok(not pm_pipeline.set_run_status(pg_temp.uid('A'), 'completed', 'done', 'needs_user_decision'),
  'set_run_status with a mismatched p_expected returns false');
select is(pg_temp.run_at(pg_temp.uid('A')), 'company_discovery/active', 'and changes nothing');
select ok(not pm_pipeline.set_run_status(pg_temp.uid('A'), 'active', 'still going'), 'set_run_status to the current status returns false');
select throws_ok(format($$ select pm_pipeline.set_run_status(%L, 'completed', 'x') $$, gen_random_uuid()), 'P0002', null,
  'set_run_status of an unknown run raises no_data_found');
select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'completed', 'all 10 companies found', 'active'),
  'set_run_status active -> completed with a matching p_expected');
select results_eq(format($$ select stage::text, status::text, finished_at = now(), notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('A')),
  $$ values ('done', 'completed', true, 'all 10 companies found') $$, 'completing sets stage done and finished_at');
select is((select data from pm_pipeline.events where run_id = pg_temp.uid('A') and kind = 'status_changed' order by id desc limit 1),
  '{"from": "active", "to": "completed"}'::jsonb, 'the status change is logged');

-- completed is final
select throws_ok(format($$ select pm_pipeline.set_run_status(%L, 'active', 'reopen') $$, pg_temp.uid('A')), '23514', null,
  'completed -> active is refused');
select throws_ok(format($$ select pm_pipeline.set_run_status(%L, 'cancelled', 'late cancel') $$, pg_temp.uid('A')), '23514', null,
  'completed -> cancelled is refused');
select ok(not pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'contact_discovery'), 'a completed run does not advance');
select ok(not pm_pipeline.set_run_status(pg_temp.uid('A'), 'completed', 'again'), 'completing again returns false');
select throws_ok(format($$ update pm_pipeline.runs set stage = 'contact_discovery', status = 'active' where id = %L $$, pg_temp.uid('A')), '23514', null,
  'a direct UPDATE cannot reopen a completed run');
select is(pg_temp.run_at(pg_temp.uid('A')), 'done/completed', 'the completed run is unchanged');
select is((select count(*)::int from pm_pipeline.runs where id in (select uid from fx) and (stage = 'done') <> (status = 'completed')), 0,
  'stage done iff status completed for every run made here');

-- =============================================================================================
-- Cancelling a run cancels its queued tasks; a cancelled run gets no new tasks
-- =============================================================================================
insert into fx (name, uid) select 'B', id from pm_pipeline.create_run('{"state": "CA"}', 5);
insert into fx (name, task_id) select key, id from pm_pipeline.enqueue_tasks('pgtap_c', pg_temp.uid('B'),
  '[{"key": "b1"}, {"key": "b2"}, {"key": "b3"}]');
update fx set token = c.lease_token from pm_pipeline.claim_tasks('pgtap-wc', array['pgtap_c'], 1) c where fx.task_id = c.id;
select is((select name from fx where token is not null and name like 'b_'), 'b1', 'claimed b1, the first of run B');

select ok(pm_pipeline.set_run_status(pg_temp.uid('B'), 'cancelled', 'user cancelled'), 'set_run_status -> cancelled');
select results_eq(format($$ select key, state::text, finished_at is not null from pm_pipeline.tasks where run_id = %L order by key $$, pg_temp.uid('B')),
  $$ values ('b1', 'running', false), ('b2', 'cancelled', true), ('b3', 'cancelled', true) $$,
  'cancelling cancelled the queued tasks; the running one keeps its lease');
select is_empty(format($$ select * from pm_pipeline.enqueue_tasks('pgtap_c', %L, '[{"key": "b4"}, {"key": "b1"}]') $$, pg_temp.uid('B')),
  'enqueue for a cancelled run returns nothing');
select is((select count(*)::int from pm_pipeline.tasks where run_id = pg_temp.uid('B')), 3, 'and adds nothing');
select is_empty($$ select * from pm_pipeline.claim_tasks('pgtap-wc2', array['pgtap_c'], 10) $$, 'cancelled tasks cannot be claimed');
select ok(pm_pipeline.complete_task(pg_temp.task('b1'), pg_temp.tok('b1')), 'the running task of the cancelled run can still complete');
select throws_ok(format($$ select pm_pipeline.set_run_status(%L, 'active', 'undo') $$, pg_temp.uid('B')), '23514', null, 'cancelled is final');

-- =============================================================================================
-- enqueue_tasks: idempotent by key
-- =============================================================================================
insert into fx (name, uid) select 'C', id from pm_pipeline.create_run('{"pms": "Buildium"}', 10);
insert into fx (name, task_id) select 'k1', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "k1", "payload": {"n": 1}}]');
select isnt(pg_temp.task('k1'), null, 'enqueue_tasks returned the new task');
select results_eq(format($$ select id, payload from pm_pipeline.enqueue_tasks('pgtap_q', %L, '[{"key": "k1", "payload": {"n": 2}}]') $$, pg_temp.uid('C')),
  format($$ values (%s::bigint, '{"n": 1}'::jsonb) $$, pg_temp.task('k1')),
  'enqueueing key k1 again returns the same task, its payload unchanged');
select is((select count(*)::int from pm_pipeline.tasks where kind = 'pgtap_q' and key = 'k1'), 1, 'key k1 is one row');
select is((pm_pipeline.enqueue_task('pgtap_q', pg_temp.uid('C'), '{}', 'k1')).id, pg_temp.task('k1'), 'enqueue_task with key k1 returns it too');

create temp table batch on commit drop as
  select * from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "k1"}, {"key": "k2", "payload": {"n": 2}}]');
insert into fx (name, task_id) select 'k2', id from batch where key = 'k2';
select is((select count(*)::int from batch), 2, 'a batch with one known and one new key returns both');
select is((select id from batch where key = 'k1'), pg_temp.task('k1'), 'the known key comes back as the existing task');
select results_eq(format($$ select state::text, attempts, max_attempts, run_after = now(), payload from pm_pipeline.tasks where id = %s $$, pg_temp.task('k2')),
  $$ values ('queued', 0, 4, true, '{"n": 2}'::jsonb) $$, 'the new task is queued, ready now, with the kind''s max_attempts');
select cmp_ok((select fair_tag from pm_pipeline.tasks where id = pg_temp.task('k2')), '>',
              (select fair_tag from pm_pipeline.tasks where id = pg_temp.task('k1')), 'a run''s later task gets a later fair tag');
insert into fx (name, task_id) select 'kd', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "kd", "delay_seconds": 60}]');
select is((select run_after from pm_pipeline.tasks where id = pg_temp.task('kd')), now() + interval '60 seconds', 'delay_seconds delays run_after');
select throws_ok(format($$ select * from pm_pipeline.enqueue_tasks('pgtap_nope', %L, '[{}]') $$, pg_temp.uid('C')), '22023',
  'unknown task kind "pgtap_nope"', 'enqueue of an unknown kind raises 22023');
select throws_ok(format($$ select * from pm_pipeline.enqueue_tasks('pgtap_q', %L, '{"key": "x"}') $$, pg_temp.uid('C')), '22023', null,
  'enqueue with a non-array raises 22023');
select throws_ok(format($$ select * from pm_pipeline.enqueue_tasks('pgtap_q', %L, '[{}]') $$, gen_random_uuid()), '23503', null,
  'enqueue for an unknown run raises 23503');

-- =============================================================================================
-- Claims and lease fencing: a wrong token changes nothing
-- =============================================================================================
create temp table claim1 on commit drop as select * from pm_pipeline.claim_tasks('pgtap-w1', array['pgtap_q'], 10);
update fx set token = c.lease_token from claim1 c where fx.task_id = c.id;
select results_eq($$ select key, state::text, attempts, locked_by, lease_expires_at = now() + interval '30 seconds' from claim1 order by fair_tag $$,
  $$ values ('k1', 'running', 1, 'pgtap-w1', true), ('k2', 'running', 1, 'pgtap-w1', true) $$,
  'claim_tasks claims the ready tasks in fair-tag order (not the delayed one), leased for the kind''s 30 s');
select is((select count(distinct lease_token)::int from claim1 where lease_token is not null), 2, 'each claimed task has its own lease token');
select results_eq($$ select worker_type, status, current_run_id, current_task, lease_expires_at from pm_pipeline.worker_heartbeats where worker_id = 'pgtap-w1' $$,
  format($$ values ('pgtap_q'::text, 'processing'::text, %L::uuid, %L::text, now() + interval '30 seconds') $$,
         pg_temp.uid('C'), format('pgtap_q #%s (+1 more)', least(pg_temp.task('k1'), pg_temp.task('k2')))),
  'the claim recorded the worker''s heartbeat');
select is_empty($$ select * from pm_pipeline.claim_tasks('pgtap-w2', array['pgtap_q'], 10) $$, 'a second worker claims nothing: all leased or delayed');
select throws_ok($$ select * from pm_pipeline.claim_tasks('pgtap-w1', array[]::text[], 1) $$, '22023', null, 'claim with no kinds raises 22023');
select throws_ok($$ select * from pm_pipeline.claim_tasks('pgtap-w1', array['pgtap_q'], 0) $$, '22023', null, 'claim limit 0 raises 22023');
select throws_ok($$ select * from pm_pipeline.claim_tasks('', array['pgtap_q'], 1) $$, '22023', null, 'claim with an empty worker id raises 22023');

create temp table snap on commit drop as select pg_temp.task_row(pg_temp.task('k1')) as j;
select ok(not pm_pipeline.complete_task(pg_temp.task('k1'), gen_random_uuid(), '{"zombie": true}'), 'complete_task with a wrong token returns false');
select is_empty(format($$ select * from pm_pipeline.complete_tasks(array[%s]::bigint[], array[%L]::uuid[]) $$, pg_temp.task('k1'), gen_random_uuid()),
  'complete_tasks with a wrong token completes nothing');
select ok(not pm_pipeline.complete_task(pg_temp.task('k1'), pg_temp.tok('k2')), 'another task''s token does not fit');
select is(pm_pipeline.fail_task(pg_temp.task('k1'), gen_random_uuid(), 'zombie error', false), null, 'fail_task with a wrong token returns null');
select is(pm_pipeline.release_task(pg_temp.task('k1'), gen_random_uuid()), null, 'release_task with a wrong token returns null');
select is(pm_pipeline.heartbeat_task(pg_temp.task('k1'), gen_random_uuid()), null, 'heartbeat_task with a wrong token returns null');
select is(pg_temp.task_row(pg_temp.task('k1')), (select j from snap), 'the task row is unchanged by the wrong-token calls');
select is_empty(format($$ select * from pm_pipeline.events where task_id = %s $$, pg_temp.task('k1')), 'and no event was logged');

update pm_pipeline.tasks set lease_expires_at = now() + interval '5 seconds' where id = pg_temp.task('k1');
select is(pm_pipeline.heartbeat_task(pg_temp.task('k1'), pg_temp.tok('k1')), now() + interval '30 seconds', 'heartbeat_task renews the lease to now() + 30 s');
select is((select lease_expires_at from pm_pipeline.tasks where id = pg_temp.task('k1')), now() + interval '30 seconds', 'the renewed lease is stored');
select ok(pm_pipeline.complete_task(pg_temp.task('k1'), pg_temp.tok('k1'), '{"companies": 3}'), 'complete_task with the right token returns true');
select results_eq(format($$ select state::text, result, lease_token, lease_expires_at, finished_at = now() from pm_pipeline.tasks where id = %s $$, pg_temp.task('k1')),
  $$ values ('succeeded', '{"companies": 3}'::jsonb, null::uuid, null::timestamptz, true) $$, 'the task succeeded with its result; the lease is gone');
select ok(not pm_pipeline.complete_task(pg_temp.task('k1'), pg_temp.tok('k1')), 'completing twice returns false');
select is(pm_pipeline.fail_task(pg_temp.task('k1'), pg_temp.tok('k1'), 'late'), null, 'failing a succeeded task returns null');
select is(pm_pipeline.heartbeat_task(pg_temp.task('k1'), pg_temp.tok('k1')), null, 'heartbeat of a succeeded task returns null');

-- =============================================================================================
-- fail_task: non-retryable fails for good, with last_error, errors and a task_failed event
-- =============================================================================================
select is(pm_pipeline.fail_task(pg_temp.task('k2'), pg_temp.tok('k2'), 'bad input: no such city', false), 'failed'::pm_pipeline.task_state,
  'fail_task non-retryable returns failed');
select results_eq(format($$ select state::text, attempts, last_error, lease_token, finished_at = now(), jsonb_array_length(errors),
                                   errors->0->>'worker', (errors->0->>'attempt')::int, (errors->0->>'retryable')::boolean
                              from pm_pipeline.tasks where id = %s $$, pg_temp.task('k2')),
  $$ values ('failed', 1, 'bad input: no such city', null::uuid, true, 1, 'pgtap-w1', 1, false) $$,
  'the failed task keeps the error (last_error and the errors log)');
select results_eq(format($$ select kind, run_id, data->>'error', (data->>'attempts')::int from pm_pipeline.events where task_id = %s $$, pg_temp.task('k2')),
  format($$ values ('task_failed'::text, %L::uuid, 'bad input: no such city'::text, 1) $$, pg_temp.uid('C')),
  'one task_failed event for the run');

-- =============================================================================================
-- Retries: backoff within [d/2, d], d = min(cap, base * 2^(attempt-1)); attempts exhausted -> failed
-- =============================================================================================
insert into fx (name, task_id) select 'r1', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "r1"}]');
create function pg_temp.claim_one(p_name text, p_worker text, p_kind text) returns integer language plpgsql as $$
declare
  v_task pm_pipeline.tasks;
begin
  select * into v_task from pm_pipeline.claim_tasks(p_worker, array[p_kind], 1);
  if v_task.id is distinct from pg_temp.task(p_name) then
    return -1;  -- claimed nothing, or another task
  end if;
  update pg_temp.fx set token = v_task.lease_token where name = p_name;
  return v_task.attempts;
end
$$;

select is(pg_temp.claim_one('r1', 'pgtap-w1', 'pgtap_q'), 1, 'r1 claimed: attempt 1');
select is(pm_pipeline.fail_task(pg_temp.task('r1'), pg_temp.tok('r1'), 'timeout'), 'queued'::pm_pipeline.task_state,
  'a retryable failure with attempts left goes back to queued');
select ok((select run_after between now() + interval '5 seconds' and now() + interval '10 seconds' from pm_pipeline.tasks where id = pg_temp.task('r1')),
  'after attempt 1 the retry waits 5..10 s (base 10 s)');
select results_eq(format($$ select state::text, attempts, last_error, lease_token, lease_expires_at, finished_at, jsonb_array_length(errors)
                              from pm_pipeline.tasks where id = %s $$, pg_temp.task('r1')),
  $$ values ('queued', 1, 'timeout', null::uuid, null::timestamptz, null::timestamptz, 1) $$,
  'the requeued task has no lease and keeps the error');
select is_empty(format($$ select * from pm_pipeline.events where task_id = %s $$, pg_temp.task('r1')), 'a retry logs no task_failed event');
select is_empty($$ select * from pm_pipeline.claim_tasks('pgtap-w1', array['pgtap_q'], 10) $$, 'a task in backoff cannot be claimed');
select is(pm_pipeline.complete_task(pg_temp.task('r1'), pg_temp.tok('r1')), false, 'the token of the failed attempt is dead');

update pm_pipeline.tasks set run_after = now() - interval '1 second' where id = pg_temp.task('r1');
select is(pg_temp.claim_one('r1', 'pgtap-w1', 'pgtap_q'), 2, 'after the backoff r1 is claimed again: attempt 2');
select is(pm_pipeline.fail_task(pg_temp.task('r1'), pg_temp.tok('r1'), 'timeout 2'), 'queued'::pm_pipeline.task_state, 'attempt 2 fails: queued');
select ok((select run_after between now() + interval '10 seconds' and now() + interval '20 seconds' from pm_pipeline.tasks where id = pg_temp.task('r1')),
  'after attempt 2 the retry waits 10..20 s');

update pm_pipeline.tasks set run_after = now() - interval '1 second' where id = pg_temp.task('r1');
select is(pg_temp.claim_one('r1', 'pgtap-w1', 'pgtap_q'), 3, 'attempt 3');
select is(pm_pipeline.fail_task(pg_temp.task('r1'), pg_temp.tok('r1'), 'timeout 3'), 'queued'::pm_pipeline.task_state, 'attempt 3 fails: queued');
select ok((select run_after between now() + interval '12.5 seconds' and now() + interval '25 seconds' from pm_pipeline.tasks where id = pg_temp.task('r1')),
  'after attempt 3 the retry waits 12.5..25 s (capped at backoff_max_seconds 25, not 40)');

update pm_pipeline.tasks set run_after = now() - interval '1 second' where id = pg_temp.task('r1');
select is(pg_temp.claim_one('r1', 'pgtap-w1', 'pgtap_q'), 4, 'attempt 4, the last');
select is(pm_pipeline.fail_task(pg_temp.task('r1'), pg_temp.tok('r1'), 'timeout 4'), 'failed'::pm_pipeline.task_state,
  'a retryable failure of the last attempt fails for good');
select results_eq(format($$ select state::text, attempts, max_attempts, last_error, jsonb_array_length(errors) from pm_pipeline.tasks where id = %s $$, pg_temp.task('r1')),
  $$ values ('failed', 4, 4, 'timeout 4', 4) $$, 'attempts exhausted: failed, every attempt''s error kept');
select is((select count(*)::int from pm_pipeline.events where task_id = pg_temp.task('r1') and kind = 'task_failed'), 1, 'one task_failed event');

-- a server's Retry-After is a floor on the backoff
insert into fx (name, task_id) select 'r2', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "r2"}]');
select is(pg_temp.claim_one('r2', 'pgtap-w1', 'pgtap_q'), 1, 'r2 claimed');
select is(pm_pipeline.fail_task(pg_temp.task('r2'), pg_temp.tok('r2'), 'HTTP 429', true, 120), 'queued'::pm_pipeline.task_state, 'r2 fails with retry-after 120 s');
select is((select run_after from pm_pipeline.tasks where id = pg_temp.task('r2')), now() + interval '120 seconds', 'run_after honours p_retry_after_seconds');

-- the delay itself, sampled: within [d/2, d] and really random
select results_eq($$
  select a, min(s) >= a_lo, max(s) <= a_hi, max(s) - min(s) > 0.5
    from (values (1, 5.0, 10.0), (2, 10.0, 20.0), (3, 12.5, 25.0), (30, 12.5, 25.0)) as w(a, a_lo, a_hi)
   cross join lateral (select extract(epoch from pm_pipeline.retry_delay('pgtap_q', w.a))::numeric as s from generate_series(1, 200)) x
   group by a, a_lo, a_hi order by a $$,
  $$ values (1, true, true, true), (2, true, true, true), (3, true, true, true), (30, true, true, true) $$,
  'retry_delay over 200 samples per attempt: between d/2 and d, spread out');

-- =============================================================================================
-- Expired lease: re-claimed with a new token and attempts + 1; the old token is dead
-- =============================================================================================
insert into fx (name, task_id) select 'e1', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "e1"}]');
select is(pg_temp.claim_one('e1', 'pgtap-w1', 'pgtap_q'), 1, 'e1 claimed by pgtap-w1');
insert into fx (name, task_id, token) values ('e1_old', pg_temp.task('e1'), pg_temp.tok('e1'));
update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second' where id = pg_temp.task('e1');
select is(pm_pipeline.heartbeat_task(pg_temp.task('e1'), pg_temp.tok('e1_old')), null, 'an expired lease cannot be renewed');
select ok(not pm_pipeline.complete_task(pg_temp.task('e1'), pg_temp.tok('e1_old')), 'an expired lease cannot complete');
select is(pm_pipeline.fail_task(pg_temp.task('e1'), pg_temp.tok('e1_old'), 'late'), null, 'an expired lease cannot fail the task');
select is(pg_temp.claim_one('e1', 'pgtap-w2', 'pgtap_q'), 2, 'claim_tasks re-claims the expired task: attempts 2');
select results_eq(format($$ select state::text, locked_by, lease_token <> %L, lease_expires_at = now() + interval '30 seconds',
                                   errors->0->>'error', errors->0->>'worker'
                              from pm_pipeline.tasks where id = %s $$, pg_temp.tok('e1_old'), pg_temp.task('e1')),
  $$ values ('running', 'pgtap-w2', true, true, 'lease expired: the worker stopped heartbeating', 'pgtap-w1') $$,
  'a new token and lease for pgtap-w2; the expired attempt is on record');
select ok(not pm_pipeline.complete_task(pg_temp.task('e1'), pg_temp.tok('e1_old')), 'the old token can no longer complete');
select is(pg_temp.task_state(pg_temp.task('e1')), 'running', 'the task still runs for pgtap-w2');
select ok(pm_pipeline.complete_task(pg_temp.task('e1'), pg_temp.tok('e1')), 'the new token completes');

-- =============================================================================================
-- release_task: back to the queue at once; the attempt was not tried, so it does not count
-- =============================================================================================
insert into fx (name, task_id) select 'rl', id from pm_pipeline.enqueue_tasks('pgtap_q', pg_temp.uid('C'), '[{"key": "rl"}]');
select is(pg_temp.claim_one('rl', 'pgtap-w1', 'pgtap_q'), 1, 'rl claimed');
insert into fx (name, task_id, token) values ('rl_old', pg_temp.task('rl'), pg_temp.tok('rl'));
select is(pm_pipeline.release_task(pg_temp.task('rl'), pg_temp.tok('rl'), 'out of time'), 'queued'::pm_pipeline.task_state, 'release_task returns queued');
select results_eq(format($$ select state::text, attempts, run_after = now(), last_error, lease_token from pm_pipeline.tasks where id = %s $$, pg_temp.task('rl')),
  $$ values ('queued', 0, true, 'out of time', null::uuid) $$, 'released: ready at once, attempt not counted, reason kept');
select is(pg_temp.claim_one('rl', 'pgtap-w2', 'pgtap_q'), 1, 'the released task is claimed again: attempt 1 again');
select is(pm_pipeline.release_task(pg_temp.task('rl'), pg_temp.tok('rl_old')), null, 'releasing with the old token returns null');
select is(pg_temp.task_state(pg_temp.task('rl')), 'running', 'and the new lease holds');

-- =============================================================================================
-- Fenced writes: add_companies, add_contacts
-- =============================================================================================
insert into pm_pipeline.suppression (domain, reason, source) values ('pgtap-blocked.example', 'customer', 'pgtap') on conflict do nothing;
insert into fx (name, uid) select 'F', id from pm_pipeline.create_run('{"state": "TX"}', 5);
insert into fx (name, task_id) select 'f1', id from pm_pipeline.enqueue_tasks('pgtap_f', pg_temp.uid('F'), '[{"key": "f1"}]');
select is(pg_temp.claim_one('f1', 'pgtap-f', 'pgtap_f'), 1, 'f1 claimed');

create temp table companies_json on commit drop as select $$[
  {"name": " Alpha PM ", "website": "https://www.Alpha-PGTAP.example/about"},
  {"name": "Blocked PM", "domain": "WWW.pgtap-blocked.example"},
  {"name": "Alpha again", "domain": "alpha-pgtap.example"},
  {"name": "Beta PM", "domain": "beta-pgtap.example", "city": "Austin", "state": "TX", "source_urls": ["https://dir.example/beta"]},
  {"name": "No domain", "domain": "localhost"}
]$$::jsonb as j;
create temp table added on commit drop as select * from pm_pipeline.add_companies(pg_temp.task('f1'), pg_temp.tok('f1'), (select j from companies_json));
insert into fx (name, uid) select 'alpha', id from added where domain = 'alpha-pgtap.example';
insert into fx (name, uid) select 'beta', id from added where domain = 'beta-pgtap.example';
select results_eq($$ select name, domain, website, city, source_urls, status::text from added order by domain $$,
  $$ values ('Alpha PM'::text, 'alpha-pgtap.example'::text, 'https://www.Alpha-PGTAP.example/about'::text, null::text, '{}'::text[], 'candidate'::text),
            ('Beta PM', 'beta-pgtap.example', 'https://beta-pgtap.example', 'Austin', '{https://dir.example/beta}', 'candidate') $$,
  'add_companies adds the two new domains (normalised), skipping the blocked, duplicate and dotless ones');
select is((select count(*)::int from added where run_id = pg_temp.uid('F') and discovered_by_task = pg_temp.task('f1')), 2,
  'both belong to the task''s run and name the task');
select is_empty(format($$ select * from pm_pipeline.companies where run_id = %L and domain = 'pgtap-blocked.example' $$, pg_temp.uid('F')),
  'the suppressed domain was not added');
select is_empty(format($$ select * from pm_pipeline.add_companies(%s, %L, (select j from companies_json)) $$, pg_temp.task('f1'), pg_temp.tok('f1')),
  'adding the same companies again adds nothing');
select is((select count(*)::int from pm_pipeline.companies where run_id = pg_temp.uid('F')), 2, 'the run still has 2 companies');
select results_eq(format($$ select name, domain from pm_pipeline.add_companies(%s, %L, '[
    {"name": "Alpha", "domain": "alpha-pgtap.example"}, {"name": "Gamma", "domain": "gamma-pgtap.example"},
    {"name": "Gamma 2", "domain": "www.gamma-pgtap.example"}, {"name": "Delta", "domain": "delta-pgtap.example"}]', 1) $$,
    pg_temp.task('f1'), pg_temp.tok('f1')),
  $$ values ('Gamma'::text, 'gamma-pgtap.example'::text) $$,
  'with p_max 1 add_companies adds only the first new domain (a known domain does not use up the room)');
select throws_ok(format($$ select * from pm_pipeline.add_companies(%s, %L, '[{"name": "Epsilon", "domain": "epsilon-pgtap.example"}]') $$,
                        pg_temp.task('f1'), gen_random_uuid()), 'PM001', null, 'add_companies with a stale token raises PM001');
select throws_ok(format($$ select * from pm_pipeline.add_companies(%s, %L, '{"name": "x"}') $$, pg_temp.task('f1'), pg_temp.tok('f1')), '22023', null,
  'add_companies with a non-array raises 22023');

create temp table contacts_json on commit drop as select $$[
  {"full_name": "Jane Doe", "email": "Jane.Doe@Alpha-pgtap.example", "title": "Owner"},
  {"full_name": "Jane D.", "email": "jane.doe@alpha-pgtap.example"},
  {"full_name": "John Roe", "linkedin_url": "https://www.linkedin.com/in/JohnRoe"},
  {"full_name": "J. Roe", "linkedin_url": "https://www.linkedin.com/in/johnroe"},
  {"full_name": "Ann Lee", "email": "ann@alpha-pgtap.example", "linkedin_url": "https://www.linkedin.com/in/annlee"}
]$$::jsonb as j;
create temp table added_contacts on commit drop as
  select * from pm_pipeline.add_contacts(pg_temp.task('f1'), pg_temp.tok('f1'), pg_temp.uid('alpha'), (select j from contacts_json));
select results_eq($$ select full_name, email, linkedin_url from added_contacts order by full_name $$,
  $$ values ('Ann Lee'::text, 'ann@alpha-pgtap.example'::text, 'https://www.linkedin.com/in/annlee'::text),
            ('Jane Doe', 'Jane.Doe@Alpha-pgtap.example', null), ('John Roe', null, 'https://www.linkedin.com/in/JohnRoe') $$,
  'add_contacts keeps the first of each lower(email) and lower(linkedin_url)');
select is_empty(format($$ select * from pm_pipeline.add_contacts(%s, %L, %L,
    '[{"full_name": "JANE", "email": "JANE.DOE@ALPHA-PGTAP.EXAMPLE"}, {"full_name": "ANN", "linkedin_url": "HTTPS://WWW.LINKEDIN.COM/IN/ANNLEE"}]') $$,
    pg_temp.task('f1'), pg_temp.tok('f1'), pg_temp.uid('alpha')),
  'the same e-mail or LinkedIn URL in other case adds nothing');
select is((select count(*)::int from pm_pipeline.contacts where company_id = pg_temp.uid('alpha')), 3, 'alpha has 3 contacts');
select is((select count(*)::int from pm_pipeline.add_contacts(pg_temp.task('f1'), pg_temp.tok('f1'), pg_temp.uid('beta'),
    '[{"full_name": "Jane Doe", "email": "jane.doe@alpha-pgtap.example"}]')), 1,
  'the same e-mail at another company is a different contact');
select throws_ok(format($$ select * from pm_pipeline.add_contacts(%s, %L, %L, '[]') $$, pg_temp.task('f1'), pg_temp.tok('f1'), gen_random_uuid()),
  '22023', null, 'add_contacts for a company outside the task''s run raises 22023');
select throws_ok(format($$ select * from pm_pipeline.add_contacts(%s, %L, %L, '[{"full_name": "Z"}]') $$, pg_temp.task('f1'), gen_random_uuid(), pg_temp.uid('alpha')),
  'PM001', null, 'add_contacts with a stale token raises PM001');

update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second' where id = pg_temp.task('f1');
select throws_ok(format($$ select * from pm_pipeline.add_companies(%s, %L, '[{"name": "Epsilon", "domain": "epsilon-pgtap.example"}]') $$,
                        pg_temp.task('f1'), pg_temp.tok('f1')), 'PM001', null, 'add_companies with an expired lease raises PM001');
select throws_ok(format($$ select * from pm_pipeline.add_contacts(%s, %L, %L, '[{"full_name": "Z", "email": "z@alpha-pgtap.example"}]') $$,
                        pg_temp.task('f1'), pg_temp.tok('f1'), pg_temp.uid('alpha')), 'PM001', null, 'add_contacts with an expired lease raises PM001');
update pm_pipeline.tasks set lease_expires_at = now() + interval '30 seconds' where id = pg_temp.task('f1');
select ok(pm_pipeline.complete_task(pg_temp.task('f1'), pg_temp.tok('f1')), 'f1 completes');
select throws_ok(format($$ select * from pm_pipeline.add_companies(%s, %L, '[{"name": "Epsilon", "domain": "epsilon-pgtap.example"}]') $$,
                        pg_temp.task('f1'), pg_temp.tok('f1')), 'PM001', null, 'after completion the token writes nothing (PM001)');
select results_eq(format($$ select (select count(*)::int from pm_pipeline.companies where run_id = %L), (select count(*)::int from pm_pipeline.contacts where run_id = %L) $$,
                         pg_temp.uid('F'), pg_temp.uid('F')),
  $$ values (3, 4) $$, 'the fenced-off calls wrote nothing');

-- =============================================================================================
-- Worker liveness: release_dead_worker_leases. It (like cleanup_stale_workers) acts on every
-- worker and task in the database, so it comes late: the locks it takes are held only briefly.
-- =============================================================================================
insert into fx (name, uid) select 'D', id from pm_pipeline.create_run('{"state": "FL"}', 5);
select is((pm_pipeline.upsert_worker_heartbeat('pgtap-dead', 'pgtap_w', 'active', null, null, null, '{"host": "a"}')).status, 'active',
  'upsert_worker_heartbeat registers a worker');
insert into fx (name, task_id) select key, id from pm_pipeline.enqueue_tasks('pgtap_w', pg_temp.uid('D'), '[{"key": "d1"}, {"key": "d2"}]');
update fx set token = c.lease_token from pm_pipeline.claim_tasks('pgtap-dead', array['pgtap_w'], 2) c where fx.task_id = c.id;
insert into fx (name, task_id) select key, id from pm_pipeline.enqueue_tasks('pgtap_w', pg_temp.uid('D'), '[{"key": "d3"}]');
update fx set token = c.lease_token from pm_pipeline.claim_tasks('pgtap-live', array['pgtap_w'], 1) c where fx.task_id = c.id;
select is((select count(*)::int from fx where name in ('d1', 'd2', 'd3') and token is not null), 3, 'd1, d2 held by pgtap-dead; d3 by pgtap-live');
select lives_ok($$ select pm_pipeline.upsert_worker_heartbeat('pgtap-border', 'pgtap_w', 'idle') $$, 'pgtap-border registers as idle');

-- pgtap-dead went silent just past the threshold; pgtap-border just inside it
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - pm_pipeline.dead_worker_after() - interval '1 second' where worker_id = 'pgtap-dead';
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - pm_pipeline.dead_worker_after() + interval '1 second' where worker_id = 'pgtap-border';
select results_eq($$ select worker_id, leases_held from pm_pipeline.v_dead_workers where worker_type = 'pgtap_w' $$,
  $$ values ('pgtap-dead'::text, 2::bigint) $$, 'v_dead_workers lists the silent worker with the 2 leases it holds');
select results_eq($$ select worker_id from pm_pipeline.v_active_workers where worker_type = 'pgtap_w' order by worker_id $$,
  $$ values ('pgtap-border'::text), ('pgtap-live') $$, 'v_active_workers lists the others');

create temp table released on commit drop as select * from pm_pipeline.release_dead_worker_leases();
select results_eq(format($$ select task_id, run_id, worker_id, new_state::text, reason from released where kind = 'pgtap_w' order by task_id $$),
  format($$ values (%s::bigint, %L::uuid, 'pgtap-dead'::text, 'queued'::text, 'worker died: no heartbeat within the dead-worker threshold'::text),
                   (%s, %L, 'pgtap-dead', 'queued', 'worker died: no heartbeat within the dead-worker threshold') $$,
         least(pg_temp.task('d1'), pg_temp.task('d2')), pg_temp.uid('D'), greatest(pg_temp.task('d1'), pg_temp.task('d2')), pg_temp.uid('D')),
  'release_dead_worker_leases returns the dead worker''s two tasks, back in the queue');
select results_eq($$ select worker_id, status from pm_pipeline.worker_heartbeats where worker_type = 'pgtap_w' order by worker_id $$,
  $$ values ('pgtap-border'::text, 'idle'::text), ('pgtap-dead', 'dead'), ('pgtap-live', 'processing') $$,
  'only the silent worker is marked dead');
select results_eq(format($$ select key, state::text, lease_token is null, attempts from pm_pipeline.tasks where run_id = %L order by key $$, pg_temp.uid('D')),
  $$ values ('d1', 'queued', true, 1), ('d2', 'queued', true, 1), ('d3', 'running', false, 1) $$,
  'the dead worker''s tasks are queued again; the live worker''s task still runs');
select is_empty($$ select * from pm_pipeline.release_dead_worker_leases() where kind = 'pgtap_w' $$, 'a second call releases nothing more');
select ok(not pm_pipeline.complete_task(pg_temp.task('d1'), pg_temp.tok('d1')), 'the dead worker''s token cannot complete');
select is(pm_pipeline.heartbeat_task(pg_temp.task('d2'), pg_temp.tok('d2')), null, 'nor heartbeat');
select is((select leases_held from pm_pipeline.v_dead_workers where worker_id = 'pgtap-dead'), 0::bigint, 'the dead worker holds no lease now');

-- =============================================================================================
-- stop_worker: its leases go back; a stopped worker claims nothing
-- =============================================================================================
insert into fx (name, task_id, token) select 'stop_' || key, id, lease_token from pm_pipeline.claim_tasks('pgtap-stop', array['pgtap_w'], 10);
select is((select count(*)::int from fx where name like 'stop\_%'), 2, 'pgtap-stop claims d1 and d2');
select is(pm_pipeline.stop_worker('pgtap-stop', 'deploy'), 2, 'stop_worker returns the 2 leases it released');
select results_eq($$ select status, stopped_at = now(), current_task, current_run_id, lease_expires_at from pm_pipeline.worker_heartbeats where worker_id = 'pgtap-stop' $$,
  $$ values ('stopped'::text, true, null::text, null::uuid, null::timestamptz) $$, 'the worker is stopped');
select results_eq(format($$ select key, state::text, last_error, attempts from pm_pipeline.tasks where id in (%s, %s) order by key $$, pg_temp.task('d1'), pg_temp.task('d2')),
  $$ values ('d1', 'queued', 'deploy', 1), ('d2', 'queued', 'deploy', 1) $$, 'its tasks are queued again with the reason, the stopped attempt not counted');
select is_empty($$ select * from pm_pipeline.claim_tasks('pgtap-stop', array['pgtap_w'], 10) $$, 'a stopped worker claims nothing');
select is((select count(*)::int from pm_pipeline.tasks where id in (pg_temp.task('d1'), pg_temp.task('d2')) and state = 'queued'), 2,
  'though the tasks are ready');
select ok(not pm_pipeline.complete_task(pg_temp.task('d1'), pg_temp.tok('stop_d1')), 'the stopped worker''s token cannot complete');
select is((select count(*)::int from pm_pipeline.claim_tasks('pgtap-after', array['pgtap_w'], 10)), 2, 'another worker claims them');
select is_empty($$ select worker_id from pm_pipeline.v_active_workers where worker_id = 'pgtap-stop'
                  union all select worker_id from pm_pipeline.v_dead_workers where worker_id = 'pgtap-stop' $$,
  'a stopped worker is neither active nor dead');
select lives_ok($$ select pm_pipeline.upsert_worker_heartbeat('pgtap-idle', 'pgtap_w', 'idle') $$, 'pgtap-idle registers');
select is(pm_pipeline.stop_worker('pgtap-idle'), 0, 'stopping a worker that holds nothing returns 0');
select throws_ok($$ select pm_pipeline.upsert_worker_heartbeat('pgtap-idle', 'pgtap_w', 'stopped') $$, '22023', null,
  'a heartbeat cannot set status stopped');

-- =============================================================================================
-- get_worker_stats: counts per worker type
-- =============================================================================================
do $$
begin
  perform pm_pipeline.upsert_worker_heartbeat(w.id, 'pgtap_stats', w.status)
     from (values ('pgtap-s1', 'active'), ('pgtap-s2', 'active'), ('pgtap-s3', 'idle'), ('pgtap-s4', 'processing'),
                  ('pgtap-s5', 'active'), ('pgtap-s6', 'active'), ('pgtap-s7', 'idle')) as w(id, status);
end
$$;
select is(pm_pipeline.stop_worker('pgtap-s5'), 0, 'pgtap-s5 stopped');
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - pm_pipeline.dead_worker_after() - interval '5 seconds' where worker_id = 'pgtap-s6';
update pm_pipeline.worker_heartbeats set status = 'dead' where worker_id = 'pgtap-s7';
select results_eq($$ select * from pm_pipeline.get_worker_stats() where worker_type = 'pgtap_stats' $$,
  $$ values ('pgtap_stats'::text, 7::bigint, 2::bigint, 1::bigint, 1::bigint, 2::bigint, 1::bigint) $$,
  'get_worker_stats: 7 workers, 2 active, 1 idle, 1 processing, 2 dead (one silent, one marked), 1 stopped');

-- =============================================================================================
-- cleanup_stale_workers: deletes rows silent longer than p_minutes, after releasing their leases
-- =============================================================================================
do $$
begin
  perform pm_pipeline.upsert_worker_heartbeat(w, 'pgtap_clean', 'idle') from unnest(array['pgtap-c-old', 'pgtap-c-recent', 'pgtap-c-holder']) w;
end
$$;
insert into fx (name, task_id) select 'cl1', id from pm_pipeline.enqueue_tasks('pgtap_w', pg_temp.uid('D'), '[{"key": "cl1"}]');
select is(pg_temp.claim_one('cl1', 'pgtap-c-holder', 'pgtap_w'), 1, 'pgtap-c-holder holds cl1');
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '61 minutes' where worker_id = 'pgtap-c-old';
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '59 minutes' where worker_id = 'pgtap-c-recent';
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '2 hours' where worker_id = 'pgtap-c-holder';
select throws_ok($$ select * from pm_pipeline.cleanup_stale_workers(0) $$, '22023', null, 'cleanup_stale_workers(0) raises 22023');
create temp table cleaned on commit drop as select * from pm_pipeline.cleanup_stale_workers(60);
select results_eq($$ select worker_id, status from cleaned where worker_type = 'pgtap_clean' order by worker_id $$,
  $$ values ('pgtap-c-holder'::text, 'dead'::text), ('pgtap-c-old', 'dead') $$,
  'cleanup_stale_workers(60) deletes and returns the rows silent for over 60 minutes');
select results_eq($$ select worker_id from pm_pipeline.worker_heartbeats where worker_type = 'pgtap_clean' $$,
  $$ values ('pgtap-c-recent'::text) $$, 'the worker seen 59 minutes ago stays');
select results_eq(format($$ select state::text, last_error from pm_pipeline.tasks where id = %s $$, pg_temp.task('cl1')),
  $$ values ('queued', 'worker died: no heartbeat within the dead-worker threshold') $$, 'the deleted worker''s lease went back to the queue first');

-- =============================================================================================
-- Regressions: bugs found by these tests and fixed. They run last, on rows of their own.
-- =============================================================================================
insert into fx (name, uid) select 'T', id from pm_pipeline.create_run('{"state": "NV"}', 5);
insert into fx (name, task_id) select key, id from pm_pipeline.enqueue_tasks('pgtap_todo', pg_temp.uid('T'), '[{"key": "t1"}, {"key": "t2"}]');
update fx set token = c.lease_token from pm_pipeline.claim_tasks('pgtap-todo', array['pgtap_todo'], 2) c where fx.task_id = c.id;
select is((select count(*)::int from fx where name in ('t1', 't2') and token is not null), 2, 'regression fixtures: t1 and t2 claimed');
insert into fx (name, uid) select 'todo_co', id from pm_pipeline.add_companies(pg_temp.task('t1'), pg_temp.tok('t1'), '[{"name": "Todo Co", "domain": "todo-pgtap.example"}]');
select isnt(pg_temp.uid('todo_co'), null, 'regression fixtures: a company for run T');
insert into fx (name, uid) select 'U', id from pm_pipeline.create_run('{"state": "NV"}', 5);
select ok(pm_pipeline.set_run_status(pg_temp.uid('U'), 'needs_user_decision', 'pick one'), 'regression fixtures: run U waits for a decision');

select is(pm_pipeline.normalize_domain('example.com?ref=partner@other.example'), 'example.com', 'normalize_domain ignores an @ in the query');
select is(pm_pipeline.normalize_domain('https://example.com#mail@other.example'), 'example.com', 'normalize_domain ignores an @ in the fragment');

select is(pm_pipeline.normalize_domain(pm_pipeline.normalize_domain('www.www.example.com')), pm_pipeline.normalize_domain('www.www.example.com'),
  'normalize_domain is idempotent on www.www.');
select is(pm_pipeline.normalize_domain(pm_pipeline.normalize_domain('example.com..')), pm_pipeline.normalize_domain('example.com..'),
  'normalize_domain is idempotent on two trailing dots');
select is(pg_temp.sqlstate_of(format($$ select * from pm_pipeline.add_companies(%s, %L,
    '[{"name": "Good", "domain": "good-pgtap.example"}, {"name": "Odd", "domain": "www.www.odd-pgtap.example"}]') $$, pg_temp.task('t1'), pg_temp.tok('t1'))),
  null, 'one odd domain does not abort add_companies');

select is((select count(*)::int from pm_pipeline.add_contacts(pg_temp.task('t1'), pg_temp.tok('t1'), pg_temp.uid('todo_co'), '[
    {"full_name": "Jane", "email": "jane@todo-pgtap.example"}, {"full_name": "Jane again", "email": "JANE@todo-pgtap.example"},
    {"full_name": "Ann", "email": "ann@todo-pgtap.example"}]', 2)), 2,
  'add_contacts with p_max 2 adds Jane and Ann, skipping the duplicate');

select ok(pm_pipeline.set_run_status(pg_temp.uid('T'), 'cancelled', 'user cancelled'), 'regression fixtures: run T cancelled while t1 and t2 run');
select is(pm_pipeline.release_task(pg_temp.task('t1'), pg_temp.tok('t1')), 'cancelled'::pm_pipeline.task_state,
  'releasing a task of a cancelled run cancels it');
select is(pm_pipeline.fail_task(pg_temp.task('t2'), pg_temp.tok('t2'), 'timeout'), 'cancelled'::pm_pipeline.task_state,
  'a retryable failure of a task of a cancelled run cancels it');
select is((select string_agg(key, ', ') from pm_pipeline.claim_tasks('pgtap-todo-2', array['pgtap_todo'], 10)), null,
  'a task of a cancelled run is never claimed again');

select is(pg_temp.sqlstate_of(format($$ select pm_pipeline.resume_run(%L, 'company_discovery', null) $$, pg_temp.uid('U'))), null,
  'resume_run accepts a null message');

select * from finish();
rollback;
