-- pgTAP: alerts (supabase/schemas/07_alerts.sql). The alert kind and its retry schedule, the
-- trigger that turns run status changes into alert tasks, the dead-worker alert of
-- release_dead_worker_leases(), idempotent enqueueing, and the fenced delivery record.
--
-- Runs in one transaction that is rolled back. Alert tasks are shared by everybody, so every check
-- names its own runs, workers and keys. now() is constant inside the transaction: a worker going
-- silent is simulated by moving last_heartbeat_at into the past.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(36);

create temp table fx (name text primary key, uid uuid, task_id bigint, token uuid) on commit drop;
create function pg_temp.uid(p_name text) returns uuid language sql stable as $$ select uid from pg_temp.fx where name = p_name $$;
-- the alert tasks of one run, oldest first
create function pg_temp.run_alerts(p_run uuid) returns setof pm_pipeline.tasks language sql stable as $$
  select * from pm_pipeline.tasks where kind = 'alert' and payload->>'run_id' = p_run::text order by id $$;
create function pg_temp.worker_alerts(p_worker text) returns setof pm_pipeline.tasks language sql stable as $$
  select * from pm_pipeline.tasks where kind = 'alert' and payload->>'worker_id' = p_worker order by id $$;

-- =============================================================================================
-- The alert kind: worked by the monitor function, one at a time, retried for about a day
-- =============================================================================================
select results_eq($$ select function_name, concurrency, max_attempts from pm_pipeline.task_kinds where kind = 'alert' $$,
                  $$ values ('monitor'::text, 1, 36) $$, 'alert tasks are worked by the monitor function, one at a time, 36 attempts');
-- the waits between attempts are d/2..d with d = min(cap, base * 2^(attempt-1)) (retry_delay)
select ok((select sum(least(k.backoff_max_seconds, k.backoff_base_seconds * 2 ^ (a - 1)))
             from pm_pipeline.task_kinds k, generate_series(1, k.max_attempts - 1) a where k.kind = 'alert')
          between 24 * 3600 and 36 * 3600,
  'a failing receiver is retried for about a day: the longest schedule is 24 to 36 hours (the shortest half of it)');

-- =============================================================================================
-- Run alerts: one per status change to needs_user_decision, completed or error
-- =============================================================================================
insert into fx (name, uid) select 'A', id from pm_pipeline.create_run(
  '{"pms": ["Buildium", "AppFolio"], "state": "TX", "city": "Round Rock", "units_min": 100, "units_max": 2000}', 40);
insert into fx (name, uid) select 'B', id from pm_pipeline.create_run('{"states": ["TX", "OK"]}', 5);
insert into fx (name, uid) select 'C', id from pm_pipeline.create_run('{"pms": null, "units_min": 50}', 5);

select is_empty($$ select * from pg_temp.run_alerts(pg_temp.uid('A')) $$, 'creating a run sends nothing');
do $$ begin perform pm_pipeline.advance_run_stage(pg_temp.uid('A'), 'company_research'); end $$;
select is_empty($$ select * from pg_temp.run_alerts(pg_temp.uid('A')) $$, 'a stage change sends nothing');

select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'needs_user_decision', 'found 3 of 40 companies'), 'run A needs a decision');
select results_eq($$ select key, run_id, state::text, payload->>'type', payload->>'message', payload->>'criteria', payload->'counts'->>'target'
                       from pg_temp.run_alerts(pg_temp.uid('A')) $$,
                  $$ select 'alert:event:' || e.id, null::uuid, 'queued', 'run_needs_decision', 'found 3 of 40 companies',
                            'Buildium or AppFolio; Round Rock, TX; 100-2000 units', '40'
                       from pm_pipeline.events e where e.run_id = pg_temp.uid('A') and e.kind = 'status_changed' $$,
                  'one alert task keyed by the event, without a run (so that ending the run cannot cancel it), with type, message, criteria, counts');
select ok((select payload ?& array['run_id', 'status', 'counts', 'event_id', 'at'] and payload->'counts' ?& array['ready', 'accepted', 'rejected', 'contacts', 'tasks_failed']
             from pg_temp.run_alerts(pg_temp.uid('A'))), 'the payload has the run id, status, counts, event id and time');

select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'active', 'resumed'), 'run A resumes');
select is((select count(*)::int from pg_temp.run_alerts(pg_temp.uid('A'))), 1, 'resuming sends nothing');
select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'needs_user_decision', 'found 5 of 40 companies'), 'run A needs a decision again');
select ok(pm_pipeline.set_run_status(pg_temp.uid('A'), 'completed', 'accepted as it is'), 'run A completes');
select results_eq($$ select payload->>'type', payload->>'message' from pg_temp.run_alerts(pg_temp.uid('A')) $$,
                  $$ values ('run_needs_decision', 'found 3 of 40 companies'), ('run_needs_decision', 'found 5 of 40 companies'),
                            ('run_completed', 'accepted as it is') $$,
                  'every decision and the completion are alerts of their own, in order');
select is((select count(*)::int from pg_temp.run_alerts(pg_temp.uid('A')) where state = 'queued'), 3,
  'ending the run cancels none of its alerts');
select ok(not pm_pipeline.set_run_status(pg_temp.uid('A'), 'completed', 'again'), 'completing a completed run changes nothing');
select is((select count(*)::int from pg_temp.run_alerts(pg_temp.uid('A'))), 3, 'and sends nothing');

select ok(pm_pipeline.set_run_status(pg_temp.uid('B'), 'error', 'provider key revoked'), 'run B fails');
select results_eq($$ select payload->>'type', payload->>'status', payload->>'criteria' from pg_temp.run_alerts(pg_temp.uid('B')) $$,
                  $$ values ('run_failed', 'error', 'any PMS; TX, OK') $$, 'a failed run is a run_failed alert');
select ok(pm_pipeline.set_run_status(pg_temp.uid('C'), 'cancelled', 'user cancelled'), 'run C is cancelled');
select is_empty($$ select * from pg_temp.run_alerts(pg_temp.uid('C')) $$, 'a cancelled run sends nothing (the user did it)');
select is(pm_pipeline.criteria_summary('{"pms": null, "units_min": 50}'), 'any PMS; at least 50 units', 'criteria_summary of a bare unit minimum');

-- alert tasks of ended runs are claimable (claims skip tasks of runs that are not active)
update pm_pipeline.tasks set run_after = now() + interval '1 day'
 where kind = 'alert' and state = 'queued' and id not in (select id from pg_temp.run_alerts(pg_temp.uid('A')));
select results_eq($$ select id from pm_pipeline.claim_tasks('pgtap-alerter', array['alert'], 10) order by id $$,
                  $$ select id from pg_temp.run_alerts(pg_temp.uid('A')) $$, 'the completed run''s alerts are claimed');

-- =============================================================================================
-- Idempotent enqueue: a key seen before returns the existing alert
-- =============================================================================================
select is((select id from pm_pipeline.enqueue_tasks('alert', null, jsonb_build_array(jsonb_build_object(
             'key', (select key from pg_temp.run_alerts(pg_temp.uid('B'))), 'payload', '{"type": "run_failed"}')))),
          (select id from pg_temp.run_alerts(pg_temp.uid('B'))), 'enqueueing a known alert key returns the existing task');
select is((select count(*)::int from pg_temp.run_alerts(pg_temp.uid('B'))), 1, 'and adds none');

-- =============================================================================================
-- Dead-worker alerts: once per death, however often the cron job looks
-- =============================================================================================
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds) values ('pgtap_aw', 'pgTAP: alerts', 3, 30);
do $$ begin perform pm_pipeline.enqueue_tasks('pgtap_aw', null, '[{"key": "held"}]'); end $$;
insert into fx (name, task_id) select 'held', id from pm_pipeline.claim_tasks('pgtap-dying', array['pgtap_aw'], 1);
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '10 minutes' where worker_id = 'pgtap-dying';
select is_empty($$ select * from pg_temp.worker_alerts('pgtap-dying') $$, 'a silent worker not yet found dead has no alert');

select ok((select count(*) from pm_pipeline.release_dead_worker_leases() where worker_id = 'pgtap-dying') = 1,
  'release_dead_worker_leases() releases the dead worker''s task (same result as before)');
select results_eq($$ select key, payload->>'type', payload->>'worker_type', payload->>'current_task', payload->'held_tasks'
                       from pg_temp.worker_alerts('pgtap-dying') $$,
                  $$ select format('alert:worker-dead:pgtap-dying:%s', extract(epoch from now() - interval '10 minutes')), 'worker_dead', 'pgtap_aw',
                            format('pgtap_aw #%s', h.task_id), jsonb_build_array(jsonb_build_object('task_id', h.task_id, 'kind', 'pgtap_aw', 'run_id', null))
                       from fx h where h.name = 'held' $$,
                  'one worker_dead alert keyed by worker and last heartbeat, with the task it held');
select ok((select (payload->>'last_heartbeat_at')::timestamptz = now() - interval '10 minutes' from pg_temp.worker_alerts('pgtap-dying')),
  'the alert says when the worker was last heard of');
select lives_ok($$ select pm_pipeline.release_dead_worker_leases(); select pm_pipeline.release_dead_worker_leases();
                   select pm_pipeline.cleanup_stale_workers(60) $$, 'the cron job runs again (and the stale-worker purge)');
select is((select count(*)::int from pg_temp.worker_alerts('pgtap-dying')), 1, 'still one alert for that death');

-- the same worker id lives again and dies again: a second alert
do $$ begin perform pm_pipeline.upsert_worker_heartbeat('pgtap-dying', 'pgtap_aw', 'active'); end $$;
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '5 minutes' where worker_id = 'pgtap-dying';
do $$ begin perform pm_pipeline.release_dead_worker_leases(); end $$;
select is((select count(*)::int from pg_temp.worker_alerts('pgtap-dying')), 2, 'a second death of the same worker id is a second alert');

do $$ begin perform pm_pipeline.upsert_worker_heartbeat('pgtap-stopping', 'pgtap_aw', 'active'); end $$;
do $$ begin perform pm_pipeline.stop_worker('pgtap-stopping', 'done'); end $$;
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '10 minutes' where worker_id = 'pgtap-stopping';
do $$ begin perform pm_pipeline.release_dead_worker_leases(); end $$;
select is_empty($$ select * from pg_temp.worker_alerts('pgtap-stopping') $$, 'a worker that stopped is not dead: no alert');

-- =============================================================================================
-- Deliveries: recorded under the lease, once per receiver
-- =============================================================================================
insert into fx (name, task_id, token) select 'claimed', id, lease_token from pm_pipeline.tasks
 where locked_by = 'pgtap-alerter' and state = 'running' order by id limit 1;
select ok(pm_pipeline.record_alert_delivery((select task_id from fx where name = 'claimed'), (select token from fx where name = 'claimed'),
  'webhook', '{"status": 200}'), 'a delivery to the webhook is recorded');
select ok(not pm_pipeline.record_alert_delivery((select task_id from fx where name = 'claimed'), (select token from fx where name = 'claimed'),
  'webhook', '{"status": 200}'), 'recording it again changes nothing');
select throws_ok(format($$ select pm_pipeline.record_alert_delivery(%s, gen_random_uuid(), 'email') $$, (select task_id from fx where name = 'claimed')),
  'PM001', null, 'a worker without the lease records nothing');
insert into fx (name, task_id, token) select 'other', id, lease_token from pm_pipeline.claim_tasks('pgtap-other', array['pgtap_aw'], 1);
select throws_ok(format($$ select pm_pipeline.record_alert_delivery(%s, %L, 'webhook') $$,
                        (select task_id from fx where name = 'other'), (select token from fx where name = 'other')),
  '22023', null, 'only alert tasks have deliveries');
select results_eq(format($$ select delivered_to, state::text, type from pm_pipeline.v_alerts where task_id = %s $$, (select task_id from fx where name = 'claimed')),
                  $$ values (array['webhook'], 'running', 'run_needs_decision') $$, 'v_alerts shows which receivers have the alert');

select * from finish();
rollback;
