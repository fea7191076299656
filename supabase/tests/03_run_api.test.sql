-- pgTAP: the run API's SQL functions (supabase/schemas/06_run_api.sql): submit_run and begin_run, the
-- run_summary / run_details / list_runs documents, cancel_run, decide_run, the suppression list
-- (domain_problem, add_suppression, remove_suppression) and the v_workers view. Who may call them
-- is checked for every function of the schema by 01_rls.test.sql.
--
-- Runs in one transaction that is rolled back: it leaves nothing behind. It uses a task kind,
-- runs, workers and domains of its own (pgtap*), so it neither sees nor counts anybody else's rows.
-- now() is constant inside the transaction: "newest first" is staged by moving created_at.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(226);

-- ---------------------------------------------------------------------------------------------
-- Fixtures and helpers
-- ---------------------------------------------------------------------------------------------
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds)
values ('pgtap_api', 'pgTAP: run API', 3, 30);

-- runs by name, the requests that made them, and snapshots of them
create temp table fx (name text primary key, uid uuid) on commit drop;
create temp table req (name text primary key, body jsonb not null) on commit drop;
create temp table snap (name text primary key, j jsonb) on commit drop;
create function pg_temp.uid(p_name text) returns uuid language sql stable as $$ select uid from pg_temp.fx where name = p_name $$;
create function pg_temp.req(p_name text) returns jsonb language sql stable as $$ select body from pg_temp.req where name = p_name $$;
-- an idempotency key no other transaction uses
create function pg_temp.key(p_name text) returns text language sql stable as $$ select 'pgtap-api-' || p_name || '-' || txid_current() $$;

-- submit_run as the API calls it; the run is remembered under p_name (when given)
create function pg_temp.submit(p_name text, p_request jsonb, p_key text default null) returns jsonb language plpgsql as $$
declare
  v_answer jsonb := pm_pipeline.submit_run(p_request, p_key);
begin
  if p_name is not null then
    insert into pg_temp.fx (name, uid) values (p_name, (v_answer->>'run_id')::uuid);
  end if;
  return v_answer;
end
$$;
create function pg_temp.run(p_name text, p_criteria jsonb default '{"state": "TX"}', p_quantity integer default 5) returns uuid language sql as $$
  select (pg_temp.submit(p_name, jsonb_build_object('criteria', p_criteria, 'quantity', p_quantity))->>'run_id')::uuid
$$;
-- a started run whose discovery is over and that now waits for a decision (p_message says why)
create function pg_temp.waiting_run(p_name text, p_criteria jsonb, p_message text default 'found 0 of 5 companies') returns uuid language plpgsql as $$
declare
  v_id uuid := pg_temp.run(p_name, p_criteria);
begin
  -- its discovery is done: claimed, then succeeded (the task state machine's way)
  update pm_pipeline.tasks set state = 'running', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'
   where run_id = v_id and state = 'queued';
  update pm_pipeline.tasks set state = 'succeeded', finished_at = now(), lease_token = null, lease_expires_at = null
   where run_id = v_id and state = 'running';
  update pm_pipeline.runs set discovery_exhausted = true where id = v_id;
  perform pm_pipeline.advance_run_stage(v_id, 'contact_discovery');
  perform pm_pipeline.set_run_status(v_id, 'needs_user_decision', p_message);
  return v_id;
end
$$;
-- a started run stopped by its budget: its discovery task still waits in the queue
create function pg_temp.budget_stopped_run(p_name text, p_spent numeric) returns uuid language plpgsql as $$
declare
  v_id uuid := pg_temp.run(p_name);
begin
  update pm_pipeline.runs set budget_usd = p_spent where id = v_id;
  insert into pm_pipeline.provider_usage (run_id, kind, provider, calls, cost_usd) values (v_id, 'lead_list', 'pgtap', 1, p_spent);
  if pm_pipeline.run_can_afford_next_call(v_id) or not pm_pipeline.pause_run_for_budget(v_id) then
    raise exception 'run % should have been stopped by its budget', v_id;
  end if;
  return v_id;
end
$$;
-- the criteria a decision leaves on a fresh waiting run with p_criteria
create function pg_temp.criteria_after(p_criteria jsonb, p_decision jsonb) returns jsonb language plpgsql as $$
declare
  v_id uuid := pg_temp.waiting_run(null, p_criteria);
begin
  perform pm_pipeline.decide_run(v_id, p_decision);
  return (select criteria from pm_pipeline.runs where id = v_id);
end
$$;

-- the SQLSTATE a statement raises (its effects then rolled back), or null when it succeeds
create function pg_temp.err(p_sql text) returns text language plpgsql as $fn$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlstate;
end
$fn$;
create function pg_temp.submit_err(p_request jsonb, p_key text) returns text language sql as $$
  select pg_temp.err(format('select pm_pipeline.submit_run(%L, %L)', p_request, p_key))
$$;
create function pg_temp.decide_err(p_run uuid, p_decision jsonb) returns text language sql as $$
  select pg_temp.err(format('select pm_pipeline.decide_run(%L, %L)', p_run, p_decision))
$$;

-- a run with its tasks and events, to prove that a call changed nothing
create function pg_temp.state_of(p_run uuid) returns jsonb language sql stable as $$
  select jsonb_build_object(
    'run', (select to_jsonb(r) from pm_pipeline.runs r where r.id = p_run),
    'tasks', (select jsonb_agg(to_jsonb(t) order by t.id) from pm_pipeline.tasks t where t.run_id = p_run),
    'events', (select jsonb_agg(to_jsonb(e) order by e.id) from pm_pipeline.events e where e.run_id = p_run))
$$;
create function pg_temp.remember(p_name text) returns void language sql as $$
  insert into pg_temp.snap (name, j) values (p_name, pg_temp.state_of(pg_temp.uid(p_name)))
  on conflict (name) do update set j = excluded.j
$$;
create function pg_temp.unchanged(p_name text) returns boolean language sql stable as $$
  select pg_temp.state_of(pg_temp.uid(p_name)) = (select j from pg_temp.snap where name = p_name)
$$;

-- compact views of a run: its tasks ("kind:state, ...") and its events ("kind, ...") in order
create function pg_temp.tasks_of(p_run uuid) returns text language sql stable as $$
  select string_agg(kind || ':' || state, ', ' order by id) from pm_pipeline.tasks where run_id = p_run
$$;
create function pg_temp.events_of(p_run uuid) returns text language sql stable as $$
  select string_agg(kind, ', ' order by id) from pm_pipeline.events where run_id = p_run
$$;
create function pg_temp.last_event(p_run uuid, p_kind text) returns pm_pipeline.events language sql stable as $$
  select * from pm_pipeline.events where run_id = p_run and kind = p_kind order by id desc limit 1
$$;
-- the run ids of a list_runs answer, in order
create function pg_temp.ids(p_runs jsonb) returns uuid[] language sql immutable as $$
  select array(select (e->>'id')::uuid from jsonb_array_elements(p_runs) with ordinality x(e, i) order by i)
$$;

-- =============================================================================================
-- submit_run: creates and starts a run with its budget; idempotent by key; validates (22023)
-- =============================================================================================
insert into req (name, body) values
  ('s1', '{"criteria": {"pms": "Buildium", "state": "TX"}, "quantity": 25, "contacts_min": 2, "contacts_max": 4, "budget_usd": 12.5}'),
  ('s2', '{"criteria": {"state": "CA"}, "quantity": 3}');

select is(pg_temp.submit('S1', pg_temp.req('s1'), pg_temp.key('s1'))->'created', 'true'::jsonb, 'submit_run creates a run: created true');
select results_eq(format($$ select criteria, target_quantity, contacts_min, contacts_max, budget_usd, status::text, stage::text,
                                   started_at = now(), discovery_batches, idempotency_key
                              from pm_pipeline.runs where id = %L $$, pg_temp.uid('S1')),
  format($$ values ('{"pms": "Buildium", "state": "TX"}'::jsonb, 25, 2, 4, 12.5::numeric, 'active', 'company_discovery', true, 1, %L) $$, pg_temp.key('s1')),
  'the run is stored with its budget, active and started');
select results_eq(format($$ select kind, state::text, payload from pm_pipeline.tasks where run_id = %L $$, pg_temp.uid('S1')),
  $$ values ('lead_list'::text, 'queued'::text, '{"count": 10, "batch": 1}'::jsonb) $$,
  'starting it queued one lead_list task, for a batch of 10');
select is(pg_temp.events_of(pg_temp.uid('S1')), 'run_created', 'one event: run_created');

select pg_temp.remember('S1');
select is(pg_temp.submit(null, pg_temp.req('s1'), pg_temp.key('s1')), jsonb_build_object('run_id', pg_temp.uid('S1'), 'created', false),
  'the same key with the same request returns the same run, created false');
select ok(pg_temp.unchanged('S1'), 'and changes nothing: no second task, no event');
select is((select count(*)::int from pm_pipeline.runs where idempotency_key = pg_temp.key('s1')), 1, 'the key made one run');

select is(pg_temp.submit('S2', pg_temp.req('s2'), pg_temp.key('s2'))->'created', 'true'::jsonb, 'a request without contacts or budget creates a run');
select results_eq(format($$ select contacts_min, contacts_max, budget_usd from pm_pipeline.runs where id = %L $$, pg_temp.uid('S2')),
  $$ values (1, 3, null::numeric) $$, 'with 1-3 contacts and no budget');
select is(pg_temp.submit(null, pg_temp.req('s2') || '{"contacts_min": 1, "contacts_max": 3, "budget_usd": null}', pg_temp.key('s2'))->'created',
  'false'::jsonb, 'the defaults given explicitly are the same request');

select is(pg_temp.submit_err(pg_temp.req('s1') || c.change::jsonb, pg_temp.key('s1')), 'PM409',
  format('the same key with another %s raises PM409', c.what))
  from (values ('quantity', '{"quantity": 26}'),
               ('criteria', '{"criteria": {"pms": "Buildium", "state": "OK"}}'),
               ('contacts_min', '{"contacts_min": 1}'),
               ('contacts_max', '{"contacts_max": 5}'),
               ('budget', '{"budget_usd": 12.51}'),
               ('budget (none)', '{"budget_usd": null}')) as c(what, change);
select throws_ok(format('select pm_pipeline.submit_run(%L, %L)', pg_temp.req('s1') || '{"quantity": 26}', pg_temp.key('s1')), 'PM409',
  format('Idempotency-Key "%s" was used for a different request (run %s)', pg_temp.key('s1'), pg_temp.uid('S1')),
  'the PM409 message names the key and the run');
select ok(pg_temp.unchanged('S1'), 'the conflicting requests changed nothing');

select is(pg_temp.submit_err(c.request::jsonb, pg_temp.key('bad')), '22023',
  format('submit_run rejects %s with 22023', c.what))
  from (values ('unknown criteria fields', '{"criteria": {"foo": 1}, "quantity": 5}'),
               ('a request without criteria', '{"quantity": 5}'),
               ('criteria that are not an object', '{"criteria": ["TX"], "quantity": 5}'),
               ('units_min > units_max', '{"criteria": {"units_min": 9, "units_max": 1}, "quantity": 5}'),
               ('quantity 0', '{"criteria": {}, "quantity": 0}'),
               ('quantity 1001', '{"criteria": {}, "quantity": 1001}'),
               ('a request without quantity', '{"criteria": {}}'),
               ('contacts_min > contacts_max', '{"criteria": {}, "quantity": 5, "contacts_min": 4, "contacts_max": 3}'),
               ('contacts_min -1', '{"criteria": {}, "quantity": 5, "contacts_min": -1}'),
               ('contacts_max 0', '{"criteria": {}, "quantity": 5, "contacts_min": 0, "contacts_max": 0}'),
               ('contacts_max 11', '{"criteria": {}, "quantity": 5, "contacts_max": 11}'),
               ('a negative budget', '{"criteria": {}, "quantity": 5, "budget_usd": -0.01}')) as c(what, request);
-- values of the wrong type fail their cast: another data exception (class 22), which the API answers with 400 too
select is(left(pg_temp.submit_err(c.request::jsonb, pg_temp.key('bad')), 2), '22',
  format('submit_run rejects %s with a data exception', c.what))
  from (values ('a fractional quantity', '{"criteria": {}, "quantity": 2.5}'),
               ('a budget that is not a number', '{"criteria": {}, "quantity": 5, "budget_usd": "lots"}')) as c(what, request);
select is(pg_temp.submit_err(pg_temp.req('s2'), repeat('k', 201)), '22023',
  'submit_run rejects an idempotency key of 201 characters');
select is(pg_temp.submit_err(pg_temp.req('s1') || '{"budget_usd": -1}', pg_temp.key('s1')), '22023',
  'a negative budget with a used key is 22023, not a conflict');
select is_empty(format($$ select id from pm_pipeline.runs where idempotency_key = %L $$, pg_temp.key('bad')),
  'the rejected requests wrote no run');

-- =============================================================================================
-- begin_run and start_run
-- =============================================================================================
update pm_pipeline.runs set started_at = now() - interval '1 hour' where id = pg_temp.uid('S1');
select pg_temp.remember('S1');
select lives_ok(format('select pm_pipeline.begin_run(%L)', pg_temp.uid('S1')), 'begin_run of a started run succeeds');
select ok(pg_temp.unchanged('S1'), 'and does nothing: started_at, tasks and events as they were');

insert into fx (name, uid) select 'C1', id from pm_pipeline.create_run('{"state": "AZ"}', 3);
select is(pg_temp.tasks_of(pg_temp.uid('C1')), null, 'create_run alone starts nothing');
select lives_ok(format('select pm_pipeline.begin_run(%L)', pg_temp.uid('C1')), 'begin_run of a created run');
select results_eq(format($$ select started_at = now(), pg_temp.tasks_of(id) from pm_pipeline.runs where id = %L $$, pg_temp.uid('C1')),
  $$ values (true, 'lead_list:queued') $$, 'starts it: started_at set, one lead_list task');

select is((select string_agg(p.oid::regprocedure::text || ' returns ' || pg_get_function_result(p.oid), '; ')
             from pg_proc p where p.pronamespace = 'pm_pipeline'::regnamespace and p.proname = 'start_run'),
  'pm_pipeline.start_run(jsonb,integer,integer,integer,text,text) returns pm_pipeline.runs', 'start_run keeps its one signature');
insert into fx (name, uid) select 'ST', id from pm_pipeline.start_run('{"state": "NV"}', 4, p_idempotency_key => pg_temp.key('st'), p_notes => 'via start_run');
select results_eq(format($$ select started_at = now(), notes, budget_usd, pg_temp.tasks_of(id), (select payload from pm_pipeline.tasks where run_id = %L)
                              from pm_pipeline.runs where id = %L $$, pg_temp.uid('ST'), pg_temp.uid('ST')),
  $$ values (true, 'via start_run', null::numeric, 'lead_list:queued', '{"count": 4, "batch": 1}'::jsonb) $$,
  'start_run creates and starts a run: one lead_list task for 4 companies');
select pg_temp.remember('ST');
select is((pm_pipeline.start_run('{"state": "NV"}', 4, p_idempotency_key => pg_temp.key('st'))).id, pg_temp.uid('ST'),
  'start_run with its key again returns the run');
select ok(pg_temp.unchanged('ST'), 'and starts nothing more');

-- =============================================================================================
-- run_summary and run_details
-- =============================================================================================
-- run R: 3 accepted (one with enough contacts), 5 rejected for 3 reasons, 2 candidates, 1 in
-- review; 2 failed tasks, provider usage and a few events of its own
select isnt(pg_temp.run('R', '{"pms": "AppFolio", "state": "TX"}', 10), null, 'run R');
update pm_pipeline.runs set contacts_min = 2, contacts_max = 3, budget_usd = 7.5 where id = pg_temp.uid('R');
insert into pm_pipeline.companies (run_id, name, domain, status, rejection_reason)
select pg_temp.uid('R'), c.name, c.name || '.pgtap-api.example', c.status::pm_pipeline.company_status, c.reason
  from (values ('acc1', 'accepted', null), ('acc2', 'accepted', null), ('acc3', 'accepted', null),
               ('rej1', 'rejected', 'wrong PMS'), ('rej2', 'rejected', 'wrong PMS'), ('rej3', 'rejected', 'wrong PMS'),
               ('rej4', 'rejected', 'too small'), ('rej5', 'rejected', 'no website'),
               ('cand1', 'candidate', null), ('cand2', 'candidate', null), ('rev1', 'review', 'weak PMS evidence')) as c(name, status, reason);
-- contacts: acc1 3 (ready), acc2 1 (too few); those of rejected and candidate companies do not count
insert into pm_pipeline.contacts (company_id, run_id, full_name)
select c.id, c.run_id, c.name || ' contact ' || i
  from pm_pipeline.companies c
  join (values ('acc1', 3), ('acc2', 1), ('rej1', 2), ('cand1', 1)) as k(name, n) on k.name = c.name
 cross join lateral generate_series(1, k.n) i
 where c.run_id = pg_temp.uid('R');
select is((select count(*)::int from pm_pipeline.enqueue_tasks('pgtap_api', pg_temp.uid('R'), '[{"key": "pgtap-api-f1"}, {"key": "pgtap-api-f2"}]')), 2,
  'two tasks for run R');
-- along the task state machine: claimed, then failed
update pm_pipeline.tasks set state = 'running', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'
 where run_id = pg_temp.uid('R') and kind = 'pgtap_api';
update pm_pipeline.tasks set state = 'failed', attempts = 1, last_error = 'error of ' || key, lease_token = null, lease_expires_at = null,
       finished_at = now() - case key when 'pgtap-api-f1' then interval '2 minutes' else interval '1 minute' end
 where run_id = pg_temp.uid('R') and kind = 'pgtap_api';
insert into pm_pipeline.provider_usage (run_id, kind, provider, calls, input_tokens, output_tokens, web_searches, cost_usd)
values (pg_temp.uid('R'), 'company_research', 'pgtap', 1, 1000, 200, 2, 0.5),
       (pg_temp.uid('R'), 'contact_research', 'pgtap', 2, 500, 100, 1, 0.25);
select pm_pipeline.log_event(pg_temp.uid('R'), 'pgtap', 'note ' || i, jsonb_build_object('i', i)) from generate_series(1, 4) i;

select is(pm_pipeline.run_summary(gen_random_uuid()), null, 'run_summary of an unknown run is null');
select is(pm_pipeline.run_details(gen_random_uuid()), null, 'run_details of an unknown run is null');
select is(array(select jsonb_object_keys(pm_pipeline.run_summary(pg_temp.uid('R'))) order by 1),
  array['budget_usd', 'contacts_max', 'contacts_min', 'cost', 'created_at', 'criteria', 'decision', 'finished_at', 'id', 'notes',
        'progress', 'quantity', 'stage', 'started_at', 'status', 'updated_at'],
  'run_summary has the documented keys');
select is(pm_pipeline.run_summary(pg_temp.uid('R')) - array['progress', 'cost', 'created_at', 'started_at', 'updated_at', 'finished_at'],
  jsonb_build_object('id', pg_temp.uid('R'), 'status', 'active', 'stage', 'company_discovery', 'criteria', '{"pms": "AppFolio", "state": "TX"}'::jsonb,
    'quantity', 10, 'contacts_min', 2, 'contacts_max', 3, 'budget_usd', 7.5, 'notes', null, 'decision', null),
  'run_summary: the run as stored; no decision for an active run');
select ok((select (s->>'created_at')::timestamptz = now() and (s->>'started_at')::timestamptz = now() and s->'finished_at' = 'null'
             from pm_pipeline.run_summary(pg_temp.uid('R')) s),
  'run_summary: created and started now, not finished');
select is(pm_pipeline.run_summary(pg_temp.uid('R'))->'progress',
  '{"companies_target": 10, "companies_accepted": 3, "companies_ready": 1, "companies_researched": 9, "companies_in_research": 2,
    "companies_rejected": 5, "companies_in_review": 1, "contacts_ready": 4, "contacts_needed": 20, "tasks_in_flight": 1,
    "tasks_failed": 2, "discovery_batches": 1, "discovery_exhausted": false, "discovery_failures": 0, "discovery_stopped": null}'::jsonb,
  'run_summary: progress counts companies by status, contacts of accepted companies only, tasks in flight and failed');
select is(pm_pipeline.run_summary(pg_temp.uid('R'))->'cost',
  '{"usd": 0.75, "calls": 3, "input_tokens": 1500, "output_tokens": 300, "web_searches": 3}'::jsonb,
  'run_summary: cost sums the provider usage');

select is(pm_pipeline.run_details(pg_temp.uid('R')) - array['rejected', 'failed_tasks', 'events'], pm_pipeline.run_summary(pg_temp.uid('R')),
  'run_details is run_summary plus rejected, failed_tasks and events');
select is(pm_pipeline.run_details(pg_temp.uid('R'))->'rejected',
  '[{"reason": "wrong PMS", "count": 3}, {"reason": "no website", "count": 1}, {"reason": "too small", "count": 1}]'::jsonb,
  'run_details: rejected companies grouped by reason, most frequent first (then by reason)');
select is(pm_pipeline.run_details(pg_temp.uid('R'))->'failed_tasks',
  (select jsonb_agg(jsonb_build_object('id', t.id::text, 'kind', 'pgtap_api', 'attempts', 1, 'error', 'error of ' || t.key, 'at', t.finished_at)
                    order by t.key desc)
     from pm_pipeline.tasks t where t.run_id = pg_temp.uid('R') and t.kind = 'pgtap_api'),
  'run_details: failed tasks with their errors, the latest first');
select is((select array_agg(e->>'message' order by i) from jsonb_array_elements(pm_pipeline.run_details(pg_temp.uid('R'), 3)->'events') with ordinality x(e, i)),
  array['note 2', 'note 3', 'note 4'], 'run_details(p_events 3): the 3 latest events, oldest first');
select is((pm_pipeline.run_details(pg_temp.uid('R'), 3)->'events'->(-1)) - array['at', 'id'],
  '{"kind": "pgtap", "message": "note 4", "actor": null, "data": {"i": 4}}'::jsonb, 'an event has its kind, message, actor (none: the pipeline did it) and data');
select is(jsonb_array_length(pm_pipeline.run_details(pg_temp.uid('R'))->'events'),
  (select count(*)::int from pm_pipeline.events where run_id = pg_temp.uid('R')), 'run_details: by default every event of a short run');
select is(pm_pipeline.run_details(pg_temp.uid('R'), 0)->'events', '[]'::jsonb, 'run_details(p_events 0): no events');
select is(pm_pipeline.run_details(pg_temp.uid('C1'))->'rejected' || (pm_pipeline.run_details(pg_temp.uid('C1'))->'failed_tasks'), '[]'::jsonb,
  'run_details: empty lists for a run with no rejections and no failures');

select isnt(pg_temp.waiting_run('W0', '{"state": "TX"}', 'found 0 of 5 companies. Options: accept_partial, expand_location, loosen_pms.'), null,
  'run W0 waits for a decision');
select is(pm_pipeline.run_summary(pg_temp.uid('W0'))->'decision',
  '{"reason": "found 0 of 5 companies. Options: accept_partial, expand_location, loosen_pms.", "waiting_for": "target_not_met",
    "options": ["accept_partial", "expand_location", "loosen_pms", "set_budget"]}'::jsonb,
  'run_summary: a run that needs a decision says why (in words and as a code) and what the options are');

-- =============================================================================================
-- list_runs
-- =============================================================================================
-- three runs, the newest of the database (created in the future)
select isnt(pg_temp.run(n), null, 'run ' || n) from unnest(array['L1', 'L2', 'L3']) n;
update pm_pipeline.runs r set created_at = now() + make_interval(days => 1, hours => x.h)
  from (values ('L1', 1), ('L2', 2), ('L3', 3)) as x(name, h) where r.id = pg_temp.uid(x.name);
select ok(pm_pipeline.set_run_status(pg_temp.uid('L2'), 'cancelled', 'pgtap'), 'L2 cancelled');

select ok((select bool_and(not (a.waiting < b.waiting))
             from (select e->>'status' = 'needs_user_decision' as waiting, i from jsonb_array_elements(pm_pipeline.list_runs(null, 200)->'runs') with ordinality x(e, i)) a
             join (select e->>'status' = 'needs_user_decision' as waiting, i from jsonb_array_elements(pm_pipeline.list_runs(null, 200)->'runs') with ordinality x(e, i)) b
               on a.i < b.i)
          and pm_pipeline.list_runs(null, 1)->'runs'->0->>'status' = 'needs_user_decision',
  'list_runs: the runs waiting for a decision come first');
select is(pg_temp.ids(pm_pipeline.list_runs('active', 3)->'runs'), array[pg_temp.uid('L3'), pg_temp.uid('L1'),
            (select id from pm_pipeline.runs where status = 'active' and created_at <= now() order by created_at desc, id limit 1)],
  'list_runs: then the newest first');
select is(pm_pipeline.list_runs('active', 1)->'runs'->0, pm_pipeline.run_summary(pg_temp.uid('L3')), 'list_runs lists run_summary documents');
select is(pg_temp.ids(pm_pipeline.list_runs('active', 2)->'runs'), array[pg_temp.uid('L3'), pg_temp.uid('L1')], 'list_runs(active): only active runs');
select ok((select bool_and(e->>'status' = 'cancelled') and bool_or(e->>'id' = pg_temp.uid('L2')::text)
             from jsonb_array_elements(pm_pipeline.list_runs('cancelled', 200)->'runs') e),
  'list_runs(cancelled): only cancelled runs, L2 among them');
select is((pm_pipeline.list_runs('cancelled', 1)->>'total')::int, (select count(*)::int from pm_pipeline.runs where status = 'cancelled'),
  'list_runs: total counts every match, not the page');
select is(pg_temp.ids(pm_pipeline.list_runs('active', 1, 1)->'runs'), array[pg_temp.uid('L1')], 'list_runs: offset pages on');

-- limits: at least 201 runs make the cap of 200 visible
select is((select count(distinct (pm_pipeline.create_run('{}', 1)).id)::int from generate_series(1, 201)), 201, '201 more runs');
select is(jsonb_array_length(pm_pipeline.list_runs(null, c.lim)->'runs'), c.n, format('list_runs(limit %s) lists %s runs', coalesce(c.lim::text, 'null'), c.n))
  from (values (0, 1), (-5, 1), (null, 20), (7, 7), (200, 200), (201, 200), (100000, 200)) as c(lim, n);

-- =============================================================================================
-- cancel_run
-- =============================================================================================
select isnt(pg_temp.run('K'), null, 'run K, active with a queued lead_list task');
select lives_ok(format('select pm_pipeline.cancel_run(%L)', pg_temp.uid('K')), 'cancel_run of an active run');
select results_eq(format($$ select status::text, finished_at = now(), pg_temp.tasks_of(id) from pm_pipeline.runs where id = %L $$, pg_temp.uid('K')),
  $$ values ('cancelled', true, 'lead_list:cancelled') $$, 'the run is cancelled, and so is its queued task');
select results_eq(format($$ select message, data from pg_temp.last_event(%L, 'status_changed') $$, pg_temp.uid('K')),
  $$ values ('cancelled by the user', '{"from": "active", "to": "cancelled"}'::jsonb) $$, 'the cancellation is logged');
select pg_temp.remember('K');
select lives_ok(format('select pm_pipeline.cancel_run(%L)', pg_temp.uid('K')), 'cancel_run of a cancelled run succeeds');
select ok(pg_temp.unchanged('K'), 'and changes nothing: no second event');

select isnt(pg_temp.waiting_run('KW', '{"state": "TX"}'), null, 'run KW waits for a decision');
select lives_ok(format('select pm_pipeline.cancel_run(%L)', pg_temp.uid('KW')), 'cancel_run of a run waiting for a decision');
select is((select status::text from pm_pipeline.runs where id = pg_temp.uid('KW')), 'cancelled', 'cancels it');

select isnt(pg_temp.run(n), null, 'run ' || n) from unnest(array['DONE', 'ERR']) n;
select ok(pm_pipeline.set_run_status(pg_temp.uid('DONE'), 'completed', 'pgtap: done'), 'run DONE completed');
select ok(pm_pipeline.set_run_status(pg_temp.uid('ERR'), 'error', 'pgtap: broken'), 'run ERR failed');
select pg_temp.remember('DONE');
select throws_ok(format('select pm_pipeline.cancel_run(%L)', pg_temp.uid('DONE')), 'PM409',
  format('run %s is completed: cancel applies only to a run that is active or needs_user_decision or cancelled', pg_temp.uid('DONE')),
  'cancel_run of a completed run raises PM409');
select ok(pg_temp.unchanged('DONE'), 'and changes nothing');
select throws_ok(format('select pm_pipeline.cancel_run(%L)', pg_temp.uid('ERR')), 'PM409', null, 'cancel_run of a failed run raises PM409');
select throws_ok(format('select pm_pipeline.cancel_run(%L)', gen_random_uuid()), 'P0002', null, 'cancel_run of an unknown run raises P0002');

-- =============================================================================================
-- decide_run: what is refused (and changes nothing)
-- =============================================================================================
select isnt(pg_temp.waiting_run('W', '{"pms": "Buildium", "state": "TX", "city": "Austin"}'), null, 'run W waits for a decision');
select pg_temp.remember('W');
select is(pg_temp.decide_err(pg_temp.uid('W'), c.decision::jsonb), '22023', format('decide_run(%s) raises 22023', c.decision))
  from (values ('{"decision": "widen_everything"}'), ('{}'), ('{"decision": null}'), ('"accept_partial"'),
               -- expand_location: nothing, both state and states, invalid or unchanged criteria
               ('{"decision": "expand_location"}'),
               ('{"decision": "expand_location", "state": "OK", "states": ["OK", "TX"]}'),
               ('{"decision": "expand_location", "state": 5}'),
               ('{"decision": "expand_location", "state": null}'),
               ('{"decision": "expand_location", "city": ""}'),
               ('{"decision": "expand_location", "states": "OK"}'),
               ('{"decision": "expand_location", "city": "Austin"}'),
               ('{"decision": "expand_location", "state": "TX"}'),
               -- loosen_pms: no pms, an invalid or unchanged one
               ('{"decision": "loosen_pms"}'),
               ('{"decision": "loosen_pms", "pms": 5}'),
               ('{"decision": "loosen_pms", "pms": ["Buildium", ""]}'),
               ('{"decision": "loosen_pms", "pms": "Buildium"}'),
               -- set_budget: no budget, or not a number of dollars
               ('{"decision": "set_budget"}'),
               ('{"decision": "set_budget", "budget_usd": "5"}'),
               ('{"decision": "set_budget", "budget_usd": true}'),
               ('{"decision": "set_budget", "budget_usd": -1}')) as c(decision);
select throws_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "expand_location", "city": "Austin"}') $$, pg_temp.uid('W')), '22023',
  'expand_location changes nothing: the criteria are already {"pms": "Buildium", "city": "Austin", "state": "TX"}',
  'an unchanged expand_location says so');
select ok(pg_temp.unchanged('W'), 'the refused decisions changed nothing');

select isnt(pg_temp.run('A'), null, 'run A, active');
insert into fx (name, uid) values ('nobody', gen_random_uuid());
select is(pg_temp.decide_err(pg_temp.uid(c.run), c.decision::jsonb), c.code, format('decide_run(%s) for a run that is %s raises %s', c.decision, c.what, c.code))
  from (values ('A', 'active', '{"decision": "expand_location", "state": "OK"}', 'PM409'),
               ('A', 'active', '{"decision": "loosen_pms", "pms": null}', 'PM409'),
               ('DONE', 'completed', '{"decision": "accept_partial"}', 'PM409'),
               ('DONE', 'completed', '{"decision": "set_budget", "budget_usd": 5}', 'PM409'),
               ('DONE', 'completed', '{"decision": "expand_location", "state": "OK"}', 'PM409'),
               ('K', 'cancelled', '{"decision": "accept_partial"}', 'PM409'),
               ('K', 'cancelled', '{"decision": "loosen_pms", "pms": null}', 'PM409'),
               ('nobody', 'unknown', '{"decision": "accept_partial"}', 'P0002'),
               ('nobody', 'unknown', '{"decision": "set_budget", "budget_usd": 5}', 'P0002'),
               ('nobody', 'unknown', '{"decision": "expand_location", "state": "OK"}', 'P0002'),
               ('nobody', 'unknown', '{"decision": "whatever"}', '22023')) as c(run, what, decision, code);
select throws_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "loosen_pms", "pms": null}') $$, pg_temp.uid('A')), 'PM409',
  format('run %s is active: loosen_pms applies only to a run that is needs_user_decision', pg_temp.uid('A')),
  'the PM409 message says which status the decision needs');
select ok(pg_temp.unchanged('DONE'), 'the completed run is unchanged');

-- =============================================================================================
-- decide_run: accept_partial
-- =============================================================================================
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "accept_partial"}') $$, pg_temp.uid('R')),
  'accept_partial for an active run (R)');
select results_eq(format($$ select status::text, stage::text, notes, pg_temp.tasks_of(id) from pm_pipeline.runs where id = %L $$, pg_temp.uid('R')),
  $$ values ('completed', 'done', 'accepted partial: 3 of 10 companies, 1 with at least 2 contact(s)',
             'lead_list:cancelled, pgtap_api:failed, pgtap_api:failed') $$,
  'completes it with what it has (its queued task cancelled)');

select results_eq(format($$ select kind, message, data from pm_pipeline.events where run_id = %L order by id desc limit 2 $$, pg_temp.uid('R')),
  $$ values ('status_changed', 'accepted partial: 3 of 10 companies, 1 with at least 2 contact(s)', '{"from": "active", "to": "completed"}'::jsonb),
            ('decision', 'decision: accept_partial', '{"decision": "accept_partial"}') $$,
  'the decision and the completion are logged');
select is(pm_pipeline.run_summary(pg_temp.uid('R'))->'decision', 'null'::jsonb, 'a completed run waits for no decision');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "accept_partial"}') $$, pg_temp.uid('W0')),
  'accept_partial for a run waiting for a decision (W0)');
select results_eq(format($$ select status::text, stage::text, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('W0')),
  $$ values ('completed', 'done', 'accepted partial: 0 of 5 companies, 0 with at least 1 contact(s)') $$, 'completes it');

-- =============================================================================================
-- decide_run: expand_location and loosen_pms change the criteria and resume discovery
-- =============================================================================================
select is(pg_temp.criteria_after(c.before::jsonb, c.decision::jsonb), c.after::jsonb, format('%s on %s gives %s', c.decision, c.before, c.after))
  from (values ('{"state": "TX", "city": "Austin"}', '{"decision": "expand_location", "city": null}', '{"state": "TX"}'),
               ('{"state": "TX", "city": "Austin"}', '{"decision": "expand_location", "city": "Dallas"}', '{"state": "TX", "city": "Dallas"}'),
               ('{"state": "TX"}', '{"decision": "expand_location", "city": "Dallas"}', '{"state": "TX", "city": "Dallas"}'),
               ('{"states": ["TX", "OK"], "city": "Austin"}', '{"decision": "expand_location", "state": "CA"}', '{"state": "CA", "city": "Austin"}'),
               ('{"state": "TX", "city": "Austin"}', '{"decision": "expand_location", "states": ["TX", "OK"]}', '{"states": ["TX", "OK"], "city": "Austin"}'),
               ('{"pms": "Yardi", "state": "TX", "city": "Austin"}', '{"decision": "expand_location", "city": null, "states": ["TX", "OK"]}',
                '{"pms": "Yardi", "states": ["TX", "OK"]}'),
               ('{"pms": "Buildium", "state": "TX"}', '{"decision": "loosen_pms", "pms": null}', '{"state": "TX"}'),
               ('{"pms": "Buildium"}', '{"decision": "loosen_pms", "pms": ["Buildium", "AppFolio"]}', '{"pms": ["Buildium", "AppFolio"]}'),
               ('{"pms": ["Buildium", "AppFolio"]}', '{"decision": "loosen_pms", "pms": "Yardi"}', '{"pms": "Yardi"}'),
               ('{"state": "TX"}', '{"decision": "loosen_pms", "pms": "Yardi"}', '{"state": "TX", "pms": "Yardi"}')) as c(before, decision, after);

-- the whole effect, on W (waiting at contact_discovery, discovery exhausted, its discovery task done)
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "expand_location", "city": null}') $$, pg_temp.uid('W')),
  'expand_location for W');
select results_eq(format($$ select criteria, status::text, stage::text, discovery_exhausted, discovery_batches, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('W')),
  $$ values ('{"pms": "Buildium", "state": "TX"}'::jsonb, 'active', 'company_discovery', false, 2,
             'resumed by expand_location: criteria now {"pms": "Buildium", "state": "TX"}') $$,
  'W: new criteria, active again at company_discovery, discovery no longer exhausted');
select results_eq(format($$ select state::text, payload from pm_pipeline.tasks where run_id = %L and kind = 'lead_list' order by id $$, pg_temp.uid('W')),
  $$ values ('succeeded', '{"count": 5, "batch": 1}'::jsonb), ('queued', '{"count": 5, "batch": 2}') $$,
  'W: a new lead_list task is queued (batch 2)');
select is(pg_temp.events_of(pg_temp.uid('W')), 'run_created, stage_changed, status_changed, decision, run_resumed',
  'W: the decision and the resumption are logged');
select is((pg_temp.last_event(pg_temp.uid('W'), 'decision')).data,
  '{"decision": "expand_location", "criteria_before": {"pms": "Buildium", "state": "TX", "city": "Austin"}, "criteria_after": {"pms": "Buildium", "state": "TX"}}'::jsonb,
  'W: the decision event has the criteria before and after');
select is((pg_temp.last_event(pg_temp.uid('W'), 'run_resumed')).data, '{"stage": "company_discovery"}'::jsonb, 'W: resumed at company_discovery');
select is(pg_temp.decide_err(pg_temp.uid('W'), '{"decision": "loosen_pms", "pms": null}'), 'PM409', 'W is active now: loosen_pms raises PM409');

-- =============================================================================================
-- decide_run: loosen_pms judges the companies already researched again
-- =============================================================================================
select isnt(pg_temp.waiting_run('L', '{"pms": "Buildium", "state": "TX"}'), null, 'run L waits for a decision');
insert into pm_pipeline.companies (run_id, name, domain, status, status_reason, rejection_reason) values
  (pg_temp.uid('L'), 'Other PMS', 'other-pms.example', 'rejected', 'other_pms', 'uses AppFolio, not Buildium'),
  (pg_temp.uid('L'), 'Weak evidence', 'weak.example', 'review', 'weak_pms_evidence', 'only medium evidence of Buildium'),
  -- the code decides, not the words: a shortfall of contacts described in other words still stays
  (pg_temp.uid('L'), 'Few people', 'few-people.example', 'rejected', 'too_few_contacts', 'nobody to call'),
  -- accepted once, then its contact search failed for good: the PMS was never its problem, and its
  -- contact task's key is taken, so accepting it again would leave it with no contact search
  (pg_temp.uid('L'), 'Contacts failed', 'contacts-failed.example', 'review', 'task_failed', 'contact_research failed: timeout'),
  (pg_temp.uid('L'), 'Never researched', 'never.example', 'rejected', null, 'no reason given');
insert into pm_pipeline.company_research (company_id, run_id, pms, pms_confidence)
select id, run_id, 'AppFolio', 'high' from pm_pipeline.companies where run_id = pg_temp.uid('L') and domain <> 'never.example';
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "loosen_pms", "pms": null}') $$, pg_temp.uid('L')), 'loosen_pms for L');
select results_eq(format($$ select domain, status::text, rejection_reason from pm_pipeline.companies where run_id = %L order by domain $$, pg_temp.uid('L')),
  $$ values ('contacts-failed.example', 'review', 'contact_research failed: timeout'),
            ('few-people.example', 'rejected', 'nobody to call'), ('never.example', 'rejected', 'no reason given'),
            ('other-pms.example', 'candidate', null), ('weak.example', 'candidate', null) $$,
  'L: researched companies turned down on the criteria are candidates again; a contacts shortfall, a failed contact search and an unresearched one stay');
select results_eq(format($$ select c.domain, t.key like 'requalify:%%', t.payload->>'requalify', t.state::text from pm_pipeline.tasks t
                              join pm_pipeline.companies c on c.id = (t.payload->>'company_id')::uuid
                             where t.run_id = %L and t.kind = 'company_research' order by c.domain $$, pg_temp.uid('L')),
  $$ values ('other-pms.example', true, 'true', 'queued'), ('weak.example', true, 'true', 'queued') $$,
  'L: one re-judging research task each, marked requalify');

-- =============================================================================================
-- decide_run: set_budget
-- =============================================================================================
select isnt(pg_temp.budget_stopped_run('B', 1), null, 'run B stopped by its budget after one call of $1');
select results_eq(format($$ select status::text, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('B')),
  $$ values ('needs_user_decision', 'budget reached: spent $1.0000 of $1.0000 (about $1.0000 a call); raise the budget to go on') $$,
  'B waits for a decision: budget reached');
select is(pm_pipeline.run_summary(pg_temp.uid('B'))->'decision'->'options', '["set_budget", "accept_partial"]'::jsonb,
  'B: the options are those that help with a budget (a location or PMS change would not)');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 5}') $$, pg_temp.uid('B')),
  'set_budget 5 for B');
select results_eq(format($$ select budget_usd, status::text, stage::text, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('B')),
  $$ values (5::numeric, 'active', 'company_discovery', 'budget raised to $5') $$,
  'B: the budget is set and the run resumes where it stopped');
select is(pg_temp.tasks_of(pg_temp.uid('B')), 'lead_list:queued', 'B: its discovery task still waits, nothing new');
select is(pg_temp.events_of(pg_temp.uid('B')), 'run_created, status_changed, decision, budget_changed, run_resumed',
  'B: the decision, the new budget and the resumption are logged');
select is((pg_temp.last_event(pg_temp.uid('B'), 'decision')).data, '{"decision": "set_budget", "budget_usd": 5}'::jsonb, 'B: the decision event has the decision');

select isnt(pg_temp.budget_stopped_run('B2', 2), null, 'run B2 stopped by its budget after one call of $2');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 3}') $$, pg_temp.uid('B2')),
  'set_budget 3 for B2: not enough for another call of $2');
select results_eq(format($$ select budget_usd, status::text, notes like 'budget reached: spent $2.0000 of $3%%' from pm_pipeline.runs where id = %L $$, pg_temp.uid('B2')),
  $$ values (3::numeric, 'needs_user_decision', true) $$, 'B2 keeps waiting: budget reached again');

select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 9.5}') $$, pg_temp.uid('A')),
  'set_budget 9.5 for the active run A');
select results_eq(format($$ select budget_usd, status::text from pm_pipeline.runs where id = %L $$, pg_temp.uid('A')),
  $$ values (9.5::numeric, 'active') $$, 'A: budget 9.5, still active');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": null}') $$, pg_temp.uid('A')),
  'set_budget null for A');
select is((select budget_usd from pm_pipeline.runs where id = pg_temp.uid('A')), null, 'A: no budget');

select isnt(pg_temp.waiting_run('B3', '{"state": "TX"}', 'found 0 of 5 companies'), null, 'run B3 waits for a decision, not for money');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 4}') $$, pg_temp.uid('B3')),
  'set_budget 4 for B3');
select results_eq(format($$ select budget_usd, status::text, notes from pm_pipeline.runs where id = %L $$, pg_temp.uid('B3')),
  $$ values (4::numeric, 'needs_user_decision', 'found 0 of 5 companies') $$, 'B3: the budget is set, the run still waits');

-- =============================================================================================
-- Suppression list: domain_problem, add_suppression, remove_suppression
-- =============================================================================================
select is(pm_pipeline.domain_problem(c.input), c.problem, format('domain_problem(%s)', coalesce(quote_literal(c.input), 'null')))
  from (values ('example.com', null),
               ('HTTPS://www.Example.com/about?x=1', null),
               ('sub.example.co.uk', null),
               ('xn--80ak6aa92e.com', null),
               (null, 'empty'),
               ('', 'empty'),
               ('https://www.', 'empty'),
               (repeat('a.', 130) || 'com', 'longer than 253 characters'),
               ('localhost', 'not a domain name (letters, digits and hyphens, with a dot)'),
               ('exa mple.com', 'not a domain name (letters, digits and hyphens, with a dot)'),
               ('-example.com', 'not a domain name (letters, digits and hyphens, with a dot)'),
               ('under_score.com', 'not a domain name (letters, digits and hyphens, with a dot)'),
               ('192.168.0.1', 'not a domain name (letters, digits and hyphens, with a dot)'),
               ('example.c', 'not a domain name (letters, digits and hyphens, with a dot)')) as c(input, problem);

create function pg_temp.suppressed() returns table (domain text, reason text, source text) language sql stable as $$
  select domain, reason, source from pm_pipeline.suppression where domain like 'pgtap-api-%' order by domain
$$;
select is(pm_pipeline.add_suppression(array['HTTPS://www.PGTAP-API-one.example/path?x=1', 'pgtap-api-one.example', 'pgtap-api-two.example.'], 'customer', 'pgtap'),
  '{"added": 2, "already": 0, "domains": ["pgtap-api-one.example", "pgtap-api-two.example"]}'::jsonb,
  'add_suppression normalises (scheme, www, path, case, trailing dot) and counts a domain given twice once');
select is(pm_pipeline.add_suppression(array['pgtap-api-two.example', 'http://pgtap-api-three.example'], 'contacted', 'pgtap 2'),
  '{"added": 1, "already": 1, "domains": ["pgtap-api-three.example", "pgtap-api-two.example"]}'::jsonb,
  'add_suppression counts new domains and those already on the list');
select results_eq($$ select * from pg_temp.suppressed() $$,
  $$ values ('pgtap-api-one.example'::text, 'customer'::text, 'pgtap'::text), ('pgtap-api-three.example', 'contacted', 'pgtap 2'),
            ('pgtap-api-two.example', 'customer', 'pgtap') $$,
  'the list has each domain once, with the reason and source it was first added with');
select throws_ok($$ select pm_pipeline.add_suppression(array['pgtap-api-four.example', 'localhost', 'pgtap-api-five.example']) $$, '22023',
  'invalid domain "localhost": not a domain name (letters, digits and hyphens, with a dot)',
  'one invalid domain rejects the call with 22023, naming it');
select throws_ok($$ select pm_pipeline.add_suppression(array['pgtap-api-four.example', '']) $$, '22023', 'invalid domain "": empty',
  'so does an empty one');
select is((select count(*)::int from pg_temp.suppressed()), 3, 'all or nothing: the valid domains of a rejected call were not added');
select is(pm_pipeline.add_suppression('{}'), '{"added": 0, "already": 0, "domains": []}'::jsonb, 'add_suppression of no domains adds nothing');

select is(pm_pipeline.remove_suppression(array['https://WWW.pgtap-api-one.example/contact', 'pgtap-api-one.example', 'pgtap-api-nine.example']), 1,
  'remove_suppression takes any URL form and returns how many domains were on the list');
select results_eq($$ select domain from pg_temp.suppressed() $$, $$ values ('pgtap-api-three.example'::text), ('pgtap-api-two.example') $$,
  'the domain is gone, the others stay');
select is(pm_pipeline.remove_suppression(array['pgtap-api-one.example']), 0, 'removing it again returns 0');

-- =============================================================================================
-- v_workers: alive or not, and the task a worker holds
-- =============================================================================================
select lives_ok($$ select pm_pipeline.upsert_worker_heartbeat(w, 'pgtap_api', 'idle') from unnest(array['pgtap-api-fresh', 'pgtap-api-border',
                   'pgtap-api-old', 'pgtap-api-stopped', 'pgtap-api-dead']) w $$, 'five workers heartbeat');
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - pm_pipeline.dead_worker_after() + interval '1 second' where worker_id = 'pgtap-api-border';
update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - pm_pipeline.dead_worker_after() - interval '1 second' where worker_id = 'pgtap-api-old';
update pm_pipeline.worker_heartbeats set status = 'dead' where worker_id = 'pgtap-api-dead';
select is(pm_pipeline.stop_worker('pgtap-api-stopped'), 0, 'pgtap-api-stopped stopped');
select is((select count(*)::int from pm_pipeline.enqueue_tasks('pgtap_api', pg_temp.uid('A'), '[{"key": "pgtap-api-w1"}]')), 1, 'a task for run A');
create temp table claimed on commit drop as select * from pm_pipeline.claim_tasks('pgtap-api-busy', array['pgtap_api'], 1);
select is((select key from claimed), 'pgtap-api-w1', 'pgtap-api-busy claims it');

select results_eq($$ select worker_id, status, alive from pm_pipeline.v_workers where worker_id like 'pgtap-api-%' order by worker_id $$,
  $$ values ('pgtap-api-border'::text, 'idle'::text, true), ('pgtap-api-busy', 'processing', true), ('pgtap-api-dead', 'dead', false),
            ('pgtap-api-fresh', 'idle', true), ('pgtap-api-old', 'idle', false), ('pgtap-api-stopped', 'stopped', false) $$,
  'v_workers: alive only with a heartbeat inside the dead-worker threshold and not stopped or dead');
select is((select seconds_since_heartbeat from pm_pipeline.v_workers where worker_id = 'pgtap-api-old'),
  extract(epoch from pm_pipeline.dead_worker_after())::numeric + 1, 'v_workers: seconds since the last heartbeat');
select is((select current_task from pm_pipeline.v_workers where worker_id = 'pgtap-api-busy'),
  (select jsonb_build_object('id', c.id::text, 'kind', 'pgtap_api', 'run_id', pg_temp.uid('A'), 'lease_expires_at', now() + interval '30 seconds') from claimed c),
  'v_workers: the task a worker holds, with its run and lease');
select is_empty($$ select worker_id from pm_pipeline.v_workers where worker_id like 'pgtap-api-%' and worker_id <> 'pgtap-api-busy' and current_task is not null $$,
  'v_workers: the others hold no task');
select ok((select pm_pipeline.complete_task(id, lease_token) from claimed), 'pgtap-api-busy completes its task');
select is((select current_task from pm_pipeline.v_workers where worker_id = 'pgtap-api-busy'), null, 'v_workers: then it holds none');

-- =============================================================================================
-- Retries are compared with the request as it was received (regressions of two bugs)
-- =============================================================================================
insert into req (name, body) values
  ('bug1', '{"criteria": {"state": "UT"}, "quantity": 2, "budget_usd": 10.12345}'),
  ('bug2', '{"criteria": {"state": "UT"}, "quantity": 2, "budget_usd": 5}');

-- 1. runs.budget_usd is numeric(12,4): 10.12345 is stored as 10.1235; the same request again must
--    still be the same request.
select is(pg_temp.submit('BUG1', pg_temp.req('bug1'), pg_temp.key('bug1'))->'created', 'true'::jsonb, 'bug 1 fixture: a run with a budget of 5 decimals');
select is(pg_temp.submit_err(pg_temp.req('bug1'), pg_temp.key('bug1')), null, 'the same request with a budget of 5 decimals again returns the run (created false), not PM409');

-- 2. a retry is compared with the request that made the run, not with the run as a decision (here
--    a new budget) has changed it since.
select is(pg_temp.submit('BUG2', pg_temp.req('bug2'), pg_temp.key('bug2'))->'created', 'true'::jsonb, 'bug 2 fixture: a run with a budget of 5');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 8}') $$, pg_temp.uid('BUG2')),
  'bug 2 fixture: the user raises its budget to 8');
select is(pg_temp.submit_err(pg_temp.req('bug2'), pg_temp.key('bug2')), null, 'the original request sent again after a set_budget decision returns the run, not PM409');

select throws_ok($$ select pm_pipeline.submit_run('{"criteria": {"state": "UT"}, "quantity": 1, "budget_usd": 100000000}') $$,
  '22023', null, 'a budget of 1e8 or more is refused as invalid, not as a numeric overflow');
select ok(jsonb_array_length(pm_pipeline.run_details(pg_temp.uid('BUG2'), null)->'events') > 0, 'run_details with p_events null gives the default number of events');

-- run_open_responses: the background responses a run's tasks hold open (checkpoint entries
-- openai_response:<operation> with an id, not done), whatever the task's state; what cancelling
-- the run cancels at the provider.
select is(pg_temp.submit('OPENRESP', '{"criteria": {"state": "UT"}, "quantity": 1}')->'created', 'true'::jsonb, 'run_open_responses fixture: a run');
insert into pm_pipeline.tasks (kind, run_id, key, payload, fair_tag, max_attempts, state, checkpoint) values
  ('pgtap_api', pg_temp.uid('OPENRESP'), 'pgtap-open-1', '{}', 0, 3, 'queued',
   '{"openai_response:discovery": {"id": "resp_open", "created_at": 1}, "discovery": {"companies": []}}'),
  ('pgtap_api', pg_temp.uid('OPENRESP'), 'pgtap-open-2', '{}', 0, 3, 'cancelled',
   '{"openai_response:company_research": {"id": "resp_queued_when_cancelled", "created_at": 1}}'),
  ('pgtap_api', pg_temp.uid('OPENRESP'), 'pgtap-open-3', '{}', 0, 3, 'queued',
   '{"openai_response:company_research": {"id": "resp_done", "created_at": 1, "done": true}, "openai_response:contact_search": null}');
select results_eq(
  format($$ select response_id from pm_pipeline.run_open_responses(%L) order by response_id $$, pg_temp.uid('OPENRESP')),
  $$ values ('resp_open'::text), ('resp_queued_when_cancelled'::text) $$,
  'run_open_responses: the ids not marked done, of queued and cancelled tasks alike; not a done one, not a cleared (null) entry, not other checkpoint values');
select is((select call from pm_pipeline.run_open_responses(pg_temp.uid('OPENRESP')) where response_id = 'resp_open'), 'openai_response:discovery',
  'run_open_responses names the checkpoint entry (the call) of each response');
select is((select count(*)::int from pm_pipeline.run_open_responses(pg_temp.uid('BUG2'))), 0, 'run_open_responses: none for a run without background calls');

select * from finish();
rollback;
