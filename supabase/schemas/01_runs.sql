-- Runs: a lead-list request and where it stands, the event log of what happened to it, and how its
-- stage and status may change. The old system let any worker blindly overwrite stage and status;
-- here a trigger admits only the moves run_status_move_allowed lists, and the functions are
-- compare-and-set, so a stale worker cannot undo a newer state.

-- Returns null for valid criteria, else what is wrong with them. The run API validates with zod first;
-- this is the backstop so that nothing else can store criteria the workers cannot read.
create function pm_pipeline.criteria_problem(p_criteria jsonb)
returns text
language plpgsql
security definer
immutable
set search_path = ''
as $$
declare
  v_key text;
  v_min numeric;
  v_max numeric;
begin
  if p_criteria is null or jsonb_typeof(p_criteria) <> 'object' then
    return 'criteria must be a JSON object';
  end if;
  for v_key in select jsonb_object_keys(p_criteria) loop
    if v_key not in ('pms', 'state', 'states', 'city', 'units_min', 'units_max') then
      return format('unknown criteria field "%s" (allowed: pms, state, states, city, units_min, units_max)', v_key);
    end if;
  end loop;
  -- pms: one name, a list of names, or null (any PMS)
  if p_criteria ? 'pms' and jsonb_typeof(p_criteria->'pms') not in ('string', 'array', 'null') then
    return 'pms must be a string, a list of strings or null';
  end if;
  if jsonb_typeof(p_criteria->'pms') = 'array' and exists (
       select from jsonb_array_elements(p_criteria->'pms') e where jsonb_typeof(e) <> 'string') then
    return 'pms must be a string, a list of strings or null';
  end if;
  if p_criteria ? 'state' and jsonb_typeof(p_criteria->'state') <> 'string' then
    return 'state must be a string';
  end if;
  if p_criteria ? 'city' and jsonb_typeof(p_criteria->'city') <> 'string' then
    return 'city must be a string';
  end if;
  if p_criteria ? 'states' and (jsonb_typeof(p_criteria->'states') <> 'array' or exists (
       select from jsonb_array_elements(p_criteria->'states') e where jsonb_typeof(e) <> 'string')) then
    return 'states must be a list of strings';
  end if;
  if exists (select from jsonb_each(p_criteria) e
               cross join lateral (select v from jsonb_array_elements_text(
                 case jsonb_typeof(e.value) when 'array' then e.value else jsonb_build_array(e.value) end) v) x
             where e.key in ('pms', 'state', 'states', 'city') and e.value <> 'null'
               and (btrim(x.v) = '' or length(x.v) > 100)) then
    return 'pms, state, states and city must be 1 to 100 characters each';
  end if;
  foreach v_key in array array['units_min', 'units_max'] loop
    if p_criteria ? v_key and (jsonb_typeof(p_criteria->v_key) <> 'number'
        or (p_criteria->>v_key)::numeric <> trunc((p_criteria->>v_key)::numeric)
        or (p_criteria->>v_key)::numeric not between 0 and 1000000) then
      return format('%s must be a whole number from 0 to 1000000', v_key);
    end if;
  end loop;
  v_min := (p_criteria->>'units_min')::numeric;
  v_max := (p_criteria->>'units_max')::numeric;
  if v_min > v_max then
    return format('units_min (%s) is greater than units_max (%s)', v_min, v_max);
  end if;
  return null;
end
$$;

comment on function pm_pipeline.criteria_problem(jsonb) is 'Null when run criteria are valid, else a sentence saying what is wrong with them.';

create table pm_pipeline.runs (
  id uuid primary key default gen_random_uuid(),
  criteria jsonb not null constraint runs_criteria_valid check (pm_pipeline.criteria_problem(criteria) is null),
  target_quantity integer not null check (target_quantity between 1 and 1000),
  contacts_min integer not null default 1,
  contacts_max integer not null default 3,
  stage pm_pipeline.run_stage not null default 'company_discovery',
  status pm_pipeline.run_status not null default 'active',
  decision_reason pm_pipeline.decision_reason,
  notes text,
  idempotency_key text unique check (length(idempotency_key) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  started_at timestamptz,
  discovery_exhausted boolean not null default false,
  discovery_batches integer not null default 0,
  discovery_failures integer not null default 0,
  discovery_stopped text,
  budget_usd numeric(12, 4) check (budget_usd >= 0),
  request jsonb,
  constraint runs_contacts_range check (contacts_min between 0 and 10 and contacts_max between 1 and 10 and contacts_min <= contacts_max),
  -- 'done' and 'completed' mean the same thing and are set together
  constraint runs_done_is_completed check ((stage = 'done') = (status = 'completed')),
  constraint runs_decision_has_reason check ((status = 'needs_user_decision') = (decision_reason is not null))
);
alter table pm_pipeline.runs enable row level security;

comment on table pm_pipeline.runs is 'A lead-list request: criteria, how many companies, how many contacts each, and where it stands. Stage and status change only through advance_run_stage / set_run_status (a trigger rejects any other move).';

comment on column pm_pipeline.runs.criteria is 'e.g. {"pms": "Buildium", "state": "TX", "city": "Austin", "units_min": 100, "units_max": 2000}';

comment on column pm_pipeline.runs.idempotency_key is 'Optional client key: creating a run with a key that exists returns the existing run.';
comment on column pm_pipeline.runs.decision_reason is 'What a run in needs_user_decision waits for (code); notes says it in words. Null in every other status.';

comment on column pm_pipeline.runs.started_at is 'When start_run handed the run to the workers; runs without it are not driven by the pipeline.';

comment on column pm_pipeline.runs.discovery_failures is 'Discovery batches that failed for good since the run started or a decision resumed it: each next batch waits a backoff, and max_failed_discovery_batches of them stop discovery.';

comment on column pm_pipeline.runs.discovery_stopped is 'Why discovery stopped for good (a permanent provider error, too many failed batches): no batch is enqueued until a decision resumes the run.';

comment on column pm_pipeline.runs.discovery_exhausted is 'Set when a discovery batch found nothing new: no more candidates will be looked for unless a decision resumes the run.';

comment on column pm_pipeline.runs.budget_usd is 'Optional spending limit in USD for the provider calls of this run; null means none.';

comment on column pm_pipeline.runs.request is 'The create request as the run API received it (criteria, quantity, contacts, budget): a retry with the same Idempotency-Key is compared with this, not with the run as decisions have changed it.';

create table pm_pipeline.events (
  id bigint generated always as identity primary key,
  run_id uuid references pm_pipeline.runs (id) on delete cascade,
  task_id bigint,
  kind text not null,
  message text not null,
  data jsonb not null default '{}',
  -- set by act_as for what a person does through the API: every event of that transaction is theirs
  actor text default nullif(current_setting('pm_pipeline.actor', true), ''),
  created_at timestamptz not null default now()
);
alter table pm_pipeline.events enable row level security;

create index events_run on pm_pipeline.events (run_id, id);

comment on table pm_pipeline.events is 'Append-only log of what happened to runs and tasks (stage changes, permanent task failures, decisions), newest last.';

comment on column pm_pipeline.events.actor is 'The API key''s name for what a person did through the run API (a decision, a cancel, a new run); null for what the pipeline did.';

-- The run API's writes run as one statement each: a transaction-local setting names their author
-- for every event they cause (the decision and the status change it brings), without a parameter
-- through every function on the way.
create function pm_pipeline.act_as(p_actor text)
returns void
language sql
security definer
set search_path = ''
as $$
  select set_config('pm_pipeline.actor', coalesce(p_actor, ''), true);
$$;

comment on function pm_pipeline.act_as(text) is 'Names the person (API key) whose action the rest of this transaction is: events.actor of the events it logs.';

create function pm_pipeline.log_event(p_run_id uuid, p_kind text, p_message text, p_data jsonb default '{}', p_task_id bigint default null)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into pm_pipeline.events (run_id, task_id, kind, message, data)
  values (p_run_id, p_task_id, p_kind, p_message, coalesce(p_data, '{}'));
$$;

comment on function pm_pipeline.log_event(uuid, text, text, jsonb, bigint) is 'Appends one row to the event log.';

create function pm_pipeline.run_status_move_allowed(p_from pm_pipeline.run_status, p_to pm_pipeline.run_status)
returns boolean
language sql
security definer
immutable
set search_path = ''
as $$
  select p_from = p_to or (p_from, p_to) in (
    ('active', 'needs_user_decision'), ('active', 'completed'), ('active', 'error'), ('active', 'cancelled'),
    ('needs_user_decision', 'active'), ('needs_user_decision', 'completed'),
    ('needs_user_decision', 'error'), ('needs_user_decision', 'cancelled'))
$$;

comment on function pm_pipeline.run_status_move_allowed(pm_pipeline.run_status, pm_pipeline.run_status) is 'The allowed run status moves; completed, error and cancelled are final.';

create function pm_pipeline.guard_run_transition()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not pm_pipeline.run_status_move_allowed(old.status, new.status) then
    raise exception 'run %: status cannot move from % to %', old.id, old.status, new.status
      using errcode = 'check_violation', hint = 'completed, error and cancelled are final';
  end if;
  -- A stage moves backwards only when a user decision resumes the run (needs_user_decision -> active).
  if new.stage < old.stage and not (old.status = 'needs_user_decision' and new.status = 'active') then
    raise exception 'run %: stage cannot move backwards from % to %', old.id, old.stage, new.stage
      using errcode = 'check_violation';
  end if;
  if new.stage <> old.stage and old.status in ('completed', 'error', 'cancelled') then
    raise exception 'run %: stage cannot change once the run is %', old.id, old.status
      using errcode = 'check_violation';
  end if;
  new.updated_at := now();
  if new.status in ('completed', 'error', 'cancelled') and old.status is distinct from new.status then
    new.finished_at := now();
  end if;
  return new;
end
$$;

comment on function pm_pipeline.guard_run_transition() is 'Trigger: rejects run status moves that run_status_move_allowed does not list and stage moves backwards; stamps updated_at and finished_at.';

create trigger runs_guard_transition
  before update on pm_pipeline.runs
  for each row execute function pm_pipeline.guard_run_transition();

-- Creates a run, or returns the existing one when the idempotency key was seen before.
create function pm_pipeline.create_run(
  p_criteria jsonb,
  p_target_quantity integer,
  p_contacts_min integer default 1,
  p_contacts_max integer default 3,
  p_idempotency_key text default null,
  p_notes text default null)
returns pm_pipeline.runs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_problem text := pm_pipeline.criteria_problem(p_criteria);
  v_run pm_pipeline.runs;
begin
  if v_problem is not null then
    raise exception 'invalid criteria: %', v_problem using errcode = 'invalid_parameter_value';
  end if;
  if p_idempotency_key is not null and length(p_idempotency_key) not between 1 and 200 then
    raise exception 'invalid idempotency key: must be 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_target_quantity is null or p_target_quantity not between 1 and 1000 then
    raise exception 'invalid quantity %: must be 1 to 1000', p_target_quantity using errcode = 'invalid_parameter_value';
  end if;
  if p_contacts_min is null or p_contacts_max is null or p_contacts_min not between 0 and 10
     or p_contacts_max not between 1 and 10 or p_contacts_min > p_contacts_max then
    raise exception 'invalid contacts range %..%: need 0 <= min <= max <= 10 and max >= 1', p_contacts_min, p_contacts_max
      using errcode = 'invalid_parameter_value';
  end if;

  insert into pm_pipeline.runs (criteria, target_quantity, contacts_min, contacts_max, idempotency_key, notes)
  values (p_criteria, p_target_quantity, p_contacts_min, p_contacts_max, p_idempotency_key, p_notes)
  on conflict (idempotency_key) do nothing
  returning * into v_run;

  if v_run.id is null then
    -- the key exists: same request again, same run
    select * into v_run from pm_pipeline.runs where idempotency_key = p_idempotency_key;
    return v_run;
  end if;
  perform pm_pipeline.log_event(v_run.id, 'run_created', format('run created: %s companies, %s-%s contacts each',
    p_target_quantity, p_contacts_min, p_contacts_max), jsonb_build_object('criteria', p_criteria));
  return v_run;
end
$$;

comment on function pm_pipeline.create_run(jsonb, integer, integer, integer, text, text) is 'Validates and creates a run; with an idempotency key already used, returns that run unchanged.';

-- Moves an active run's stage forward. Returns false (and changes nothing) when the run is already
-- at or past that stage, or is not active: a late worker cannot drag a run back.
create function pm_pipeline.advance_run_stage(p_run_id uuid, p_stage pm_pipeline.run_stage)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_from pm_pipeline.run_stage;
begin
  if p_stage = 'done' then
    raise exception 'a run reaches stage done only by completing: use set_run_status(run, ''completed'')'
      using errcode = 'invalid_parameter_value';
  end if;
  select stage into v_from from pm_pipeline.runs where id = p_run_id for no key update;
  update pm_pipeline.runs set stage = p_stage
   where id = p_run_id and status = 'active' and stage < p_stage;
  if not found then
    return false;
  end if;
  perform pm_pipeline.log_event(p_run_id, 'stage_changed', format('stage %s -> %s', v_from, p_stage),
    jsonb_build_object('from', v_from, 'to', p_stage));
  return true;
end
$$;

comment on function pm_pipeline.advance_run_stage(uuid, pm_pipeline.run_stage) is 'Moves an active run to a later stage; false when it is already there or past it, or not active.';

-- Compare-and-set of a run's status. With p_expected, nothing happens unless the run is in that
-- status. Completing sets stage done (a run that ends also ends its queued tasks: the queue's
-- trigger runs_end_queued_tasks). A run stopped for a decision says what it waits for
-- (p_decision_reason; by default the target not met).
create function pm_pipeline.set_run_status(
  p_run_id uuid,
  p_status pm_pipeline.run_status,
  p_message text,
  p_expected pm_pipeline.run_status default null,
  p_decision_reason pm_pipeline.decision_reason default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
begin
  -- every lock on a run is FOR NO KEY UPDATE: it serialises the run's writers but never blocks the
  -- foreign-key checks of rows that point at the run (a claim's heartbeat, an event, a company),
  -- which would otherwise deadlock with a worker that holds its task and waits for the run
  select * into v_run from pm_pipeline.runs where id = p_run_id for no key update;
  if v_run.id is null then
    raise exception 'run % does not exist', p_run_id using errcode = 'no_data_found';
  end if;
  if (p_expected is not null and v_run.status <> p_expected) or v_run.status = p_status then
    return false;
  end if;
  -- the trigger rejects moves that are not allowed, with a message that says which
  update pm_pipeline.runs
     set status = p_status,
         stage = case when p_status = 'completed' then 'done' else stage end,
         decision_reason = case when p_status = 'needs_user_decision' then coalesce(p_decision_reason, 'target_not_met') end,
         notes = coalesce(p_message, notes)
   where id = p_run_id;
  perform pm_pipeline.log_event(p_run_id, 'status_changed', coalesce(p_message, format('status %s -> %s', v_run.status, p_status)),
    jsonb_build_object('from', v_run.status, 'to', p_status));
  return true;
end
$$;

comment on function pm_pipeline.set_run_status(uuid, pm_pipeline.run_status, text, pm_pipeline.run_status, pm_pipeline.decision_reason) is 'Changes a run''s status if the move is allowed (and, with p_expected, only from that status); records the message as an event.';

-- A user decision resumes a run that waits for one: status back to active at the given stage.
create function pm_pipeline.resume_run(p_run_id uuid, p_stage pm_pipeline.run_stage, p_message text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_stage = 'done' then
    raise exception 'a resumed run cannot start at stage done' using errcode = 'invalid_parameter_value';
  end if;
  update pm_pipeline.runs set status = 'active', stage = p_stage, decision_reason = null, notes = coalesce(p_message, notes)
   where id = p_run_id and status = 'needs_user_decision';
  if not found then
    return false;
  end if;
  perform pm_pipeline.log_event(p_run_id, 'run_resumed', coalesce(p_message, format('resumed at %s', p_stage)),
    jsonb_build_object('stage', p_stage));
  return true;
end
$$;

comment on function pm_pipeline.resume_run(uuid, pm_pipeline.run_stage, text) is 'Resumes a run that needs a user decision (the only way a stage moves backwards).';

create function pm_pipeline.run_is_open(p_run_id uuid)
returns boolean
language sql
security definer
stable
set search_path = ''
as $$
  select coalesce((select status in ('active', 'needs_user_decision') from pm_pipeline.runs where id = p_run_id), false)
$$;

comment on function pm_pipeline.run_is_open(uuid) is 'True while a run may still change its companies and contacts (active or waiting for a decision).';
