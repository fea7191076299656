-- pgTAP: the three state machines (runs, tasks, companies). Each entity lists its moves in one
-- function and a trigger refuses every other move, whoever writes; the reasons a run waits or a
-- company is held back are codes, and the functions key on the codes, never on the words.
--
-- Runs in one transaction that is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(22);

-- ---------------------------------------------------------------------------------------------
-- The moves, as listed
-- ---------------------------------------------------------------------------------------------
select set_eq(
  $$ select f::text, t::text from unnest(enum_range(null::pm_pipeline.task_state)) f, unnest(enum_range(null::pm_pipeline.task_state)) t
      where f <> t and pm_pipeline.task_state_move_allowed(f, t) $$,
  $$ values ('queued', 'running'), ('queued', 'cancelled'),
            ('running', 'queued'), ('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled') $$,
  'tasks: queued -> running | cancelled; running -> queued | succeeded | failed | cancelled; the rest is final');
select set_eq(
  $$ select f::text, t::text from unnest(enum_range(null::pm_pipeline.company_status)) f, unnest(enum_range(null::pm_pipeline.company_status)) t
      where f <> t and pm_pipeline.company_status_move_allowed(f, t) $$,
  $$ values ('candidate', 'accepted'), ('candidate', 'rejected'), ('candidate', 'review'),
            ('accepted', 'rejected'), ('accepted', 'review'), ('rejected', 'candidate'), ('review', 'candidate') $$,
  'companies: a candidate is decided; an accepted one can still be rejected or sent to review; rejected and review go back to candidate (requalify)');
select set_eq(
  $$ select f::text, t::text from unnest(enum_range(null::pm_pipeline.run_status)) f, unnest(enum_range(null::pm_pipeline.run_status)) t
      where f <> t and pm_pipeline.run_status_move_allowed(f, t) $$,
  $$ values ('active', 'needs_user_decision'), ('active', 'completed'), ('active', 'error'), ('active', 'cancelled'),
            ('needs_user_decision', 'active'), ('needs_user_decision', 'completed'), ('needs_user_decision', 'error'),
            ('needs_user_decision', 'cancelled') $$,
  'runs: completed, error and cancelled are final');

-- the task guard inlines the list (it runs on every claim and completion): it must agree with it
create temp table task_guard_probe (id int, state pm_pipeline.task_state) on commit drop;
create trigger task_guard_probe before update of state on task_guard_probe
  for each row when (old.state is distinct from new.state) execute function pm_pipeline.guard_task_transition();
create function pg_temp.task_guard_allows(p_from pm_pipeline.task_state, p_to pm_pipeline.task_state) returns boolean
language plpgsql as $$
begin
  delete from task_guard_probe;
  insert into task_guard_probe values (1, p_from);
  update task_guard_probe set state = p_to;
  return true;
exception when check_violation then
  return false;
end
$$;
select is_empty(
  $$ select f, t from unnest(enum_range(null::pm_pipeline.task_state)) f, unnest(enum_range(null::pm_pipeline.task_state)) t
      where f <> t and pg_temp.task_guard_allows(f, t) is distinct from pm_pipeline.task_state_move_allowed(f, t) $$,
  'tasks: the guard trigger allows exactly the moves task_state_move_allowed lists');

-- ---------------------------------------------------------------------------------------------
-- The guards refuse other moves, whoever writes
-- ---------------------------------------------------------------------------------------------
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds) values ('pgtap_sm', 'pgTAP state machines', 2, 30);
create temp table fx (name text primary key, id text) on commit drop;
insert into fx select 'run', id::text from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 3);
insert into fx select 'task', id::text from pm_pipeline.enqueue_task('pgtap_sm', (select id::uuid from fx where name = 'run'), '{}', 'pgtap-sm-1');
create function pg_temp.fx(p_name text) returns text language sql as $$ select id from fx where name = p_name $$;

select throws_ok(format($$ update pm_pipeline.tasks set state = 'succeeded' where id = %s $$, pg_temp.fx('task')),
  '23514', format('task %s: state cannot move from queued to succeeded', pg_temp.fx('task')),
  'a queued task cannot succeed without being claimed, even by a direct update');
select isnt((select count(*)::int from pm_pipeline.claim_tasks('pgtap-sm-worker', '{pgtap_sm}', 1)), 0, 'the task is claimed');
select lives_ok(format($$ select pm_pipeline.heartbeat_task(%s, (select lease_token from pm_pipeline.tasks where id = %s)) $$,
  pg_temp.fx('task'), pg_temp.fx('task')), 'a heartbeat (running -> running) is no move');
select lives_ok(format($$ select pm_pipeline.complete_task(%s, (select lease_token from pm_pipeline.tasks where id = %s)) $$,
  pg_temp.fx('task'), pg_temp.fx('task')), 'running -> succeeded');
select throws_ok(format($$ update pm_pipeline.tasks set state = 'queued', attempts = 0 where id = %s $$, pg_temp.fx('task')),
  '23514', format('task %s: state cannot move from succeeded to queued', pg_temp.fx('task')),
  'a succeeded task never runs again');

insert into pm_pipeline.companies (run_id, name, domain) values (pg_temp.fx('run')::uuid, 'Machine PM', 'machine-pm.example');
insert into fx select 'company', id::text from pm_pipeline.companies where domain = 'machine-pm.example';
update pm_pipeline.companies set status = 'accepted' where id = pg_temp.fx('company')::uuid;
select throws_ok(format($$ update pm_pipeline.companies set status = 'candidate' where id = %L $$, pg_temp.fx('company')),
  '23514', format('company %s: status cannot move from accepted to candidate', pg_temp.fx('company')),
  'an accepted company does not go back to candidate');
select lives_ok(format($$ update pm_pipeline.companies set status = 'rejected', status_reason = 'too_few_contacts', rejection_reason = 'no one' where id = %L $$,
  pg_temp.fx('company')), 'accepted -> rejected (too few contacts)');
select throws_ok(format($$ update pm_pipeline.companies set status = 'accepted', status_reason = 'other_pms' where id = %L $$, pg_temp.fx('company')),
  '23514', null, 'a code says why a company is held back: an accepted one has none');

-- ---------------------------------------------------------------------------------------------
-- A run that waits says what for, as a code
-- ---------------------------------------------------------------------------------------------
select throws_ok(format($$ update pm_pipeline.runs set status = 'needs_user_decision' where id = %L $$, pg_temp.fx('run')),
  '23514', null, 'a run cannot wait for a decision without saying what it waits for');
select ok(pm_pipeline.set_run_status(pg_temp.fx('run')::uuid, 'needs_user_decision', 'found 0 of 3'), 'set_run_status to needs_user_decision');
select is((select decision_reason::text from pm_pipeline.runs where id = pg_temp.fx('run')::uuid), 'target_not_met',
  'by default a run waits because the target is not met');
select ok(pm_pipeline.resume_run(pg_temp.fx('run')::uuid, 'company_discovery', 'resumed'), 'resume_run');
select is((select decision_reason from pm_pipeline.runs where id = pg_temp.fx('run')::uuid), null, 'an active run waits for nothing');

-- the budget: a question that changes nothing, and the call that stops the run
update pm_pipeline.runs set budget_usd = 1 where id = pg_temp.fx('run')::uuid;
insert into pm_pipeline.provider_usage (run_id, kind, provider, calls, cost_usd) values (pg_temp.fx('run')::uuid, 'lead_list', 'pgtap', 1, 0.8);
select is(pm_pipeline.run_can_afford_next_call(pg_temp.fx('run')::uuid), false, 'a second call of about $0.80 does not fit $1');
select is((select status::text from pm_pipeline.runs where id = pg_temp.fx('run')::uuid), 'active', 'asking changed nothing');
select ok(pm_pipeline.pause_run_for_budget(pg_temp.fx('run')::uuid), 'pause_run_for_budget stops the active run');
-- the words may say anything: the code is what set_run_budget looks at
update pm_pipeline.runs set notes = 'waiting for money' where id = pg_temp.fx('run')::uuid;
select is(pm_pipeline.set_run_budget(pg_temp.fx('run')::uuid, 10)::text, 'active',
  'raising the budget resumes a run that waits for budget_reached, whatever its notes say');
select is((select count(*)::int from pm_pipeline.events where run_id = pg_temp.fx('run')::uuid and kind = 'run_resumed'), 2,
  'the resumption is logged');

select * from finish();
rollback;
