-- Baseline: the whole schema pm_pipeline as declared in supabase/schemas/ on 2026-12-02, file after
-- file (nothing was deployed before it, so the twelve migrations written until then were squashed
-- into this one). Later changes are made in supabase/schemas/ and their migrations generated with
-- `npm run db:diff -- NAME`; `npm run db:check` (part of npm test) proves the two build the same
-- database. Read supabase/schemas/ rather than this file.

-- =============================================================================================
-- supabase/schemas/00_types_and_settings.sql
-- =============================================================================================
-- pm-leads' database contract, declared: every object of the schema pm_pipeline in its final form,
-- one file per concern, applied in file-name order (config.toml: [db.migrations] schema_paths).
-- Migrations are generated from these files (docs/schema.md); never edit a migration by hand.
--
-- This file: the schema, the types every other file uses, the settings row, and how domains are
-- normalised.

create schema if not exists pm_pipeline;

comment on schema pm_pipeline is 'pm-leads: lead-list runs, their companies and contacts, and the one task queue every worker uses.';

-- Settings: one row, typed, editable in Studio. Thresholds are much tighter than the old system's
-- 5 minutes because a lease must be renewed well inside an Edge Function's 150 s wall clock.

create table pm_pipeline.settings (
  id boolean primary key default true check (id),
  heartbeat_interval_seconds integer not null default 10 check (heartbeat_interval_seconds between 1 and 300),
  dead_worker_after_seconds integer not null default 30,
  stale_worker_purge_minutes integer not null default 60 check (stale_worker_purge_minutes >= 1),
  cron_history_retention interval not null default '7 days' check (cron_history_retention >= interval '1 hour'),
  history_retention interval not null default '30 days' check (history_retention >= interval '1 day'),
  updated_at timestamptz not null default now(),
  lead_list_batch_size integer not null default 10 check (lead_list_batch_size between 1 and 100),
  max_failed_discovery_batches integer not null default 3 check (max_failed_discovery_batches between 1 and 100),
  -- a worker is dead only after it missed at least two heartbeats
  constraint settings_dead_after_two_heartbeats check (dead_worker_after_seconds >= 2 * heartbeat_interval_seconds)
);
alter table pm_pipeline.settings enable row level security;

insert into pm_pipeline.settings default values;

comment on table pm_pipeline.settings is 'One row of pipeline settings: heartbeat interval, when a silent worker counts as dead, when stale worker rows are purged, how long pg_cron history and the pipeline''s history (finished tasks, events, usage, pg_net responses) are kept.';

comment on column pm_pipeline.settings.lead_list_batch_size is 'Companies asked for per discovery task (LEAD_LIST_BATCH_SIZE in the old system).';

comment on column pm_pipeline.settings.max_failed_discovery_batches is 'Discovery batches of a run that may fail for good (each after its retries) before discovery stops and the run asks for a decision.';

create type pm_pipeline.run_stage as enum ('company_discovery', 'company_research', 'contact_discovery', 'done');

create type pm_pipeline.run_status as enum ('active', 'needs_user_decision', 'completed', 'error', 'cancelled');

comment on type pm_pipeline.run_stage is 'A run''s stage, in pipeline order; it never moves backwards except when a user decision resumes the run.';

comment on type pm_pipeline.run_status is 'active -> needs_user_decision | completed | error | cancelled; needs_user_decision -> active (resume) | completed | error | cancelled.';

create type pm_pipeline.company_status as enum ('candidate', 'accepted', 'rejected', 'review');

comment on type pm_pipeline.company_status is 'candidate: found, not yet researched; accepted: qualifies; rejected: does not (reason kept); review: evidence too weak to accept automatically. Moves: company_status_move_allowed.';

-- Why a company is rejected or in review, as code reads it; companies.rejection_reason says it for people.
create type pm_pipeline.company_reason as enum (
  'disqualified', 'pms_not_checked', 'no_pms_evidence', 'other_pms', 'weak_pms_evidence', 'units_unknown',
  'units_out_of_range', 'too_few_contacts', 'task_failed');
comment on type pm_pipeline.company_reason is 'Why a company is rejected or in review: the research verdict (disqualified ... units_out_of_range, decided in shared/pipeline/qualify.ts), too_few_contacts (contact research), task_failed (its task failed for good).';

-- What a run that needs a user decision waits for; runs.notes says it for people.
create type pm_pipeline.decision_reason as enum ('target_not_met', 'budget_reached');
comment on type pm_pipeline.decision_reason is 'Why a run waits for a decision: target_not_met (nothing left in flight, fewer companies than asked for) or budget_reached (its next provider call would exceed its budget).';

create type pm_pipeline.email_class as enum ('published', 'pattern_inferred', 'generic_role', 'personal', 'unknown');

create type pm_pipeline.task_state as enum ('queued', 'running', 'succeeded', 'failed', 'cancelled');

comment on type pm_pipeline.task_state is 'queued -> running -> succeeded | failed, or back to queued for another attempt; cancelled when its run ends first. Moves: task_state_move_allowed.';

create function pm_pipeline.normalize_domain(p_value text)
returns text
language sql
security definer
immutable
parallel safe
set search_path = ''
as $$
  -- 'HTTPS://www.Example.com:443/path?q#f' -> 'example.com'; normalising twice changes nothing
  select nullif(
    regexp_replace(
      regexp_replace(
        regexp_replace(
          regexp_replace(lower(btrim(coalesce(p_value, ''))), '^[a-z][a-z0-9+.-]*://', ''),  -- scheme
          '^[^/?#@]*@', ''),                                                                      -- user info
        '[/?#:].*$', ''),                                                                         -- port, path, query
      '^(www\.)+|\.+$', '', 'g'),                                                                 -- www. and trailing dots
    '')
$$;

comment on function pm_pipeline.normalize_domain(text) is 'Lower-cases a URL or host and strips scheme, user info, port, path, www. and a trailing dot: the form every domain is stored in.';

-- =============================================================================================
-- supabase/schemas/01_runs.sql
-- =============================================================================================
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
  created_at timestamptz not null default now()
);
alter table pm_pipeline.events enable row level security;

create index events_run on pm_pipeline.events (run_id, id);

comment on table pm_pipeline.events is 'Append-only log of what happened to runs and tasks (stage changes, permanent task failures, decisions), newest last.';

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

-- =============================================================================================
-- supabase/schemas/02_queue.sql
-- =============================================================================================
-- The one task queue every worker kind uses.
--
-- A task is queued -> running (claimed: a lease token and expiry are minted) -> succeeded | failed,
-- or back to queued for another attempt. Every call that acts on a claimed task carries the lease
-- token and does nothing when the token is stale or the lease has expired: a zombie worker that
-- finishes after its lease was taken can write nothing (the old system had no such fence).
--
-- Claims are fair across runs (start-time fair queueing): each task gets a fair_tag when it is
-- enqueued, one past the run's previous task of that kind but never below the tag at the head of
-- the queue, and claims take the lowest tags first. So the tasks of concurrent runs interleave,
-- and a run that enqueues 1,000 tasks does not delay a run that enqueues 5 after it.

create table pm_pipeline.task_kinds (
  kind text primary key check (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
  description text not null,
  max_attempts integer not null default 5 check (max_attempts between 1 and 100),
  lease_seconds integer not null default 30 check (lease_seconds between 1 and 3600),
  backoff_base_seconds numeric not null default 2 check (backoff_base_seconds > 0),
  backoff_max_seconds numeric not null default 300,
  concurrency integer not null default 4 check (concurrency between 0 and 1000),
  function_name text check (function_name ~ '^[a-z][a-z0-9-]*$'),
  constraint task_kinds_backoff_range check (backoff_max_seconds >= backoff_base_seconds)
);
alter table pm_pipeline.task_kinds enable row level security;

comment on table pm_pipeline.task_kinds is 'Per worker kind: attempts before a task fails for good, lease length (renewed by heartbeats), retry backoff and how many workers may run at once.';

comment on column pm_pipeline.task_kinds.function_name is 'The Edge Function that works this kind; dispatch_workers invokes it when tasks are waiting.';

insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds, backoff_base_seconds, backoff_max_seconds, concurrency, function_name) values
  ('lead_list', 'Discovers a batch of candidate companies for a run.', 5, 30, 2, 300, 2, 'lead-list'),
  ('company_research', 'Researches one company: PMS with evidence, units, fit.', 5, 30, 2, 300, 4, 'company-research'),
  ('contact_research', 'Finds the decision makers of one accepted company.', 5, 30, 2, 300, 4, 'contact-research');

create table pm_pipeline.tasks (
  id bigint generated always as identity primary key,
  kind text not null references pm_pipeline.task_kinds (kind),
  run_id uuid references pm_pipeline.runs (id) on delete cascade,
  key text check (length(key) between 1 and 500),
  payload jsonb not null default '{}',
  state pm_pipeline.task_state not null default 'queued',
  fair_tag bigint not null,
  run_after timestamptz not null default now(),
  attempts integer not null default 0,
  max_attempts integer not null check (max_attempts between 1 and 100),
  lease_token uuid,
  lease_expires_at timestamptz,
  locked_by text,
  locked_at timestamptz,
  last_error text,
  last_error_kind text,
  errors jsonb not null default '[]',
  checkpoint jsonb not null default '{}',
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  budget_reserved_usd numeric(12, 6) not null default 0 check (budget_reserved_usd >= 0),
  constraint tasks_running_has_lease check ((state = 'running') = (lease_token is not null and lease_expires_at is not null)),
  constraint tasks_attempts_bounded check (attempts between 0 and max_attempts)
);
alter table pm_pipeline.tasks enable row level security;

create unique index tasks_kind_key on pm_pipeline.tasks (kind, key) where key is not null;

create index tasks_claimable on pm_pipeline.tasks (kind, fair_tag, id) where state = 'queued';

create index tasks_leased on pm_pipeline.tasks (lease_expires_at) where state = 'running';

create index tasks_run on pm_pipeline.tasks (run_id, kind, fair_tag);

-- every claim and completion leaves a dead row version (state is in the partial indexes): vacuum
-- the queue after a fixed number of them, not after a fraction of an ever larger table
alter table pm_pipeline.tasks set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000);

comment on table pm_pipeline.tasks is 'The task queue of all workers. Claim with claim_tasks; heartbeat, complete, fail and release with the lease token the claim returned.';

comment on column pm_pipeline.tasks.key is 'Idempotency key, unique per kind: enqueueing the same key again returns the existing task.';

comment on column pm_pipeline.tasks.fair_tag is 'Start tag for fair queueing across runs: claims take the lowest first.';

comment on column pm_pipeline.tasks.errors is 'Every failed attempt: [{attempt, worker, at, error, kind, retryable, counted}].';

comment on column pm_pipeline.tasks.last_error_kind is 'How the last attempt ended, as the worker classified it (auth, quota, invalid_input, invalid_output, rate_limit, server, timeout, error) or released / lease_expired.';

comment on column pm_pipeline.tasks.checkpoint is 'What an attempt already has in hand (a paid provider answer), saved under the lease so that the next attempt does not pay for it again.';

comment on column pm_pipeline.tasks.budget_reserved_usd is 'What a running task reserved of its run''s budget for its next provider call (reserve_budget); cleared when the call''s usage is recorded.';

-- The task state machine. Every writer (claim_tasks, complete_tasks, settle_attempts, defer_task,
-- end_queued_tasks_of_run) moves tasks only along these edges; a trigger refuses any other move,
-- whoever makes it.
create function pm_pipeline.task_state_move_allowed(p_from pm_pipeline.task_state, p_to pm_pipeline.task_state)
returns boolean
language sql
immutable
security definer
set search_path = ''
as $$
  select p_from = p_to or (p_from, p_to) in (
    ('queued', 'running'),       -- claimed
    ('queued', 'cancelled'),     -- its run ended
    ('running', 'succeeded'),    -- completed under its lease
    ('running', 'queued'),       -- retried, released, deferred, or its lease expired
    ('running', 'failed'),       -- out of attempts, or a permanent error
    ('running', 'cancelled'))    -- its run ended while it ran
$$;
comment on function pm_pipeline.task_state_move_allowed(pm_pipeline.task_state, pm_pipeline.task_state) is 'The allowed task state moves; succeeded, failed and cancelled are final.';

create function pm_pipeline.guard_task_transition()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not pm_pipeline.task_state_move_allowed(old.state, new.state) then
    raise exception 'task %: state cannot move from % to %', old.id, old.state, new.state
      using errcode = 'check_violation', hint = 'succeeded, failed and cancelled are final';
  end if;
  return new;
end
$$;
comment on function pm_pipeline.guard_task_transition() is 'Trigger: rejects task state moves that task_state_move_allowed does not list.';

create trigger tasks_guard_transition
  before update of state on pm_pipeline.tasks
  for each row when (old.state is distinct from new.state)
  execute function pm_pipeline.guard_task_transition();

-- A run that ends (completed, error, cancelled) hands out no more work: its queued tasks are
-- cancelled in the same transaction. Running ones finish, and their results are refused or kept
-- as the pipeline decides (run_is_open).
create function pm_pipeline.end_queued_tasks_of_run()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update pm_pipeline.tasks set state = 'cancelled', finished_at = now(), updated_at = now()
   where run_id = new.id and state = 'queued';
  return null;
end
$$;
comment on function pm_pipeline.end_queued_tasks_of_run() is 'Trigger: cancels the queued tasks of a run that has just ended.';

create trigger runs_end_queued_tasks
  after update of status on pm_pipeline.runs
  for each row when (new.status in ('completed', 'error', 'cancelled') and old.status is distinct from new.status)
  execute function pm_pipeline.end_queued_tasks_of_run();

-- Exponential backoff with jitter, in SQL: half of min(cap, base * 2^(attempt-1)) for sure, the
-- other half at random ("equal jitter"), so a retry is never immediate yet retries spread out.
create function pm_pipeline.retry_delay(p_kind text, p_attempt integer)
returns interval
language sql
security definer
volatile
set search_path = ''
as $$
  select make_interval(secs => d / 2 + random() * d / 2)
    from (select least(k.backoff_max_seconds, k.backoff_base_seconds * 2 ^ greatest(p_attempt - 1, 0))::float8 as d
            from pm_pipeline.task_kinds k where k.kind = p_kind) s
$$;

comment on function pm_pipeline.retry_delay(text, integer) is 'Backoff before the next attempt of a task of this kind after attempt p_attempt failed: between d/2 and d, d = min(cap, base * 2^(attempt-1)).';

-- Enqueues tasks of one kind for one run (or none). p_items: [{"key": ..., "payload": {...},
-- "delay_seconds": n}], every field optional. Returns the tasks: new ones, and the existing task
-- for every key that was enqueued before. Enqueueing for a run that has ended adds nothing.
create function pm_pipeline.enqueue_tasks(p_kind text, p_run_id uuid, p_items jsonb)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kind pm_pipeline.task_kinds;
  v_run_status pm_pipeline.run_status;
  v_head bigint;
  v_run_last bigint;
begin
  select * into v_kind from pm_pipeline.task_kinds where kind = p_kind;
  if v_kind.kind is null then
    raise exception 'unknown task kind "%"', p_kind using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_items) is distinct from 'array' then
    raise exception 'p_items must be a JSON array of {key, payload, delay_seconds}' using errcode = 'invalid_parameter_value';
  end if;
  if p_run_id is not null then
    -- share lock: a concurrent set_run_status('cancelled') either sees our tasks or we see its status
    select status into v_run_status from pm_pipeline.runs where id = p_run_id for share;
    if v_run_status is null then
      raise exception 'run % does not exist', p_run_id using errcode = 'foreign_key_violation';
    end if;
    if v_run_status in ('completed', 'error', 'cancelled') then
      return;
    end if;
  end if;

  -- fair tags: never below the head of this kind's queue, always after this run's last task
  select t.fair_tag into v_head from pm_pipeline.tasks t
   where t.kind = p_kind and t.state = 'queued' order by t.fair_tag, t.id limit 1;
  if p_run_id is null then
    select max(t.fair_tag) into v_run_last from pm_pipeline.tasks t where t.run_id is null and t.kind = p_kind;
  else
    select max(t.fair_tag) into v_run_last from pm_pipeline.tasks t where t.run_id = p_run_id and t.kind = p_kind;
  end if;

  return query
  with items as (
    select i.ord,
           i.item->>'key' as key,
           coalesce(i.item->'payload', '{}') as payload,
           coalesce((i.item->>'delay_seconds')::float8, 0) as delay_seconds
      from jsonb_array_elements(p_items) with ordinality as i(item, ord)
  ),
  inserted as (
    insert into pm_pipeline.tasks (kind, run_id, key, payload, fair_tag, run_after, max_attempts)
    select p_kind, p_run_id, items.key, items.payload,
           greatest(coalesce(v_head, 0), coalesce(v_run_last, 0) + 1) + items.ord - 1,
           now() + make_interval(secs => items.delay_seconds),
           v_kind.max_attempts
      from items
     order by items.ord
    on conflict (kind, key) where key is not null do nothing
    returning *
  )
  select * from inserted
  union all
  select t.* from pm_pipeline.tasks t
   where t.kind = p_kind
     and t.key in (select items.key from items)
     and not exists (select from inserted where inserted.key = t.key);
end
$$;

comment on function pm_pipeline.enqueue_tasks(text, uuid, jsonb) is 'Enqueues tasks of one kind: [{key, payload, delay_seconds}]; idempotent by key (returns the existing task); nothing for a run that has ended.';

create function pm_pipeline.enqueue_task(p_kind text, p_run_id uuid, p_payload jsonb default '{}', p_key text default null, p_delay_seconds float8 default 0)
returns pm_pipeline.tasks
language sql
security definer
set search_path = ''
as $$
  select * from pm_pipeline.enqueue_tasks(p_kind, p_run_id,
    jsonb_build_array(jsonb_build_object('key', p_key, 'payload', coalesce(p_payload, '{}'), 'delay_seconds', p_delay_seconds)));
$$;

comment on function pm_pipeline.enqueue_task(text, uuid, jsonb, text, float8) is 'Enqueues one task (see enqueue_tasks); with a key seen before, returns that task.';

-- Every attempt that did not succeed (failed, released, expired, orphaned) is settled here: back
-- to queued (after a backoff, at least p_min_delay) while attempts remain and the error is retryable, else
-- failed for good with the reason and its kind kept, logged, and handed to the pipeline
-- (handle_failed_task: the company or the run learns why). A task whose run has ended meanwhile
-- is cancelled, not queued again. An attempt that was not really tried (p_count_attempt false: cut
-- short by the time budget or a shutdown) does not count, up to max_attempts such releases: a task
-- that always outlives its worker still ends failed, not in a loop. Callers lock and check the rows.
create function pm_pipeline.settle_attempts(
  p_task_ids bigint[],
  p_error text,
  p_retryable boolean,
  p_backoff boolean,
  p_min_delay interval default interval '0',
  p_error_kind text default null,
  p_count_attempt boolean default true)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids bigint[];
  v_failed bigint[];
begin
  with settled as (
    update pm_pipeline.tasks t
       set state = s.next_state,
           attempts = case when s.uncounted then t.attempts - 1 else t.attempts end,
           run_after = case when s.next_state = 'queued'
                            then now() + greatest(p_min_delay,
                                   case when p_backoff then pm_pipeline.retry_delay(t.kind, t.attempts) else interval '0' end)
                            else t.run_after end,
           last_error = left(p_error, 2000),
           last_error_kind = p_error_kind,
           errors = t.errors || jsonb_build_array(jsonb_build_object(
             'attempt', t.attempts, 'worker', t.locked_by, 'at', now(), 'error', left(p_error, 2000),
             'kind', p_error_kind, 'retryable', p_retryable, 'counted', not s.uncounted)),
           lease_token = null,
           lease_expires_at = null,
           finished_at = case when s.next_state in ('failed', 'cancelled') then now() end,
           updated_at = now()
      from (select x.id, u.uncounted,
                   (case when r.status in ('completed', 'error', 'cancelled') then 'cancelled'
                         when p_retryable and (x.attempts < x.max_attempts or u.uncounted) then 'queued'
                         else 'failed' end)::pm_pipeline.task_state as next_state
              from pm_pipeline.tasks x
              left join pm_pipeline.runs r on r.id = x.run_id
             cross join lateral (
               select not p_count_attempt
                      and (select count(*) from jsonb_array_elements(x.errors) e where e->>'counted' = 'false') < x.max_attempts
                      as uncounted) u
             where x.id = any(p_task_ids) and x.state = 'running') s
     where t.id = s.id
    returning t.*
  ),
  logged as (
    insert into pm_pipeline.events (run_id, task_id, kind, message, data)
    select f.run_id, f.id, 'task_failed',
           format('%s task %s failed after %s attempt(s): %s', f.kind, f.id, f.attempts, f.last_error),
           jsonb_build_object('kind', f.kind, 'attempts', f.attempts, 'error', f.last_error, 'error_kind', f.last_error_kind,
                              'payload', f.payload)
      from settled f where f.state = 'failed'
  )
  select array_agg(s.id), array_agg(s.id) filter (where s.state = 'failed' and s.run_id is not null)
    into v_ids, v_failed
    from settled s;

  perform pm_pipeline.handle_failed_task(f) from unnest(v_failed) f;
  return query select * from pm_pipeline.tasks t where t.id = any(v_ids);
end
$$;

comment on function pm_pipeline.settle_attempts(bigint[], text, boolean, boolean, interval, text, boolean) is 'Internal: ends the current attempt of running tasks with an error; requeues with backoff or fails for good when attempts are exhausted or the error is not retryable; an attempt not really tried may go uncounted.';

-- Re-queues tasks whose lease expired (their worker stopped heartbeating). Idempotent; run by
-- every claim (for its kinds) and by pg_cron (for all kinds).
create function pm_pipeline.requeue_expired_leases(p_kinds text[] default null)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids bigint[];
begin
  select array_agg(id) into v_ids from (
    select t.id from pm_pipeline.tasks t
     where t.state = 'running' and t.lease_expires_at <= now()
       and (p_kinds is null or t.kind = any(p_kinds))
     order by t.lease_expires_at
     limit 1000
       for update skip locked) expired;
  if v_ids is null then
    return;
  end if;
  return query select * from pm_pipeline.settle_attempts(v_ids, 'lease expired: the worker stopped heartbeating', true, false,
    interval '0', 'lease_expired');
end
$$;

comment on function pm_pipeline.requeue_expired_leases(text[]) is 'Ends attempts whose lease expired: back to queued at once, or failed when out of attempts.';

-- Claims up to p_limit ready tasks of the given kinds for a worker: FOR UPDATE SKIP LOCKED, so
-- concurrent claimers never get the same task; each claimed task gets a fresh lease token. The
-- claim also re-queues expired leases of these kinds and records the worker's heartbeat. A worker
-- that was stopped (stop_worker) claims nothing.
create function pm_pipeline.claim_tasks(p_worker_id text, p_kinds text[], p_limit integer default 1)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_worker_id is null or length(p_worker_id) not between 1 and 200 then
    raise exception 'worker id must be 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_kinds is null or cardinality(p_kinds) = 0 then
    raise exception 'name at least one task kind to claim' using errcode = 'invalid_parameter_value';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'claim limit % must be 1 to 1000', p_limit using errcode = 'invalid_parameter_value';
  end if;
  if exists (select from pm_pipeline.worker_heartbeats w where w.worker_id = p_worker_id and w.status = 'stopped') then
    return;
  end if;

  if exists (select from pm_pipeline.tasks t
              where t.state = 'running' and t.lease_expires_at <= now() and t.kind = any(p_kinds)) then
    perform pm_pipeline.requeue_expired_leases(p_kinds);
  end if;

  return query
  with picked as (
    -- one ordered index scan per kind (kind = any(...) would read and sort every queued row)
    select c.id from unnest(p_kinds) as k(kind)
    cross join lateral (
      select t.id, t.fair_tag from pm_pipeline.tasks t
       where t.state = 'queued' and t.kind = k.kind and t.run_after <= now()
         -- a run that waits for a user decision (or has ended) hands out no work
         and (t.run_id is null or exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status = 'active'))
       order by t.fair_tag, t.id
       limit p_limit
         for update skip locked) c
    order by c.fair_tag, c.id
    limit p_limit
  ),
  claimed as (
    update pm_pipeline.tasks t
       set state = 'running',
           attempts = t.attempts + 1,
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => k.lease_seconds),
           locked_by = p_worker_id,
           locked_at = now(),
           updated_at = now()
      from picked, pm_pipeline.task_kinds k
     where t.id = picked.id and k.kind = t.kind
    returning t.*
  ),
  heartbeat as (
    insert into pm_pipeline.worker_heartbeats as w
           (worker_id, worker_type, status, current_run_id, current_task, lease_expires_at, last_heartbeat_at)
    select p_worker_id, p_kinds[1], 'processing', (array_agg(c.run_id order by c.id))[1],
           format('%s #%s', min(c.kind), min(c.id)) || case when count(*) > 1 then format(' (+%s more)', count(*) - 1) else '' end,
           max(c.lease_expires_at), now()
      from claimed c
    having count(*) > 0
    on conflict (worker_id) do update
       set status = 'processing', current_run_id = excluded.current_run_id, current_task = excluded.current_task,
           lease_expires_at = excluded.lease_expires_at, last_heartbeat_at = now()
     -- a worker claiming many short tasks writes its row at most once a second, not once a claim
     where w.status <> 'processing' or w.last_heartbeat_at < now() - interval '1 second'
  )
  select * from claimed c order by c.fair_tag, c.id;
end
$$;

comment on function pm_pipeline.claim_tasks(text, text[], integer) is 'Claims up to p_limit ready tasks (lowest fair_tag first) with SKIP LOCKED; each gets a lease token and expiry. Re-queues expired leases first.';

-- Renews the lease of a claimed task and the worker's heartbeat. Returns the new expiry, or null
-- when the lease is lost (stale token, expired, or the task ended): the worker must then abort.
create function pm_pipeline.heartbeat_task(p_task_id bigint, p_lease_token uuid)
returns timestamptz
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_expires timestamptz;
  v_worker text;
begin
  update pm_pipeline.tasks t
     set lease_expires_at = now() + make_interval(secs => k.lease_seconds), updated_at = now()
    from pm_pipeline.task_kinds k
   where t.id = p_task_id and t.lease_token = p_lease_token and t.state = 'running'
     and t.lease_expires_at > now() and k.kind = t.kind
  returning t.lease_expires_at, t.locked_by into v_expires, v_worker;
  if v_expires is not null then
    update pm_pipeline.worker_heartbeats
       set last_heartbeat_at = now(), lease_expires_at = v_expires,
           status = case when status = 'dead' then 'processing' else status end
     where worker_id = v_worker;
  end if;
  return v_expires;
end
$$;

comment on function pm_pipeline.heartbeat_task(bigint, uuid) is 'Extends a claimed task''s lease by its kind''s lease_seconds; null when the lease is lost.';

-- Completes claimed tasks, each with its token; stale tokens and expired leases are skipped.
-- Returns the ids that were completed. Callers that write results call this first, in the same
-- transaction, and write only when their task is in the answer.
create function pm_pipeline.complete_tasks(p_task_ids bigint[], p_lease_tokens uuid[], p_results jsonb[] default null)
returns setof bigint
language sql
security definer
set search_path = ''
as $$
  update pm_pipeline.tasks t
     set state = 'succeeded', result = r.result, lease_token = null, lease_expires_at = null,
         finished_at = now(), updated_at = now()
    from unnest(p_task_ids, p_lease_tokens, coalesce(p_results, '{}'::jsonb[])) as r(id, token, result)
   where t.id = r.id and t.lease_token = r.token and t.state = 'running' and t.lease_expires_at > now()
  returning t.id;
$$;

comment on function pm_pipeline.complete_tasks(bigint[], uuid[], jsonb[]) is 'Batch completion: marks each task succeeded if its lease token is current; returns the ids completed.';

create function pm_pipeline.complete_task(p_task_id bigint, p_lease_token uuid, p_result jsonb default null)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select exists (select from pm_pipeline.complete_tasks(array[p_task_id], array[p_lease_token], array[p_result]));
$$;

comment on function pm_pipeline.complete_task(bigint, uuid, jsonb) is 'Marks a claimed task succeeded (with its result) if the lease token is current; false for a stale token.';

-- Locks a claimed task for the rest of the transaction if the token is current, else returns null.
create function pm_pipeline.lock_lease(p_task_id bigint, p_lease_token uuid)
returns pm_pipeline.tasks
language sql
security definer
set search_path = ''
as $$
  select * from pm_pipeline.tasks t
   where t.id = p_task_id and t.lease_token = p_lease_token and t.state = 'running' and t.lease_expires_at > now()
     for update;
$$;

comment on function pm_pipeline.lock_lease(bigint, uuid) is 'Returns and locks the task when the lease token is current (null otherwise): fences a worker''s writes in the same transaction.';

-- Returns and locks the task when the lease is current, else raises PM001 (lease lost).
create function pm_pipeline.require_lease(p_task_id bigint, p_lease_token uuid)
returns pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.lock_lease(p_task_id, p_lease_token);
begin
  if v_task.id is null then
    raise exception 'lease lost: task % is no longer held with this token', p_task_id
      using errcode = 'PM001', hint = 'another worker may own the task now; drop this result';
  end if;
  return v_task;
end
$$;

comment on function pm_pipeline.require_lease(bigint, uuid) is 'Locks the task if the lease token is current, else raises PM001 so the caller''s transaction writes nothing.';

-- Fails the current attempt. Retryable errors go back to the queue after a backoff (at least
-- p_retry_after_seconds, for a server that said when); others, and the last attempt, fail for good.
-- p_error_kind is the worker's classification (auth, quota, ...): the pipeline acts on it.
-- Returns the task's new state, or null when the lease was lost (nothing changes).
create function pm_pipeline.fail_task(
  p_task_id bigint,
  p_lease_token uuid,
  p_error text,
  p_retryable boolean default true,
  p_retry_after_seconds float8 default null,
  p_error_kind text default null)
returns pm_pipeline.task_state
language plpgsql
security definer
set search_path = ''
as $$
begin
  if pm_pipeline.lock_lease(p_task_id, p_lease_token) is null then
    return null;
  end if;
  return (select s.state from pm_pipeline.settle_attempts(array[p_task_id], coalesce(p_error, 'unknown error'),
    coalesce(p_retryable, true), true, make_interval(secs => greatest(coalesce(p_retry_after_seconds, 0), 0)), p_error_kind) s);
end
$$;

comment on function pm_pipeline.fail_task(bigint, uuid, text, boolean, float8, text) is 'Ends a claimed task''s attempt with a classified error: retry after backoff, or failed for good. Null for a stale token.';

-- Gives a claimed task back (a worker out of time or shutting down): queued again at once. The
-- attempt was not really tried, so it does not count (up to max_attempts such releases, see
-- settle_attempts); what the attempt already had in hand stays in the task's checkpoint.
create function pm_pipeline.release_task(p_task_id bigint, p_lease_token uuid, p_reason text default 'released by worker')
returns pm_pipeline.task_state
language plpgsql
security definer
set search_path = ''
as $$
begin
  if pm_pipeline.lock_lease(p_task_id, p_lease_token) is null then
    return null;
  end if;
  return (select s.state from pm_pipeline.settle_attempts(array[p_task_id], coalesce(p_reason, 'released by worker'), true, false,
    interval '0', 'released', false) s);
end
$$;

comment on function pm_pipeline.release_task(bigint, uuid, text) is 'Gives a claimed task back to the queue at once (fenced by the token); the attempt does not count, up to max_attempts releases.';

-- Gives a claimed task back without counting the attempt: the work was not tried (its run is
-- waiting for a decision). Fenced by the token.
create function pm_pipeline.defer_task(p_task_id bigint, p_lease_token uuid, p_reason text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if pm_pipeline.lock_lease(p_task_id, p_lease_token) is null then
    return false;
  end if;
  update pm_pipeline.tasks
     set state = 'queued', attempts = attempts - 1, lease_token = null, lease_expires_at = null, budget_reserved_usd = 0,
         run_after = now(), last_error = p_reason, updated_at = now()
   where id = p_task_id;
  return true;
end
$$;

comment on function pm_pipeline.defer_task(bigint, uuid, text) is 'Returns a claimed task to the queue without counting its attempt (its run is paused).';

-- Saves what an attempt has in hand (a paid provider answer) under the lease: a later attempt of
-- the same task starts from it instead of paying again. Merged by name; false for a stale token.
create function pm_pipeline.save_checkpoint(p_task_id bigint, p_lease_token uuid, p_name text, p_value jsonb)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if pm_pipeline.lock_lease(p_task_id, p_lease_token) is null then
    return false;
  end if;
  update pm_pipeline.tasks set checkpoint = checkpoint || jsonb_build_object(p_name, p_value), updated_at = now()
   where id = p_task_id;
  return true;
end
$$;

comment on function pm_pipeline.save_checkpoint(bigint, uuid, text, jsonb) is 'Fenced: keeps a named result of the current attempt (e.g. the provider''s answer) for the task''s later attempts.';

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_queue_stats
with (security_invoker = false)
as
select k.kind,
       count(t.id) filter (where t.state = 'queued' and t.run_after <= now()) as ready,
       count(t.id) filter (where t.state = 'queued' and t.run_after > now()) as waiting_backoff,
       count(t.id) filter (where t.state = 'running') as running,
       count(t.id) filter (where t.state = 'succeeded') as succeeded,
       count(t.id) filter (where t.state = 'failed') as failed,
       count(t.id) filter (where t.state = 'cancelled') as cancelled,
       min(t.run_after) filter (where t.state = 'queued' and t.run_after <= now()) as oldest_ready_since
  from pm_pipeline.task_kinds k
  left join pm_pipeline.tasks t on t.kind = k.kind
 group by k.kind;

comment on view pm_pipeline.v_queue_stats is 'Tasks per kind and state: ready, waiting out a backoff, running, succeeded, failed, cancelled.';

-- =============================================================================================
-- supabase/schemas/03_workers_and_dispatch.sql
-- =============================================================================================
-- Workers: liveness with the names users of the old system query by hand (its Phase 2 report):
-- worker_heartbeats, v_active_workers, v_dead_workers, upsert_worker_heartbeat, stop_worker,
-- get_worker_stats(), cleanup_stale_workers(minutes), release_dead_worker_leases(). Unlike the old
-- ones, these work: a dead worker's tasks go back to the queue, fenced and counted.
--
-- Dispatch: inserting ready tasks wakes workers of their kind (pg_net on hosted Supabase, NOTIFY
-- for the local functions host), up to the kind's concurrency; pg_cron is the safety net.

create table pm_pipeline.worker_heartbeats (
  worker_id text primary key check (length(worker_id) between 1 and 200),
  worker_type text not null,
  last_heartbeat_at timestamptz not null default now(),
  status text not null default 'active' check (status in ('active', 'idle', 'processing', 'stopped', 'dead')),
  current_run_id uuid references pm_pipeline.runs (id) on delete set null,
  current_task text,
  lease_expires_at timestamptz,
  started_at timestamptz not null default now(),
  stopped_at timestamptz,
  metadata jsonb not null default '{}'
);
alter table pm_pipeline.worker_heartbeats enable row level security;

comment on table pm_pipeline.worker_heartbeats is 'One row per worker: its last heartbeat, status (active, idle, processing, stopped, dead), current run and task, lease expiry. Same names as the old system''s Phase 2 table.';

create function pm_pipeline.dead_worker_after()
returns interval
language sql
security definer
stable
set search_path = ''
as $$
  select make_interval(secs => s.dead_worker_after_seconds) from pm_pipeline.settings s
$$;

comment on function pm_pipeline.dead_worker_after() is 'How long a worker may stay silent before it counts as dead (settings.dead_worker_after_seconds).';

create view pm_pipeline.v_active_workers
with (security_invoker = true)
as
select w.worker_id, w.worker_type, w.status, w.last_heartbeat_at,
       round(extract(epoch from now() - w.last_heartbeat_at)::numeric, 1) as seconds_since_heartbeat,
       w.current_run_id, w.current_task, w.lease_expires_at, w.started_at, w.metadata
  from pm_pipeline.worker_heartbeats w
 where w.status not in ('stopped', 'dead')
   and w.last_heartbeat_at >= now() - pm_pipeline.dead_worker_after()
 order by w.worker_type, w.worker_id;

comment on view pm_pipeline.v_active_workers is 'Workers that heartbeated within settings.dead_worker_after_seconds and were not stopped.';

create view pm_pipeline.v_dead_workers
with (security_invoker = true)
as
select w.worker_id, w.worker_type, w.status, w.last_heartbeat_at,
       round(extract(epoch from now() - w.last_heartbeat_at)::numeric, 1) as seconds_since_heartbeat,
       w.current_run_id, w.current_task, w.lease_expires_at, w.started_at, w.metadata,
       (select count(*) from pm_pipeline.tasks t where t.state = 'running' and t.locked_by = w.worker_id) as leases_held
  from pm_pipeline.worker_heartbeats w
 where w.status = 'dead'
    or (w.status <> 'stopped' and w.last_heartbeat_at < now() - pm_pipeline.dead_worker_after())
 order by w.last_heartbeat_at;

comment on view pm_pipeline.v_dead_workers is 'Workers that went silent without stopping (or were marked dead), with the leases they still hold.';

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_workers
with (security_invoker = false)
as
select w.worker_id, w.worker_type, w.status,
       w.status not in ('stopped', 'dead') and w.last_heartbeat_at >= now() - pm_pipeline.dead_worker_after() as alive,
       w.last_heartbeat_at,
       round(extract(epoch from now() - w.last_heartbeat_at)::numeric, 1) as seconds_since_heartbeat,
       w.started_at, w.stopped_at,
       (select jsonb_build_object('id', t.id::text, 'kind', t.kind, 'run_id', t.run_id, 'lease_expires_at', t.lease_expires_at)
          from pm_pipeline.tasks t where t.state = 'running' and t.locked_by = w.worker_id
         order by t.locked_at desc limit 1) as current_task
  from pm_pipeline.worker_heartbeats w;

comment on view pm_pipeline.v_workers is 'Every known worker with whether it is alive and the task it holds now (GET /workers).';

create function pm_pipeline.upsert_worker_heartbeat(
  p_worker_id text,
  p_worker_type text,
  p_status text default 'active',
  p_current_run_id uuid default null,
  p_current_task text default null,
  p_lease_expires_at timestamptz default null,
  p_metadata jsonb default null)
returns pm_pipeline.worker_heartbeats
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row pm_pipeline.worker_heartbeats;
begin
  if p_status is null or p_status not in ('active', 'idle', 'processing') then
    raise exception 'heartbeat status must be active, idle or processing (got %); use stop_worker to stop', p_status
      using errcode = 'invalid_parameter_value';
  end if;
  insert into pm_pipeline.worker_heartbeats as w
         (worker_id, worker_type, status, current_run_id, current_task, lease_expires_at, metadata, last_heartbeat_at, started_at)
  values (p_worker_id, p_worker_type, p_status, p_current_run_id, p_current_task, p_lease_expires_at, coalesce(p_metadata, '{}'), now(), now())
  on conflict (worker_id) do update
     set worker_type = excluded.worker_type,
         status = excluded.status,
         current_run_id = excluded.current_run_id,
         current_task = excluded.current_task,
         lease_expires_at = excluded.lease_expires_at,
         metadata = case when p_metadata is null then w.metadata else excluded.metadata end,
         last_heartbeat_at = now(),
         -- a worker id that was stopped or dead and heartbeats again is a new life
         started_at = case when w.status in ('stopped', 'dead') then now() else w.started_at end,
         stopped_at = null
  returning * into v_row;
  return v_row;
end
$$;

comment on function pm_pipeline.upsert_worker_heartbeat(text, text, text, uuid, text, timestamptz, jsonb) is 'Registers a worker or records its heartbeat (status active, idle or processing).';

-- Stops a worker: it claims nothing more, and the leases it still holds go back to the queue.
create function pm_pipeline.stop_worker(p_worker_id text, p_reason text default 'worker stopped')
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids bigint[];
begin
  -- a row even for an id never seen: a stopped id must not start claiming later
  insert into pm_pipeline.worker_heartbeats as w (worker_id, worker_type, status, stopped_at)
  values (p_worker_id, 'unknown', 'stopped', now())
  on conflict (worker_id) do update
     set status = 'stopped', stopped_at = now(), current_task = null, current_run_id = null, lease_expires_at = null;
  select array_agg(x.id) into v_ids from (
    select t.id from pm_pipeline.tasks t
     where t.state = 'running' and t.locked_by = p_worker_id
       for update) x;
  if v_ids is null then
    return 0;
  end if;
  return (select count(*) from pm_pipeline.settle_attempts(v_ids, p_reason, true, false, interval '0', 'released', false));
end
$$;

comment on function pm_pipeline.stop_worker(text, text) is 'Marks a worker stopped (it can claim no more) and returns the number of leases it held that went back to the queue.';

create function pm_pipeline.get_worker_stats()
returns table (worker_type text, total bigint, active bigint, idle bigint, processing bigint, dead bigint, stopped bigint)
language sql
security definer
stable
set search_path = ''
as $$
  select w.worker_type,
         count(*),
         count(*) filter (where w.status = 'active' and not s.silent),
         count(*) filter (where w.status = 'idle' and not s.silent),
         count(*) filter (where w.status = 'processing' and not s.silent),
         count(*) filter (where w.status = 'dead' or (w.status <> 'stopped' and s.silent)),
         count(*) filter (where w.status = 'stopped')
    from pm_pipeline.worker_heartbeats w
   cross join lateral (select w.last_heartbeat_at < now() - pm_pipeline.dead_worker_after() as silent) s
   group by w.worker_type
   order by w.worker_type
$$;

comment on function pm_pipeline.get_worker_stats() is 'Per worker type: total workers, and how many are active, idle, processing, dead and stopped.';

-- Releases the leases of dead workers (silent longer than settings.dead_worker_after_seconds) and
-- of any task whose lease expired, and marks those workers dead. Idempotent; pg_cron runs it.
create function pm_pipeline.release_dead_worker_leases()
returns table (task_id bigint, kind text, run_id uuid, worker_id text, new_state pm_pipeline.task_state, reason text)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids bigint[];
begin
  update pm_pipeline.worker_heartbeats w
     set status = 'dead'
   where w.status not in ('stopped', 'dead')
     and w.last_heartbeat_at < now() - pm_pipeline.dead_worker_after();

  return query
  select t.id, t.kind, t.run_id, t.errors -> -1 ->> 'worker', t.state, t.last_error
    from pm_pipeline.requeue_expired_leases() t;

  select array_agg(t.id) into v_ids from (
    select x.id from pm_pipeline.tasks x
      join pm_pipeline.worker_heartbeats w on w.worker_id = x.locked_by
     where x.state = 'running' and w.status in ('dead', 'stopped')
       for update of x skip locked) t;
  if v_ids is not null then
    return query
    select t.id, t.kind, t.run_id, t.errors -> -1 ->> 'worker', t.state, t.last_error
      from pm_pipeline.settle_attempts(v_ids, 'worker died: no heartbeat within the dead-worker threshold', true, false,
        interval '0', 'worker_died') t;
  end if;
end
$$;

comment on function pm_pipeline.release_dead_worker_leases() is 'Marks silent workers dead and puts their tasks (and every task with an expired lease) back in the queue, or fails them when out of attempts. Returns what it released.';

-- Deletes worker rows silent for longer than p_minutes, after releasing any lease they hold.
create function pm_pipeline.cleanup_stale_workers(p_minutes integer default 60)
returns table (worker_id text, worker_type text, status text, last_heartbeat_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_minutes is null or p_minutes < 1 then
    raise exception 'minutes must be at least 1 (got %)', p_minutes using errcode = 'invalid_parameter_value';
  end if;
  perform pm_pipeline.release_dead_worker_leases();
  return query
  delete from pm_pipeline.worker_heartbeats w
   where w.last_heartbeat_at < now() - make_interval(mins => p_minutes)
     and not exists (select from pm_pipeline.tasks t where t.state = 'running' and t.locked_by = w.worker_id)
  returning w.worker_id, w.worker_type, w.status, w.last_heartbeat_at;
end
$$;

comment on function pm_pipeline.cleanup_stale_workers(integer) is 'Deletes the rows of workers silent for more than p_minutes (their leases released first) and returns them.';

-- Workers of a kind that count against its concurrency: heartbeating (v_active_workers) and not
-- sitting on an expired lease (a frozen worker is not working, whatever its last heartbeat says).
create function pm_pipeline.live_workers(p_kind text, p_except text default null)
returns integer
language sql
security definer
stable
set search_path = ''
as $$
  select count(*)::int from pm_pipeline.v_active_workers w
   where w.worker_type = p_kind and w.worker_id is distinct from p_except
     and not exists (select from pm_pipeline.tasks t
                      where t.locked_by = w.worker_id and t.state = 'running' and t.lease_expires_at <= now());
$$;

comment on function pm_pipeline.live_workers(text, text) is 'Workers of a kind that heartbeat and hold no expired lease: what task_kinds.concurrency limits.';

-- Registers an invocation as a worker of a kind, unless the kind already has as many live workers
-- as its concurrency allows (then the invocation should exit). Serialised per kind.
create function pm_pipeline.register_worker(p_worker_id text, p_kind text, p_metadata jsonb default '{}')
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_limit integer;
begin
  select k.concurrency into v_limit from pm_pipeline.task_kinds k where k.kind = p_kind;
  if v_limit is null then
    raise exception 'unknown task kind "%"', p_kind using errcode = 'invalid_parameter_value';
  end if;
  perform pg_advisory_xact_lock(hashtext('pm_pipeline.register_worker'), hashtext(p_kind));
  if pm_pipeline.live_workers(p_kind, p_worker_id) >= v_limit then
    return false;
  end if;
  perform pm_pipeline.upsert_worker_heartbeat(p_worker_id, p_kind, 'active', null, null, null, p_metadata);
  return true;
end
$$;

comment on function pm_pipeline.register_worker(text, text, jsonb) is 'Registers a worker of a kind if the kind has fewer live workers than task_kinds.concurrency; false means: exit.';

-- Asks for as many workers of a kind as there are ready tasks, up to its concurrency: by pg_net
-- (hosted Supabase; project URL and worker secret from Vault) or by NOTIFY (the local functions
-- host listens). pg_net and NOTIFY both act only when the transaction commits.
create function pm_pipeline.dispatch_workers(p_kind text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kind pm_pipeline.task_kinds;
  v_wanted integer;
  v_url text;
  v_secret text;
begin
  select * into v_kind from pm_pipeline.task_kinds where kind = p_kind;
  if v_kind.function_name is null then
    return 0;
  end if;
  select least(
           (select count(*) from (select from pm_pipeline.tasks t
                                   where t.kind = p_kind
                                     -- what claim_tasks would hand out: a paused or ended run's tasks wake nobody
                                     and (t.state = 'queued' and t.run_after <= now()
                                          and (t.run_id is null or exists (select from pm_pipeline.runs r
                                                                            where r.id = t.run_id and r.status = 'active'))
                                          or t.state = 'running' and t.lease_expires_at <= now())  -- a crashed worker's
                                   limit v_kind.concurrency) ready),
           v_kind.concurrency - pm_pipeline.live_workers(p_kind))
    into v_wanted;
  if v_wanted <= 0 then
    return 0;
  end if;

  if to_regproc('net.http_post') is not null and to_regclass('vault.decrypted_secrets') is not null then
    -- dynamic: neither schema exists on a database without these extensions (the local stack)
    execute format('select max(decrypted_secret) filter (where name = %L), max(decrypted_secret) filter (where name = %L) from %I.%I',
                   'pm_leads_project_url', 'pm_leads_worker_secret', 'vault', 'decrypted_secrets')
       into v_url, v_secret;
  end if;
  for i in 1 .. v_wanted loop
    if v_url is not null and v_secret is not null then
      execute format('select %I.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 5000)', 'net')
        using rtrim(v_url, '/') || '/functions/v1/' || v_kind.function_name,
              jsonb_build_object('kind', p_kind),
              jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_secret);
    else
      -- numbered: NOTIFY delivers identical payloads of one transaction only once
      perform pg_notify('pm_pipeline_dispatch', jsonb_build_object('function', v_kind.function_name, 'kind', p_kind, 'n', i)::text);
    end if;
  end loop;
  return v_wanted;
end
$$;

comment on function pm_pipeline.dispatch_workers(text) is 'Invokes the kind''s Edge Function once per missing worker (ready tasks, up to concurrency): pg_net with Vault secrets when present, else NOTIFY pm_pipeline_dispatch.';

create function pm_pipeline.dispatch_inserted_tasks()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- share lock on the kind until commit: a worker deciding to stop (worker_may_stop) waits for it
  perform pm_pipeline.dispatch_workers(k.kind)
     from (select distinct i.kind from inserted i where i.state = 'queued' and i.run_after <= now()) d
     join pm_pipeline.task_kinds k on k.kind = d.kind and k.function_name is not null
      for share of k;
  return null;
end
$$;

comment on function pm_pipeline.dispatch_inserted_tasks() is 'Trigger: dispatches workers for the kinds of newly inserted ready tasks (see dispatch_workers).';

create trigger tasks_dispatch_workers
  after insert on pm_pipeline.tasks
  referencing new table as inserted
  for each statement execute function pm_pipeline.dispatch_inserted_tasks();

-- pg_cron's safety net: work that waits (retries after a backoff, a dispatch that was lost) with
-- fewer live workers than allowed gets workers.
create function pm_pipeline.dispatch_waiting_work()
returns integer
language sql
security definer
set search_path = ''
as $$
  select coalesce(sum(pm_pipeline.dispatch_workers(k.kind)), 0)::int
    from pm_pipeline.task_kinds k where k.function_name is not null;
$$;

comment on function pm_pipeline.dispatch_waiting_work() is 'Dispatches workers for every kind with ready tasks and spare concurrency (run by pg_cron).';

-- A worker with nothing to claim stops here, unless work of its kind is queued or running. The lock
-- on the kind waits for transactions that are enqueueing tasks of it (their trigger holds a share
-- lock until commit): without it, a worker could stop just as tasks arrive whose dispatch counted
-- it as alive, and they would wait for pg_cron.
create function pm_pipeline.worker_may_stop(p_worker_id text, p_kind text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform from pm_pipeline.task_kinds where kind = p_kind for update;
  if exists (select from pm_pipeline.tasks t
              where t.kind = p_kind and t.state in ('queued', 'running')
                and (t.run_id is null or exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status = 'active'))) then
    return false;
  end if;
  perform pm_pipeline.stop_worker(p_worker_id, 'no work left');
  return true;
end
$$;

comment on function pm_pipeline.worker_may_stop(text, text) is 'Stops a worker that found nothing to claim, unless tasks of its kind are queued or running (then it keeps polling).';

-- When may a worker with nothing to claim find work again? When a retry falls due, or when the lease
-- of a task another worker holds runs out (if that worker crashed, the waiting one takes it over).
create function pm_pipeline.next_task_due(p_kind text)
returns timestamptz
language sql
security definer
stable
set search_path = ''
as $$
  select least((select min(t.run_after) from pm_pipeline.tasks t
                 where t.kind = p_kind and t.state = 'queued'
                   and (t.run_id is null or exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status = 'active'))),
               (select min(t.lease_expires_at) from pm_pipeline.tasks t where t.kind = p_kind and t.state = 'running'));
$$;

comment on function pm_pipeline.next_task_due(text) is 'When a task of a kind may next become claimable: a queued retry falls due or a running lease expires (null: nothing queued or running).';

-- =============================================================================================
-- supabase/schemas/04_pipeline.sql
-- =============================================================================================
-- How a run flows through the queue: the companies and contacts it finds, and every decision about
-- them, made here in SQL under a lock on the run row, in the same transaction as the task
-- completion that prompted it:
--
--   start_run           -> discovery tasks (lead_list), enough to cover the target
--   complete_lead_list  -> new companies (candidates), one company_research task each
--   complete_company_research -> accepted (one contact_research task) | rejected | review
--   complete_contact_research -> contacts; a company with too few decision makers is rejected
--   reconcile_run       -> tops up discovery, advances the stage, completes the run, or asks the
--                          user to decide when nothing is left in flight and the target is not met
--
-- Every write a worker makes here is fenced by its lease (require_lease): a worker whose lease was
-- lost (a zombie) gets error PM001 and its whole transaction rolls back. Inserts are idempotent
-- (ON CONFLICT DO NOTHING): a retried task cannot create duplicates.

create table pm_pipeline.companies (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references pm_pipeline.runs (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 300),
  domain text not null constraint companies_domain_normalized check (domain = pm_pipeline.normalize_domain(domain)),
  website text,
  city text,
  state text,
  pms text,
  status pm_pipeline.company_status not null default 'candidate',
  rejection_reason text,
  status_reason pm_pipeline.company_reason,
  source_urls text[] not null default '{}',
  discovered_by_task bigint,
  discovered_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint companies_run_domain_unique unique (run_id, domain),
  constraint companies_rejection_has_reason check (status <> 'rejected' or rejection_reason is not null),
  constraint companies_reason_only_when_held_back check (status in ('rejected', 'review') or status_reason is null)
);
alter table pm_pipeline.companies enable row level security;

create index companies_run_status on pm_pipeline.companies (run_id, status);

comment on table pm_pipeline.companies is 'Companies a run found, unique per run by normalised domain (the company''s own site, never a PMS portal host).';
comment on column pm_pipeline.companies.rejection_reason is 'Why the company is rejected or in review, for people ("uses AppFolio, not Buildium").';
comment on column pm_pipeline.companies.status_reason is 'Why the company is rejected or in review, as a code (company_reason): what SQL keys on, never the text.';

-- The company state machine: research decides a candidate; contact research can still reject an
-- accepted company (too few decision makers); a failed task sends it to review; a loosened PMS
-- criterion judges rejected and reviewed companies again (requalify_companies).
create function pm_pipeline.company_status_move_allowed(p_from pm_pipeline.company_status, p_to pm_pipeline.company_status)
returns boolean
language sql
immutable
security definer
set search_path = ''
as $$
  select p_from = p_to or (p_from, p_to) in (
    ('candidate', 'accepted'), ('candidate', 'rejected'), ('candidate', 'review'),
    ('accepted', 'rejected'), ('accepted', 'review'),
    ('rejected', 'candidate'), ('review', 'candidate'))
$$;
comment on function pm_pipeline.company_status_move_allowed(pm_pipeline.company_status, pm_pipeline.company_status) is 'The allowed company status moves.';

create function pm_pipeline.guard_company_transition()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not pm_pipeline.company_status_move_allowed(old.status, new.status) then
    raise exception 'company %: status cannot move from % to %', old.id, old.status, new.status
      using errcode = 'check_violation';
  end if;
  new.updated_at := now();
  return new;
end
$$;
comment on function pm_pipeline.guard_company_transition() is 'Trigger: rejects company status moves that company_status_move_allowed does not list; stamps updated_at.';

create trigger companies_guard_transition
  before update of status on pm_pipeline.companies
  for each row when (old.status is distinct from new.status)
  execute function pm_pipeline.guard_company_transition();

create table pm_pipeline.company_research (
  company_id uuid primary key references pm_pipeline.companies (id) on delete cascade,
  run_id uuid not null references pm_pipeline.runs (id) on delete cascade,
  pms text,
  pms_confidence text check (pms_confidence in ('high', 'medium', 'low', 'none', 'unknown')),
  pms_evidence_urls text[] not null default '{}',
  units integer check (units between 0 and 1000000),
  units_estimated boolean not null default true,
  units_quote text,
  units_source_url text,
  single_family_focus text,
  property_mix text,
  employees integer check (employees >= 0),
  icp_fit text,
  icp_score integer check (icp_score between 0 and 100),
  icp_tier smallint check (icp_tier between 1 and 3),
  disqualifiers text[] not null default '{}',
  agent_summary text,
  source_urls text[] not null default '{}',
  researched_by_task bigint,
  researched_at timestamptz not null default now()
);
alter table pm_pipeline.company_research enable row level security;

create index company_research_run on pm_pipeline.company_research (run_id);

comment on table pm_pipeline.company_research is 'What research found about one company: PMS with evidence, units (with the quote and URL they came from), property mix, employees, ICP fit.';

create table pm_pipeline.contacts (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references pm_pipeline.companies (id) on delete cascade,
  run_id uuid not null references pm_pipeline.runs (id) on delete cascade,
  full_name text not null check (length(btrim(full_name)) between 1 and 200),
  title text,
  title_tier smallint check (title_tier between 1 and 6),
  email text check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  email_class pm_pipeline.email_class not null default 'unknown',
  linkedin_url text,
  department text,
  seniority text,
  quality_score integer check (quality_score between 0 and 100),
  icp_score integer check (icp_score between 0 and 100),
  personalization_notes text,
  personal_anecdotes text,
  professional_anecdotes text,
  additional_research_notes text,
  agent_summary text,
  source_urls text[] not null default '{}',
  found_by_task bigint,
  created_at timestamptz not null default now()
);
alter table pm_pipeline.contacts enable row level security;

create unique index contacts_company_email_unique on pm_pipeline.contacts (company_id, lower(email)) where email is not null;

create unique index contacts_company_linkedin_unique on pm_pipeline.contacts (company_id, lower(linkedin_url)) where linkedin_url is not null;

create index contacts_run on pm_pipeline.contacts (run_id);

create index contacts_company on pm_pipeline.contacts (company_id);

comment on table pm_pipeline.contacts is 'Decision makers of a company, unique per company by lower(email) and by lower(linkedin_url).';

-- Suppression: domains no run may return (customers, recently contacted, do-not-contact)

create table pm_pipeline.suppression (
  domain text primary key constraint suppression_domain_normalized check (domain = pm_pipeline.normalize_domain(domain)),
  reason text,
  source text,
  created_at timestamptz not null default now()
);
alter table pm_pipeline.suppression enable row level security;

comment on table pm_pipeline.suppression is 'Blocked domains (normalised): no run ever accepts a company with one of these domains.';

create view pm_pipeline.v_run_progress
with (security_invoker = true)
as
select r.id as run_id, r.status, r.stage, r.target_quantity, r.contacts_min, r.contacts_max,
       coalesce(c.accepted, 0)::int as accepted,
       coalesce(c.ready, 0)::int as ready,
       coalesce(c.candidates, 0)::int as candidates,
       coalesce(c.rejected, 0)::int as rejected,
       coalesce(c.review, 0)::int as review,
       coalesce(c.contacts, 0)::int as contacts,
       coalesce(t.discovery_in_flight, 0)::int as discovery_in_flight,
       coalesce(t.in_flight, 0)::int as tasks_in_flight,
       coalesce(t.failed, 0)::int as tasks_failed,
       r.discovery_exhausted, r.notes, r.created_at, r.updated_at, r.finished_at
  from pm_pipeline.runs r
  left join lateral (
    -- contacts counted once per run and joined, not once per company: reconcile_run reads this view
    -- after every task of a run
    select count(*) filter (where co.status = 'accepted') as accepted,
           count(*) filter (where co.status = 'accepted' and coalesce(n.contacts, 0) >= r.contacts_min) as ready,
           count(*) filter (where co.status = 'candidate') as candidates,
           count(*) filter (where co.status = 'rejected') as rejected,
           count(*) filter (where co.status = 'review') as review,
           coalesce(sum(n.contacts) filter (where co.status = 'accepted'), 0) as contacts
      from pm_pipeline.companies co
      left join (select ct.company_id, count(*) as contacts from pm_pipeline.contacts ct
                  where ct.run_id = r.id group by ct.company_id) n on n.company_id = co.id
     where co.run_id = r.id) c on true
  left join lateral (
    select count(*) filter (where tk.kind = 'lead_list' and tk.state in ('queued', 'running')) as discovery_in_flight,
           count(*) filter (where tk.state in ('queued', 'running')) as in_flight,
           count(*) filter (where tk.state = 'failed') as failed
      from pm_pipeline.tasks tk where tk.run_id = r.id) t on true;

comment on view pm_pipeline.v_run_progress is 'Per run: companies accepted / ready (with enough contacts) / candidates / rejected / in review, contacts, tasks in flight and failed.';

create function pm_pipeline.reconcile_run(p_run_id uuid)
returns pm_pipeline.run_status
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
  v_p pm_pipeline.v_run_progress;
  v_batch integer;
  v_batch_no integer;
  v_missing integer;
  v_message text;
  v_searching boolean;
begin
  select * into v_run from pm_pipeline.runs where id = p_run_id for no key update;
  if v_run.status is distinct from 'active' or v_run.started_at is null then
    return v_run.status;
  end if;
  select * into v_p from pm_pipeline.v_run_progress where run_id = p_run_id;

  if v_p.ready >= v_run.target_quantity then
    perform pm_pipeline.set_run_status(p_run_id, 'completed',
      format('%s companies with %s-%s contacts each', v_p.ready, v_run.contacts_min, v_run.contacts_max));
    return 'completed'::pm_pipeline.run_status;
  end if;

  -- discovery, one batch at a time per run: batches in parallel would be given the same exclusion
  -- list and bring back the same companies. After a failed batch the next one waits a backoff
  -- (the lead_list kind's retry_delay); a permanent failure stops discovery (handle_failed_task).
  v_missing := v_run.target_quantity - v_p.accepted - v_p.candidates;
  v_searching := not v_run.discovery_exhausted and v_run.discovery_stopped is null;
  if v_missing > 0 and v_searching and v_p.discovery_in_flight = 0 then
    select s.lead_list_batch_size into v_batch from pm_pipeline.settings s;
    update pm_pipeline.runs set discovery_batches = discovery_batches + 1 where id = p_run_id
    returning discovery_batches into v_batch_no;
    perform pm_pipeline.enqueue_tasks('lead_list', p_run_id, jsonb_build_array(jsonb_build_object(
      'key', format('discover:%s:%s', p_run_id, v_batch_no),
      'payload', jsonb_build_object('count', least(v_batch, v_missing), 'batch', v_batch_no),
      'delay_seconds', case when v_run.discovery_failures > 0
                            then extract(epoch from pm_pipeline.retry_delay('lead_list', v_run.discovery_failures)) else 0 end)));
    v_p.tasks_in_flight := v_p.tasks_in_flight + 1;
  end if;

  -- stage: the earliest stage with work left, never moving backwards
  perform pm_pipeline.advance_run_stage(p_run_id,
    case when v_missing > 0 and v_searching then 'company_discovery'
         when v_p.candidates > 0 then 'company_research'
         else 'contact_discovery' end::pm_pipeline.run_stage);

  -- nothing left in flight and the target not met: the user decides
  if v_p.tasks_in_flight = 0 then
    v_message := format('found %s of %s companies with at least %s contact(s)', v_p.ready, v_run.target_quantity, v_run.contacts_min);
    if v_run.discovery_stopped is not null then
      v_message := v_message || '; discovery stopped: ' || v_run.discovery_stopped;
    elsif v_run.discovery_exhausted then
      v_message := v_message || '; discovery found no more companies matching the criteria';
    end if;
    if v_p.rejected > 0 then
      v_message := v_message || format('; %s rejected (%s)', v_p.rejected, (
        select string_agg(format('%s x %s', n, reason), ', ' order by n desc)
          from (select co.rejection_reason as reason, count(*) as n from pm_pipeline.companies co
                 where co.run_id = p_run_id and co.status = 'rejected' group by 1 order by 2 desc limit 3) top));
    end if;
    if v_p.review > 0 then
      v_message := v_message || format('; %s need review', v_p.review);
    end if;
    if v_p.tasks_failed > 0 and v_run.discovery_stopped is null then
      v_message := v_message || format('; %s task(s) failed, last: %s', v_p.tasks_failed, (
        select tk.last_error from pm_pipeline.tasks tk where tk.run_id = p_run_id and tk.state = 'failed'
         order by tk.finished_at desc limit 1));
    end if;
    perform pm_pipeline.set_run_status(p_run_id, 'needs_user_decision',
      v_message || '. Options: accept_partial, expand_location, loosen_pms.', null, 'target_not_met');
    return 'needs_user_decision'::pm_pipeline.run_status;
  end if;
  return 'active'::pm_pipeline.run_status;
end
$$;

comment on function pm_pipeline.reconcile_run(uuid) is 'Decides what a run needs next: more discovery, a later stage, completion, or a user decision. Called after every task outcome.';

-- What a task that failed for good means for its run (called by settle_attempts, the queue's one
-- place that fails tasks). A rejected key helps no decision: the run ends in error. Any other
-- permanent refusal of the provider, or too many failed batches, stops discovery with the cause as
-- the reason the user reads. A company whose research or contact task failed leaves "in flight" for
-- review, with the error as its reason, so that the run no longer waits for it.
create function pm_pipeline.handle_failed_task(p_task_id bigint)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks;
  v_run pm_pipeline.runs;
  v_limit integer;
begin
  select * into v_task from pm_pipeline.tasks where id = p_task_id and state = 'failed';
  if v_task.run_id is null then
    return;
  end if;
  select * into v_run from pm_pipeline.runs where id = v_task.run_id for no key update;
  if v_run.status not in ('active', 'needs_user_decision') then
    return;
  end if;
  if v_task.last_error_kind = 'auth' then
    perform pm_pipeline.set_run_status(v_run.id, 'error',
      format('%s; the run cannot go on: fix the key and start a new run', v_task.last_error));
    return;
  end if;

  if v_task.kind = 'lead_list' then
    select s.max_failed_discovery_batches into v_limit from pm_pipeline.settings s;
    update pm_pipeline.runs
       set discovery_failures = discovery_failures + 1,
           discovery_stopped = coalesce(discovery_stopped, case
             when v_task.last_error_kind in ('quota', 'invalid_input') then v_task.last_error
             when discovery_failures + 1 >= v_limit
               then format('%s discovery batches failed, last: %s', discovery_failures + 1, v_task.last_error) end)
     where id = v_run.id;
  elsif v_task.kind in ('company_research', 'contact_research') then
    update pm_pipeline.companies
       set status = 'review', status_reason = 'task_failed',
           rejection_reason = left(format('%s failed: %s', replace(v_task.kind, '_', ' '), v_task.last_error), 1000)
     where id = (v_task.payload->>'company_id')::uuid and status in ('candidate', 'accepted');
    if v_task.last_error_kind = 'quota' then
      update pm_pipeline.runs set discovery_stopped = coalesce(discovery_stopped, v_task.last_error) where id = v_run.id;
    end if;
  end if;
  perform pm_pipeline.reconcile_run(v_run.id);
end
$$;

comment on function pm_pipeline.handle_failed_task(bigint) is 'Internal: a task that failed for good ends its run (rejected key), stops its discovery (quota, bad request, too many failed batches) or sends its company to review; then reconciles the run.';

create function pm_pipeline.begin_run(p_run_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update pm_pipeline.runs set started_at = now() where id = p_run_id and started_at is null;
  if found then
    perform pm_pipeline.reconcile_run(p_run_id);
  end if;
end
$$;

comment on function pm_pipeline.begin_run(uuid) is 'Hands a created run to the workers (its first discovery task); does nothing for a run already started.';

-- Creates a run (see create_run) and enqueues its first discovery tasks.
create function pm_pipeline.start_run(
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
  v_run pm_pipeline.runs := pm_pipeline.create_run(p_criteria, p_target_quantity, p_contacts_min, p_contacts_max, p_idempotency_key, p_notes);
begin
  perform pm_pipeline.begin_run(v_run.id);
  select * into v_run from pm_pipeline.runs where id = v_run.id;
  return v_run;
end
$$;

comment on function pm_pipeline.start_run(jsonb, integer, integer, integer, text, text) is 'Creates a run and enqueues its discovery; idempotent by key.';

-- Adds the companies a task discovered to the task's run. Skips blocked domains (suppression) and
-- domains the run already has; the domain is normalised and is the company's own site.
-- p_companies: [{name, domain | website, city, state, pms, source_urls}]; at most p_max new rows
-- (in the order given). Returns the new rows.
create function pm_pipeline.add_companies(p_task_id bigint, p_lease_token uuid, p_companies jsonb, p_max integer default null)
returns setof pm_pipeline.companies
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if v_task.run_id is null then
    raise exception 'task % belongs to no run', p_task_id using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_companies) is distinct from 'array' then
    raise exception 'companies must be a JSON array' using errcode = 'invalid_parameter_value';
  end if;
  return query
  insert into pm_pipeline.companies as c (run_id, name, domain, website, city, state, pms, source_urls, discovered_by_task)
  select v_task.run_id, btrim(n.name), n.new_domain, coalesce(n.website, 'https://' || n.new_domain), n.city, n.state, n.pms,
         coalesce(n.source_urls, '{}'), v_task.id
    from (select distinct on (d.domain) d.domain as new_domain, x.*
            from jsonb_populate_recordset(null::pm_pipeline.companies, p_companies) with ordinality as x
           cross join lateral (select pm_pipeline.normalize_domain(coalesce(x.domain, x.website)) as domain) d
           where d.domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'
             and not exists (select from pm_pipeline.suppression s where s.domain = d.domain)
             and not exists (select from pm_pipeline.companies k where k.run_id = v_task.run_id and k.domain = d.domain)
           order by d.domain, x.ordinality) n
   order by n.ordinality
   limit p_max
  on conflict (run_id, domain) do nothing
  returning c.*;
end
$$;

comment on function pm_pipeline.add_companies(bigint, uuid, jsonb, integer) is 'Fenced, idempotent insert of discovered companies into the task''s run; blocked and known domains are skipped.';

-- Adds contacts to a company of the task's run. Duplicates by lower(email) or lower(linkedin_url)
-- within the company are skipped; at most p_max new rows. p_contacts: [{full_name, title, email, ...}].
create function pm_pipeline.add_contacts(p_task_id bigint, p_lease_token uuid, p_company_id uuid, p_contacts jsonb, p_max integer default null)
returns setof pm_pipeline.contacts
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if not exists (select from pm_pipeline.companies c where c.id = p_company_id and c.run_id = v_task.run_id) then
    raise exception 'company % is not part of the run of task %', p_company_id, p_task_id using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_contacts) is distinct from 'array' then
    raise exception 'contacts must be a JSON array' using errcode = 'invalid_parameter_value';
  end if;
  return query
  insert into pm_pipeline.contacts as c (company_id, run_id, full_name, title, title_tier, email, email_class, linkedin_url,
         department, seniority, quality_score, icp_score, personalization_notes, personal_anecdotes, professional_anecdotes,
         additional_research_notes, agent_summary, source_urls, found_by_task)
  select p_company_id, v_task.run_id, btrim(x.full_name), x.title, x.title_tier, nullif(btrim(x.email), ''),
         coalesce(x.email_class, 'unknown'), nullif(btrim(x.linkedin_url), ''), x.department, x.seniority, x.quality_score,
         x.icp_score, x.personalization_notes, x.personal_anecdotes, x.professional_anecdotes, x.additional_research_notes,
         x.agent_summary, coalesce(x.source_urls, '{}'), v_task.id
    from jsonb_populate_recordset(null::pm_pipeline.contacts, p_contacts) with ordinality as x
   where not exists (select from pm_pipeline.contacts k where k.company_id = p_company_id
                      and (lower(k.email) = lower(btrim(x.email)) or lower(k.linkedin_url) = lower(btrim(x.linkedin_url))))
     -- nor a duplicate of an earlier one in the same batch (so p_max counts distinct people)
     and not exists (select from jsonb_populate_recordset(null::pm_pipeline.contacts, p_contacts) with ordinality as e
                      where e.ordinality < x.ordinality
                        and (lower(btrim(e.email)) = lower(btrim(x.email)) or lower(btrim(e.linkedin_url)) = lower(btrim(x.linkedin_url))))
   order by x.ordinality
   limit p_max
  on conflict do nothing
  returning c.*;
end
$$;

comment on function pm_pipeline.add_contacts(bigint, uuid, uuid, jsonb, integer) is 'Fenced, idempotent insert of a company''s contacts (unique per company by e-mail and by LinkedIn URL).';

-- p_result: {"companies": [...], "exhausted": bool, ...}. Returns how many companies were new.
create function pm_pipeline.complete_lead_list(p_task_id bigint, p_lease_token uuid, p_result jsonb)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
  v_run pm_pipeline.runs;
  v_room integer;
  v_new integer := 0;
  v_research jsonb;
begin
  select * into v_run from pm_pipeline.runs where id = v_task.run_id for no key update;
  if v_run.status = 'active' then
    -- never more candidates than the run still needs
    select v_run.target_quantity - count(*) filter (where c.status in ('accepted', 'candidate'))
      into v_room from pm_pipeline.companies c where c.run_id = v_run.id;
    select coalesce(jsonb_agg(jsonb_build_object('key', 'research:' || a.id, 'payload', jsonb_build_object('company_id', a.id))), '[]'),
           count(*)
      into v_research, v_new
      from pm_pipeline.add_companies(p_task_id, p_lease_token, coalesce(p_result->'companies', '[]'), greatest(v_room, 0)) a;
    perform pm_pipeline.enqueue_tasks('company_research', v_run.id, v_research);
    -- the provider says it has no more, or a batch with room for more brought nothing new
    if coalesce((p_result->>'exhausted')::boolean, false) or (v_new = 0 and v_room > 0) then
      update pm_pipeline.runs set discovery_exhausted = true where id = v_run.id;
    end if;
  end if;
  perform pm_pipeline.complete_task(p_task_id, p_lease_token,
    (p_result - 'companies') || jsonb_build_object('new_companies', v_new, 'returned', jsonb_array_length(coalesce(p_result->'companies', '[]'))));
  perform pm_pipeline.reconcile_run(v_task.run_id);
  return v_new;
end
$$;

comment on function pm_pipeline.complete_lead_list(bigint, uuid, jsonb) is 'Fenced: adds a discovery batch''s new companies (research enqueued for each), completes the task, reconciles the run.';

-- p_research: columns of company_research; p_decision: {"status": "accepted"|"rejected"|"review", "reason": text}
create function pm_pipeline.complete_company_research(p_task_id bigint, p_lease_token uuid, p_research jsonb, p_decision jsonb)
returns pm_pipeline.company_status
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
  v_company_id uuid := (v_task.payload->>'company_id')::uuid;
  v_status pm_pipeline.company_status := (p_decision->>'status')::pm_pipeline.company_status;
  v_research pm_pipeline.company_research := jsonb_populate_record(null::pm_pipeline.company_research, p_research);
begin
  if v_status not in ('accepted', 'rejected', 'review') then
    raise exception 'decision must be accepted, rejected or review' using errcode = 'invalid_parameter_value';
  end if;
  -- lock order everywhere: the task (require_lease), then its run; completions of one run queue here
  perform from pm_pipeline.runs where id = v_task.run_id for no key update;
  insert into pm_pipeline.company_research (company_id, run_id, pms, pms_confidence, pms_evidence_urls, units, units_estimated,
         units_quote, units_source_url, single_family_focus, property_mix, employees, icp_fit, icp_score, icp_tier,
         disqualifiers, agent_summary, source_urls, researched_by_task)
  values (v_company_id, v_task.run_id, v_research.pms, v_research.pms_confidence, coalesce(v_research.pms_evidence_urls, '{}'),
         v_research.units, coalesce(v_research.units_estimated, true), v_research.units_quote, v_research.units_source_url,
         v_research.single_family_focus, v_research.property_mix, v_research.employees, v_research.icp_fit, v_research.icp_score,
         v_research.icp_tier, coalesce(v_research.disqualifiers, '{}'), v_research.agent_summary, coalesce(v_research.source_urls, '{}'),
         p_task_id)
  on conflict (company_id) do nothing;

  if pm_pipeline.run_is_open(v_task.run_id) then
    update pm_pipeline.companies
       set status = v_status,
           pms = coalesce(v_research.pms, pms),
           rejection_reason = case when v_status = 'accepted' then null else coalesce(p_decision->>'reason', 'no reason given') end,
           status_reason = case when v_status = 'accepted' then null else (p_decision->>'code')::pm_pipeline.company_reason end
     where id = v_company_id and status = 'candidate';
    if v_status = 'accepted' then
      perform pm_pipeline.enqueue_tasks('contact_research', v_task.run_id,
        jsonb_build_array(jsonb_build_object('key', 'contacts:' || v_company_id, 'payload', jsonb_build_object('company_id', v_company_id))));
    end if;
  end if;
  perform pm_pipeline.complete_task(p_task_id, p_lease_token, p_decision);
  perform pm_pipeline.reconcile_run(v_task.run_id);
  return v_status;
end
$$;

comment on function pm_pipeline.complete_company_research(bigint, uuid, jsonb, jsonb) is 'Fenced: stores a company''s research and the decision (accepted -> contact task), completes the task, reconciles the run.';

-- p_result: {"contacts": [...], ...}. A company left with fewer than contacts_min is rejected.
create function pm_pipeline.complete_contact_research(p_task_id bigint, p_lease_token uuid, p_result jsonb)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
  v_company_id uuid := (v_task.payload->>'company_id')::uuid;
  v_run pm_pipeline.runs;
  v_have integer;
begin
  select * into v_run from pm_pipeline.runs where id = v_task.run_id for no key update;
  if pm_pipeline.run_is_open(v_run.id) then
    select count(*) into v_have from pm_pipeline.contacts where company_id = v_company_id;
    perform pm_pipeline.add_contacts(p_task_id, p_lease_token, v_company_id, coalesce(p_result->'contacts', '[]'),
      greatest(v_run.contacts_max - v_have, 0));
  end if;
  select count(*) into v_have from pm_pipeline.contacts where company_id = v_company_id;
  if v_have < v_run.contacts_min and pm_pipeline.run_is_open(v_run.id) then
    update pm_pipeline.companies
       set status = 'rejected', status_reason = 'too_few_contacts',
           rejection_reason = format('found %s decision maker(s), need at least %s', v_have, v_run.contacts_min)
     where id = v_company_id and status = 'accepted';
  end if;
  perform pm_pipeline.complete_task(p_task_id, p_lease_token, (p_result - 'contacts') || jsonb_build_object('contacts', v_have));
  perform pm_pipeline.reconcile_run(v_task.run_id);
  return v_have;
end
$$;

comment on function pm_pipeline.complete_contact_research(bigint, uuid, jsonb) is 'Fenced: adds a company''s contacts (up to contacts_max), rejects it below contacts_min, completes the task, reconciles the run.';

-- After loosen_pms: the companies already researched are judged again against the new PMS, from
-- their stored research (no new provider calls): discovery never finds a known domain again, so
-- without this an AppFolio company rejected while the run wanted Buildium could not count once
-- AppFolio is allowed. A company that qualified but had too few decision makers stays as it is.
create function pm_pipeline.requalify_companies(p_run_id uuid)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_reopened uuid[];
  v_decisions bigint := (select count(*) from pm_pipeline.events e where e.run_id = p_run_id and e.kind = 'decision');
begin
  with reopened as (
    update pm_pipeline.companies c set status = 'candidate', rejection_reason = null, status_reason = null
     where c.run_id = p_run_id and c.status in ('rejected', 'review')
       and exists (select from pm_pipeline.company_research r where r.company_id = c.id)
       and c.status_reason is distinct from 'too_few_contacts'
    returning c.id)
  select coalesce(array_agg(id), '{}') into v_reopened from reopened;
  -- keyed by the decision's number: a later loosen_pms judges them again
  perform pm_pipeline.enqueue_tasks('company_research', p_run_id, (
    select coalesce(jsonb_agg(jsonb_build_object(
             'key', format('requalify:%s:%s', r.id, v_decisions),
             'payload', jsonb_build_object('company_id', r.id, 'requalify', true))), '[]')
      from unnest(v_reopened) r(id)));
  return cardinality(v_reopened);
end
$$;
comment on function pm_pipeline.requalify_companies(uuid) is 'Sends a run''s rejected and reviewed companies that have research (not those with too few contacts) back to candidate, each with a company_research task that judges its stored research again; returns how many.';

-- Exports, with the old system's column names in its order (CRM imports rely on them)

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_companies_export
with (security_invoker = false)
as
select c.run_id, c.name as company_name, c.city as company_city, c.state as company_state, c.pms,
       r.units, r.employees, c.domain, r.single_family_focus, r.property_mix, r.icp_fit, r.icp_score, r.agent_summary,
       c.website, r.pms_confidence, array_to_string(r.pms_evidence_urls, ' ') as pms_evidence_urls,
       r.units_quote, r.units_source_url, array_to_string(array(select distinct u from unnest(c.source_urls || r.source_urls) u order by u), ' ') as source_urls,
       c.discovered_at, r.researched_at
  from pm_pipeline.companies c
  left join pm_pipeline.company_research r on r.company_id = c.id
 where c.status = 'accepted';

comment on view pm_pipeline.v_companies_export is 'Accepted companies in the companies CSV layout (old column names first, new ones after).';

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_contacts_export
with (security_invoker = false)
as
select ct.run_id, ct.full_name, ct.title, ct.email, ct.linkedin_url, ct.department, ct.seniority, ct.quality_score, ct.icp_score,
       c.name as company_name, c.domain as company_domain, c.website as company_website, c.state as company_state,
       ct.personalization_notes, ct.personal_anecdotes, ct.professional_anecdotes,
       array_to_string(ct.source_urls, ' ') as data_sources, ct.additional_research_notes, ct.agent_summary, ct.created_at,
       ct.email_class, ct.title_tier
  from pm_pipeline.contacts ct
  join pm_pipeline.companies c on c.id = ct.company_id
 where c.status = 'accepted';

comment on view pm_pipeline.v_contacts_export is 'Contacts of accepted companies in the contacts CSV layout (old column names first, new ones after).';

-- =============================================================================================
-- supabase/schemas/05_usage_and_budget.sql
-- =============================================================================================
-- What the research costs, and a budget per run. Every provider call's usage (tokens, web searches,
-- dollars from the price table of the provider) is recorded per task and summed per run. A run with
-- a budget stops in needs_user_decision ("budget reached") when its next call would exceed it;
-- nothing is lost (its queued tasks wait), and raising the budget resumes it.

create table pm_pipeline.provider_usage (
  id bigint generated always as identity primary key,
  run_id uuid references pm_pipeline.runs (id) on delete cascade,
  task_id bigint,
  kind text not null,
  provider text not null,
  model text,
  calls integer not null default 1 check (calls >= 0),
  input_tokens bigint not null default 0 check (input_tokens >= 0),
  output_tokens bigint not null default 0 check (output_tokens >= 0),
  reasoning_tokens bigint not null default 0 check (reasoning_tokens >= 0),
  web_searches integer not null default 0 check (web_searches >= 0),
  cost_usd numeric(12, 6) not null default 0 check (cost_usd >= 0),
  created_at timestamptz not null default now()
);
alter table pm_pipeline.provider_usage enable row level security;

create index provider_usage_run on pm_pipeline.provider_usage (run_id);

comment on table pm_pipeline.provider_usage is 'One row per provider call (or batch of calls) of a task: tokens, web searches and cost in USD. Recorded even when the lease was lost: the money was spent.';

create view pm_pipeline.v_run_costs
with (security_invoker = true)
as
select r.id as run_id, r.budget_usd,
       coalesce(sum(u.calls), 0)::int as calls,
       coalesce(sum(u.input_tokens), 0)::bigint as input_tokens,
       coalesce(sum(u.output_tokens), 0)::bigint as output_tokens,
       coalesce(sum(u.web_searches), 0)::int as web_searches,
       coalesce(sum(u.cost_usd), 0)::numeric(12, 6) as cost_usd,
       case when count(u.id) > 0 then (sum(u.cost_usd) / greatest(sum(u.calls), 1))::numeric(12, 6) end as cost_per_call_usd,
       (select coalesce(sum(t.budget_reserved_usd), 0) from pm_pipeline.tasks t
         where t.run_id = r.id and t.state = 'running')::numeric(12, 6) as reserved_usd
  from pm_pipeline.runs r
  left join pm_pipeline.provider_usage u on u.run_id = r.id
 group by r.id;

comment on view pm_pipeline.v_run_costs is 'Per run: provider calls, tokens, web searches, cost in USD, what running tasks have reserved, and the budget.';

-- Records the usage of a task's provider calls. p_usage: {provider, model, calls, input_tokens,
-- output_tokens, reasoning_tokens, web_searches, cost_usd}. Not fenced by the lease on purpose.
create function pm_pipeline.record_usage(p_task_id bigint, p_usage jsonb)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into pm_pipeline.provider_usage (run_id, task_id, kind, provider, model, calls, input_tokens, output_tokens,
         reasoning_tokens, web_searches, cost_usd)
  select t.run_id, t.id, t.kind, coalesce(p_usage->>'provider', 'unknown'), p_usage->>'model',
         coalesce((p_usage->>'calls')::int, 1), coalesce((p_usage->>'input_tokens')::bigint, 0),
         coalesce((p_usage->>'output_tokens')::bigint, 0), coalesce((p_usage->>'reasoning_tokens')::bigint, 0),
         coalesce((p_usage->>'web_searches')::int, 0), coalesce((p_usage->>'cost_usd')::numeric, 0)
    from pm_pipeline.tasks t where t.id = p_task_id;
  -- the call is paid for now: what it had reserved is spent, not reserved
  update pm_pipeline.tasks set budget_reserved_usd = 0 where id = p_task_id and budget_reserved_usd > 0;
$$;

comment on function pm_pipeline.record_usage(bigint, jsonb) is 'Records tokens, web searches and cost of a task''s provider call(s), right after each billed response; clears the task''s budget reservation.';

-- May a run make its next provider call? The call is estimated at the run's average cost per call
-- so far; what other running tasks of the run have reserved counts as spent (a task's own
-- reservation does not). No budget: always. A question only: it changes nothing.
create function pm_pipeline.run_can_afford_next_call(p_run_id uuid, p_task_id bigint default null)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select c.budget_usd is null
         or c.cost_usd + c.reserved_usd
            - coalesce((select t.budget_reserved_usd from pm_pipeline.tasks t where t.id = p_task_id and t.state = 'running'), 0)
            + coalesce(c.cost_per_call_usd, 0) <= c.budget_usd
    from pm_pipeline.v_run_costs c where c.run_id = p_run_id
$$;
comment on function pm_pipeline.run_can_afford_next_call(uuid, bigint) is 'True when the run''s next provider call (at its average cost per call) fits its budget, counting other tasks'' reservations; true without a budget. Changes nothing.';

create function pm_pipeline.budget_reached_message(p_run_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select format('budget reached: spent $%s of $%s (about $%s a call); raise the budget to go on',
                round(c.cost_usd, 4), c.budget_usd, round(coalesce(c.cost_per_call_usd, 0), 4))
    from pm_pipeline.v_run_costs c where c.run_id = p_run_id
$$;
comment on function pm_pipeline.budget_reached_message(uuid) is 'What a run stopped by its budget tells the user: spent, budget, cost per call.';

-- An active run whose next call does not fit stops for a decision (decision_reason budget_reached).
create function pm_pipeline.pause_run_for_budget(p_run_id uuid)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select pm_pipeline.set_run_status(p_run_id, 'needs_user_decision', pm_pipeline.budget_reached_message(p_run_id), 'active', 'budget_reached')
$$;
comment on function pm_pipeline.pause_run_for_budget(uuid) is 'Moves an active run to needs_user_decision because of its budget; false when it was not active.';

-- Before a task's provider call: reserves the call's estimated cost under a lock on the run, so
-- that workers of one run together overshoot the budget by at most one call each. When the call
-- does not fit, the run stops for a decision and the task goes back untried: one call does both,
-- and says which happened. Null when the lease is lost.
create function pm_pipeline.reserve_budget_or_defer(p_task_id bigint, p_lease_token uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.lock_lease(p_task_id, p_lease_token);
begin
  if v_task.id is null then
    return null;
  end if;
  if v_task.run_id is null then
    return true;
  end if;
  if (select r.budget_usd from pm_pipeline.runs r where r.id = v_task.run_id for no key update) is null then
    return true;
  end if;
  if pm_pipeline.run_can_afford_next_call(v_task.run_id, p_task_id) then
    update pm_pipeline.tasks
       set budget_reserved_usd = coalesce((select c.cost_per_call_usd from pm_pipeline.v_run_costs c where c.run_id = v_task.run_id), 0)
     where id = p_task_id;
    return true;
  end if;
  perform pm_pipeline.pause_run_for_budget(v_task.run_id);
  perform pm_pipeline.defer_task(p_task_id, p_lease_token, 'run stopped: budget reached');
  return false;
end
$$;
comment on function pm_pipeline.reserve_budget_or_defer(bigint, uuid) is 'Fenced: reserves a task''s next provider call within its run''s budget (true), or stops the run for a decision and gives the task back untried (false); null for a stale token.';

-- Sets a run's budget. A run stopped by its budget resumes when the new one leaves room for the
-- next call; otherwise it keeps waiting, its message updated to the new budget.
create function pm_pipeline.set_run_budget(p_run_id uuid, p_budget_usd numeric)
returns pm_pipeline.run_status
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
begin
  if p_budget_usd is not null and p_budget_usd < 0 then
    raise exception 'budget must be at least 0 (got %)', p_budget_usd using errcode = 'invalid_parameter_value';
  end if;
  update pm_pipeline.runs set budget_usd = p_budget_usd where id = p_run_id returning * into v_run;
  if v_run.id is null then
    raise exception 'run % does not exist', p_run_id using errcode = 'no_data_found';
  end if;
  perform pm_pipeline.log_event(p_run_id, 'budget_changed', format('budget set to %s', coalesce('$' || p_budget_usd, 'none')));
  if v_run.decision_reason is distinct from 'budget_reached' then
    return v_run.status;
  end if;
  if not pm_pipeline.run_can_afford_next_call(p_run_id) then
    update pm_pipeline.runs set notes = pm_pipeline.budget_reached_message(p_run_id) where id = p_run_id;
    return v_run.status;
  end if;
  perform pm_pipeline.resume_run(p_run_id, v_run.stage, format('budget raised to %s', coalesce('$' || p_budget_usd, 'none')));
  perform pm_pipeline.reconcile_run(p_run_id);
  perform pm_pipeline.dispatch_waiting_work();
  return (select status from pm_pipeline.runs where id = p_run_id);
end
$$;
comment on function pm_pipeline.set_run_budget(uuid, numeric) is 'Sets (or clears, with null) a run''s budget; a run stopped by its budget resumes when the next call fits, else keeps waiting with an updated message.';

-- =============================================================================================
-- supabase/schemas/06_run_api.sql
-- =============================================================================================
-- The run API's contract with the database (the `runs` Edge Function calls only these): submit a
-- run, read it as one JSON document, cancel it, decide for it, and keep the suppression list.
--
-- Errors are part of the contract, by SQLSTATE, so the API can answer without guessing:
--   22023 invalid_parameter_value -> 400 (the message says which field and why)
--   P0002 no_data_found           -> 404
--   PM409 (ours)                  -> 409 the run's state does not allow it

-- p_request: {criteria, quantity, contacts_min, contacts_max, budget_usd}. A key seen before returns
-- that run (created: false) if the request is the same, and raises PM409 if it is not: a client that
-- reuses a key for another request has a bug, and silently answering with the old run would hide it.
create function pm_pipeline.submit_run(p_request jsonb, p_idempotency_key text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_budget numeric := round((p_request->>'budget_usd')::numeric, 4);  -- as runs.budget_usd stores it
  v_request jsonb;
  v_run pm_pipeline.runs;
begin
  if v_budget is not null and v_budget not between 0 and 99999999 then
    raise exception 'budget_usd must be from 0 to 99999999 (got %)', v_budget using errcode = 'invalid_parameter_value';
  end if;
  v_request := jsonb_build_object('criteria', p_request->'criteria', 'quantity', p_request->'quantity',
    'contacts_min', coalesce(p_request->'contacts_min', '1'), 'contacts_max', coalesce(p_request->'contacts_max', '3'),
    'budget_usd', v_budget);
  v_run := pm_pipeline.create_run(v_request->'criteria', (v_request->>'quantity')::integer,
    (v_request->>'contacts_min')::integer, (v_request->>'contacts_max')::integer, p_idempotency_key);
  if v_run.started_at is not null then
    if v_run.request is distinct from v_request then
      raise exception 'Idempotency-Key "%" was used for a different request (run %)', p_idempotency_key, v_run.id
        using errcode = 'PM409';
    end if;
    return jsonb_build_object('run_id', v_run.id, 'created', false);
  end if;
  -- the budget is in place before any worker can see the run (same transaction)
  update pm_pipeline.runs set budget_usd = v_budget, request = v_request where id = v_run.id;
  perform pm_pipeline.begin_run(v_run.id);
  return jsonb_build_object('run_id', v_run.id, 'created', true);
end
$$;

comment on function pm_pipeline.submit_run(jsonb, text) is 'The run API''s create: validates, creates and starts a run with its budget; with a known idempotency key returns that run (created false), or raises PM409 if the request differs.';

create function pm_pipeline.run_summary(p_run_id uuid)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', r.id, 'status', r.status, 'stage', r.stage, 'criteria', r.criteria,
    'quantity', r.target_quantity, 'contacts_min', r.contacts_min, 'contacts_max', r.contacts_max,
    'budget_usd', r.budget_usd, 'notes', r.notes,
    'progress', jsonb_build_object(
      'companies_target', r.target_quantity,
      'companies_accepted', p.accepted,
      'companies_ready', p.ready,
      'companies_researched', p.accepted + p.rejected + p.review,
      'companies_in_research', p.candidates,
      'companies_rejected', p.rejected,
      'companies_in_review', p.review,
      'contacts_ready', p.contacts,
      'contacts_needed', r.target_quantity * r.contacts_min,
      'tasks_in_flight', p.tasks_in_flight,
      'tasks_failed', p.tasks_failed,
      'discovery_batches', r.discovery_batches,
      'discovery_exhausted', r.discovery_exhausted,
      'discovery_failures', r.discovery_failures,
      'discovery_stopped', r.discovery_stopped),
    'cost', jsonb_build_object('usd', c.cost_usd, 'calls', c.calls, 'input_tokens', c.input_tokens,
      'output_tokens', c.output_tokens, 'web_searches', c.web_searches),
    'decision', case when r.status = 'needs_user_decision' then jsonb_build_object(
      'reason', r.notes,
      'waiting_for', r.decision_reason,
      'options', jsonb_build_array('accept_partial', 'expand_location', 'loosen_pms', 'set_budget')) end,
    'created_at', r.created_at, 'started_at', r.started_at, 'updated_at', r.updated_at, 'finished_at', r.finished_at)
    from pm_pipeline.runs r
    join pm_pipeline.v_run_progress p on p.run_id = r.id
    join pm_pipeline.v_run_costs c on c.run_id = r.id
   where r.id = p_run_id
$$;

comment on function pm_pipeline.run_summary(uuid) is 'A run as the API lists it: criteria, stage, status, progress counts, cost and the decision it waits for (null when the run does not exist).';

create function pm_pipeline.run_details(p_run_id uuid, p_events integer default 50)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select pm_pipeline.run_summary(p_run_id) || jsonb_build_object(
    'rejected', coalesce((
      select jsonb_agg(jsonb_build_object('reason', reason, 'count', n) order by n desc, reason)
        from (select c.rejection_reason as reason, count(*) as n from pm_pipeline.companies c
               where c.run_id = p_run_id and c.status = 'rejected' group by 1 order by 2 desc, 1 limit 20) top), '[]'),
    'failed_tasks', coalesce((
      select jsonb_agg(jsonb_build_object('id', t.id::text, 'kind', t.kind, 'attempts', t.attempts,
                                          'error', t.last_error, 'at', t.finished_at) order by t.finished_at desc)
        from (select * from pm_pipeline.tasks t where t.run_id = p_run_id and t.state = 'failed'
               order by t.finished_at desc limit 20) t), '[]'),
    'events', coalesce((
      select jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, 'message', e.message, 'data', e.data, 'at', e.created_at) order by e.id)
        from (select * from pm_pipeline.events e where e.run_id = p_run_id order by e.id desc limit greatest(coalesce(p_events, 50), 0)) e), '[]'))
   where exists (select from pm_pipeline.runs where id = p_run_id)
$$;

comment on function pm_pipeline.run_details(uuid, integer) is 'run_summary plus rejection reasons, failed tasks with their errors and the latest events (oldest first): GET /runs/:id.';

create function pm_pipeline.list_runs(p_status pm_pipeline.run_status default null, p_limit integer default 20)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(pm_pipeline.run_summary(r.id) order by r.created_at desc, r.id), '[]')
    from (select id, created_at from pm_pipeline.runs
           where p_status is null or status = p_status
           order by created_at desc, id limit least(greatest(coalesce(p_limit, 20), 1), 200)) r
$$;

comment on function pm_pipeline.list_runs(pm_pipeline.run_status, integer) is 'The most recent runs (at most 200), optionally of one status, as run_summary documents: GET /runs.';

create function pm_pipeline.lock_run_for_user(p_run_id uuid, p_action text, p_allowed pm_pipeline.run_status[])
returns pm_pipeline.runs
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
begin
  select * into v_run from pm_pipeline.runs where id = p_run_id for no key update;
  if v_run.id is null then
    raise exception 'run % does not exist', p_run_id using errcode = 'no_data_found';
  end if;
  if not v_run.status = any (p_allowed) then
    raise exception 'run % is %: % applies only to a run that is %', p_run_id, v_run.status, p_action,
      array_to_string(p_allowed::text[], ' or ') using errcode = 'PM409';
  end if;
  return v_run;
end
$$;

comment on function pm_pipeline.lock_run_for_user(uuid, text, pm_pipeline.run_status[]) is 'Locks a run for a user action; no_data_found if it does not exist, PM409 if its status does not allow the action.';

create function pm_pipeline.cancel_run(p_run_id uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if (pm_pipeline.lock_run_for_user(p_run_id, 'cancel', '{active,needs_user_decision,cancelled}')).status <> 'cancelled' then
    perform pm_pipeline.set_run_status(p_run_id, 'cancelled', 'cancelled by the user');
  end if;
end
$$;

comment on function pm_pipeline.cancel_run(uuid) is 'Cancels an active or waiting run (its queued tasks are cancelled); cancelling a cancelled run again changes nothing.';

-- p_decision: {"decision": "accept_partial"}
--           | {"decision": "expand_location", "city"?: text|null, "state"?: text, "states"?: [text]}
--           | {"decision": "loosen_pms", "pms": text|[text]|null}
--           | {"decision": "set_budget", "budget_usd": number|null}
-- The location and PMS decisions change the criteria and resume the run with new discovery.
create function pm_pipeline.decide_run(p_run_id uuid, p_decision jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kind text := p_decision->>'decision';
  v_run pm_pipeline.runs;
  v_criteria jsonb;
  v_problem text;
  v_p pm_pipeline.v_run_progress;
begin
  if v_kind is null or v_kind not in ('accept_partial', 'expand_location', 'loosen_pms', 'set_budget') then
    raise exception 'decision must be one of accept_partial, expand_location, loosen_pms, set_budget (got %)',
      coalesce((p_decision->'decision')::text, 'nothing') using errcode = 'invalid_parameter_value';
  end if;

  if v_kind = 'accept_partial' then
    v_run := pm_pipeline.lock_run_for_user(p_run_id, v_kind, '{needs_user_decision,active}');
    select * into v_p from pm_pipeline.v_run_progress where run_id = p_run_id;
    perform pm_pipeline.log_event(p_run_id, 'decision', 'decision: accept_partial', p_decision);
    perform pm_pipeline.set_run_status(p_run_id, 'completed',
      format('accepted partial: %s of %s companies, %s with at least %s contact(s)', v_p.accepted, v_run.target_quantity, v_p.ready, v_run.contacts_min));
    return;
  end if;

  if v_kind = 'set_budget' then
    perform pm_pipeline.lock_run_for_user(p_run_id, v_kind, '{needs_user_decision,active}');
    if not p_decision ? 'budget_usd' or jsonb_typeof(p_decision->'budget_usd') not in ('number', 'null') then
      raise exception 'budget_usd must be a number of dollars or null (no budget)' using errcode = 'invalid_parameter_value';
    end if;
    perform pm_pipeline.log_event(p_run_id, 'decision', 'decision: set_budget', p_decision);
    perform pm_pipeline.set_run_budget(p_run_id, (p_decision->>'budget_usd')::numeric);
    return;
  end if;

  -- expand_location / loosen_pms: new criteria, then new discovery
  v_run := pm_pipeline.lock_run_for_user(p_run_id, v_kind, '{needs_user_decision}');
  v_criteria := v_run.criteria;
  if v_kind = 'expand_location' then
    if not (p_decision ?| array['city', 'state', 'states']) then
      raise exception 'expand_location needs city, state or states' using errcode = 'invalid_parameter_value';
    end if;
    if p_decision ? 'state' and p_decision ? 'states' then
      raise exception 'expand_location takes state or states, not both' using errcode = 'invalid_parameter_value';
    end if;
    if p_decision ? 'city' then
      v_criteria := case when p_decision->'city' = 'null' then v_criteria - 'city'
                         else jsonb_set(v_criteria, '{city}', p_decision->'city') end;
    end if;
    if p_decision ? 'state' then
      v_criteria := jsonb_set(v_criteria - 'states', '{state}', p_decision->'state');
    elsif p_decision ? 'states' then
      v_criteria := jsonb_set(v_criteria - 'state', '{states}', p_decision->'states');
    end if;
  else
    if not p_decision ? 'pms' then
      raise exception 'loosen_pms needs pms: a name, a list of names, or null for any PMS' using errcode = 'invalid_parameter_value';
    end if;
    v_criteria := case when p_decision->'pms' = 'null' then v_criteria - 'pms'
                       else jsonb_set(v_criteria, '{pms}', p_decision->'pms') end;
  end if;
  v_problem := pm_pipeline.criteria_problem(v_criteria);
  if v_problem is not null then
    raise exception 'invalid criteria after %: %', v_kind, v_problem using errcode = 'invalid_parameter_value';
  end if;
  if v_criteria = v_run.criteria then
    raise exception '% changes nothing: the criteria are already %', v_kind, v_run.criteria using errcode = 'invalid_parameter_value';
  end if;

  update pm_pipeline.runs set criteria = v_criteria, discovery_exhausted = false, discovery_failures = 0, discovery_stopped = null
   where id = p_run_id;
  perform pm_pipeline.log_event(p_run_id, 'decision', format('decision: %s', v_kind),
    jsonb_build_object('decision', v_kind, 'criteria_before', v_run.criteria, 'criteria_after', v_criteria));
  if v_kind = 'loosen_pms' then
    perform pm_pipeline.requalify_companies(p_run_id);
  end if;
  perform pm_pipeline.resume_run(p_run_id, 'company_discovery', format('resumed by %s: criteria now %s', v_kind, v_criteria));
  perform pm_pipeline.reconcile_run(p_run_id);
end
$$;

comment on function pm_pipeline.decide_run(uuid, jsonb) is 'A user decision for a run: accept_partial completes it with what exists; expand_location / loosen_pms change the criteria and resume it with new discovery (loosen_pms also judges the companies already researched again); set_budget changes its budget. Recorded as events.';

create function pm_pipeline.domain_problem(p_value text)
returns text
language sql
security definer
immutable
set search_path = ''
as $$
  select case
    when p_value is null or pm_pipeline.normalize_domain(p_value) is null then 'empty'
    when length(pm_pipeline.normalize_domain(p_value)) > 253 then 'longer than 253 characters'
    when pm_pipeline.normalize_domain(p_value) !~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$'
      then 'not a domain name (letters, digits and hyphens, with a dot)'
  end
$$;

comment on function pm_pipeline.domain_problem(text) is 'Null when a URL or host normalises to a plausible domain name, else why not.';

create function pm_pipeline.add_suppression(p_domains text[], p_reason text default null, p_source text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_bad text;
  v_added integer;
  v_domains text[];
begin
  select format('"%s": %s', d, pm_pipeline.domain_problem(d)) into v_bad
    from unnest(p_domains) d where pm_pipeline.domain_problem(d) is not null limit 1;
  if v_bad is not null then
    raise exception 'invalid domain %', v_bad using errcode = 'invalid_parameter_value';
  end if;
  select coalesce(array_agg(distinct pm_pipeline.normalize_domain(d) order by pm_pipeline.normalize_domain(d)), '{}')
    into v_domains from unnest(p_domains) d;
  insert into pm_pipeline.suppression (domain, reason, source)
  select d, p_reason, p_source from unnest(v_domains) d
  on conflict (domain) do nothing;
  get diagnostics v_added = row_count;
  return jsonb_build_object('added', v_added, 'already', cardinality(v_domains) - v_added, 'domains', to_jsonb(v_domains));
end
$$;

comment on function pm_pipeline.add_suppression(text[], text, text) is 'Adds domains (normalised) to the suppression list; all or nothing: one invalid domain rejects the call. Returns added, already, domains.';

create function pm_pipeline.remove_suppression(p_domains text[])
returns integer
language sql
security definer
set search_path = ''
as $$
  with gone as (
    delete from pm_pipeline.suppression s
     where s.domain in (select pm_pipeline.normalize_domain(d) from unnest(p_domains) d)
    returning 1)
  select count(*)::int from gone
$$;

comment on function pm_pipeline.remove_suppression(text[]) is 'Removes domains (given in any form normalize_domain accepts) from the suppression list; returns how many were there.';

-- =============================================================================================
-- supabase/schemas/07_alerts.sql
-- =============================================================================================
-- Alerts: what the old monitor daemon e-mailed (and, crashing at import, never did), sent once.
--
-- An alert is a task of kind 'alert' in the one queue, worked by the monitor Edge Function: the
-- queue's claims, leases, bounded retries with backoff and kept errors apply to alerts as they do to
-- research. Alerts are enqueued here, in the transaction that caused them, with an idempotency key
-- per cause, so a cause never yields two alerts however often it is seen:
--   a run's status change to needs_user_decision, completed or error  'alert:event:<event id>'
--   a worker found dead by release_dead_worker_leases()              'alert:worker-dead:<worker>:<last heartbeat epoch>'
-- Alert tasks have no run_id on purpose: a run's queued tasks are cancelled when it ends, and only
-- active runs' tasks are claimed, yet "the run completed" must still be sent.
--
-- Each receiver's success is recorded (alert_deliveries) under the task's lease as soon as it
-- answers 2xx, so a retry after a partial failure sends only to the receivers still missing.

-- Retried for about a day: backoff 60 s doubling to 1 h, 36 attempts (35 waits of d/2..d with equal
-- jitter: 15 to 30 hours in all), then failed with every attempt's error kept. One at a time: a
-- receiver that is down gets one request per due alert, not a burst.
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds, backoff_base_seconds, backoff_max_seconds,
                                    concurrency, function_name)
values ('alert', 'Sends one alert (run needs a decision, completed or failed; dead worker) to the configured receivers.',
        36, 30, 60, 3600, 1, 'monitor');

-- "Buildium; Round Rock, TX; 100-2000 units": the criteria in one line for a human.
create function pm_pipeline.criteria_summary(p_criteria jsonb)
returns text
language sql
security definer
immutable
set search_path = ''
as $$
  select concat_ws('; ',
    case jsonb_typeof(p_criteria->'pms')
      when 'string' then p_criteria->>'pms'
      when 'array' then (select string_agg(p, ' or ') from jsonb_array_elements_text(p_criteria->'pms') p)
      else 'any PMS' end,
    nullif(concat_ws(', ', p_criteria->>'city',
      coalesce(p_criteria->>'state', (select string_agg(s, ', ') from jsonb_array_elements_text(p_criteria->'states') s))), ''),
    case when p_criteria ? 'units_min' and p_criteria ? 'units_max' then format('%s-%s units', p_criteria->>'units_min', p_criteria->>'units_max')
         when p_criteria ? 'units_min' then format('at least %s units', p_criteria->>'units_min')
         when p_criteria ? 'units_max' then format('at most %s units', p_criteria->>'units_max') end)
$$;

comment on function pm_pipeline.criteria_summary(jsonb) is 'Run criteria in one line for alerts: PMS; location; unit range.';

create function pm_pipeline.enqueue_run_alert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
  v_p pm_pipeline.v_run_progress;
begin
  select * into v_run from pm_pipeline.runs r where r.id = new.run_id;
  select * into v_p from pm_pipeline.v_run_progress p where p.run_id = new.run_id;
  perform pm_pipeline.enqueue_tasks('alert', null, jsonb_build_array(jsonb_build_object(
    'key', 'alert:event:' || new.id,
    'payload', jsonb_build_object(
      'type', case new.data->>'to' when 'needs_user_decision' then 'run_needs_decision'
                                   when 'completed' then 'run_completed' else 'run_failed' end,
      'run_id', new.run_id,
      'status', new.data->>'to',
      'message', new.message,
      'criteria', pm_pipeline.criteria_summary(v_run.criteria),
      'counts', jsonb_build_object('target', v_run.target_quantity, 'ready', v_p.ready, 'accepted', v_p.accepted,
                                   'rejected', v_p.rejected, 'review', v_p.review, 'contacts', v_p.contacts,
                                   'tasks_failed', v_p.tasks_failed),
      'event_id', new.id,
      'at', new.created_at))));
  return null;
end
$$;

comment on function pm_pipeline.enqueue_run_alert() is 'Trigger: enqueues the alert of a run status change (needs_user_decision, completed, error), keyed by the event id.';

create trigger events_enqueue_run_alert
  after insert on pm_pipeline.events
  for each row
  when (new.kind = 'status_changed' and new.data->>'to' in ('needs_user_decision', 'completed', 'error'))
  execute function pm_pipeline.enqueue_run_alert();

-- A trigger on the transition rather than a change to release_dead_worker_leases(): the function
-- users call by hand keeps its body and result, and any path that marks a worker dead alerts.
-- It fires before the dead worker's tasks are released, so they are still its running tasks.
create function pm_pipeline.enqueue_dead_worker_alert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pm_pipeline.enqueue_tasks('alert', null, jsonb_build_array(jsonb_build_object(
    -- the last heartbeat tells lives apart: a worker id that comes back and dies again alerts again
    'key', format('alert:worker-dead:%s:%s', new.worker_id, extract(epoch from new.last_heartbeat_at)),
    'payload', jsonb_build_object(
      'type', 'worker_dead',
      'worker_id', new.worker_id,
      'worker_type', new.worker_type,
      'last_heartbeat_at', new.last_heartbeat_at,
      'current_task', new.current_task,
      'current_run_id', new.current_run_id,
      -- the leases it still holds (one that expired first was already taken back; current_task tells)
      'held_tasks', (select coalesce(jsonb_agg(jsonb_build_object('task_id', t.id, 'kind', t.kind, 'run_id', t.run_id) order by t.id), '[]')
                       from pm_pipeline.tasks t where t.state = 'running' and t.locked_by = new.worker_id),
      'at', now()))));
  return null;
end
$$;

comment on function pm_pipeline.enqueue_dead_worker_alert() is 'Trigger: enqueues one alert when a worker is marked dead, keyed by worker id and last heartbeat.';

create trigger worker_heartbeats_enqueue_dead_worker_alert
  after update of status on pm_pipeline.worker_heartbeats
  for each row
  when (new.status = 'dead' and old.status is distinct from 'dead')
  execute function pm_pipeline.enqueue_dead_worker_alert();

create table pm_pipeline.alert_deliveries (
  task_id bigint not null references pm_pipeline.tasks (id) on delete cascade,
  receiver text not null check (receiver ~ '^[a-z][a-z0-9_-]{0,30}$'),
  attempt integer not null,
  delivered_at timestamptz not null default now(),
  response jsonb not null default '{}',
  primary key (task_id, receiver)
);
alter table pm_pipeline.alert_deliveries enable row level security;

comment on table pm_pipeline.alert_deliveries is 'Which receiver (webhook, email) accepted which alert task, in which attempt, with its answer: a retry skips these receivers.';

create function pm_pipeline.record_alert_delivery(p_task_id bigint, p_lease_token uuid, p_receiver text, p_response jsonb default '{}')
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if v_task.kind <> 'alert' then
    raise exception 'task % is a % task, not an alert', p_task_id, v_task.kind using errcode = 'invalid_parameter_value';
  end if;
  insert into pm_pipeline.alert_deliveries (task_id, receiver, attempt, response)
  values (p_task_id, p_receiver, v_task.attempts, coalesce(p_response, '{}'))
  on conflict (task_id, receiver) do nothing;
  return found;
end
$$;

comment on function pm_pipeline.record_alert_delivery(bigint, uuid, text, jsonb) is 'Fenced by the lease: records that a receiver accepted an alert; false when it was recorded before.';

create view pm_pipeline.v_alerts
with (security_invoker = true)
as
select t.id as task_id, t.key, t.payload->>'type' as type, t.state, t.attempts, t.max_attempts,
       case when t.state = 'queued' then t.run_after end as next_attempt_at,
       coalesce(array(select d.receiver from pm_pipeline.alert_deliveries d where d.task_id = t.id order by d.receiver), '{}') as delivered_to,
       coalesce((t.result->>'delivered')::boolean, false) as delivered,
       coalesce(t.result->>'reason', t.last_error) as problem,
       t.payload, t.created_at, t.finished_at
  from pm_pipeline.tasks t
 where t.kind = 'alert';

comment on view pm_pipeline.v_alerts is 'Every alert: type, state, attempts, the receivers that accepted it, and why it was not (yet) delivered.';

-- =============================================================================================
-- supabase/schemas/08_cron.sql
-- =============================================================================================
-- Maintenance by pg_cron, the job the old heartbeat-monitor daemon was meant to do (it crashed at
-- import): release dead workers' leases, dispatch waiting work, purge stale worker rows, trim
-- pg_cron's own history and the pipeline's (finished tasks, events, usage rows, pg_net's responses).
--
-- Valid on Debian's pg_cron 1.4 (5-field cron only, so at most once a minute) and on hosted
-- Supabase (pg_cron >= 1.5 also takes 'N seconds'). Claims re-queue expired leases themselves,
-- so the minute schedule only matters when no worker is claiming.

create extension if not exists pg_cron;

create function pm_pipeline.purge_cron_history()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count bigint;
begin
  delete from cron.job_run_details d
   where d.end_time < now() - (select s.cron_history_retention from pm_pipeline.settings s);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

comment on function pm_pipeline.purge_cron_history() is 'Deletes pg_cron run history older than settings.cron_history_retention; returns how many rows.';

create function pm_pipeline.purge_stale_workers()
returns bigint
language sql
security definer
set search_path = ''
as $$
  select count(*) from pm_pipeline.cleanup_stale_workers((select s.stale_worker_purge_minutes from pm_pipeline.settings s));
$$;

comment on function pm_pipeline.purge_stale_workers() is 'cleanup_stale_workers with settings.stale_worker_purge_minutes; returns how many rows it deleted.';

-- History older than settings.history_retention, of what no live run needs: finished tasks (alert
-- tasks too, and with them their deliveries), events and usage rows of runs that ended (or of no
-- run). A run that is active or waiting for a decision keeps everything: its budget sums its usage,
-- its reconcile counts its tasks. Runs, companies, research and contacts are results: kept.
create function pm_pipeline.purge_old_rows()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before timestamptz := now() - (select s.history_retention from pm_pipeline.settings s);
  v_tasks bigint;
  v_events bigint;
  v_usage bigint;
  v_responses bigint := 0;
  v_responses_table regclass := to_regclass('net._http_response');
begin
  delete from pm_pipeline.tasks t
   where t.state in ('succeeded', 'failed', 'cancelled') and coalesce(t.finished_at, t.updated_at) < v_before
     and not exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_tasks = row_count;
  delete from pm_pipeline.events e
   where e.created_at < v_before
     and not exists (select from pm_pipeline.runs r where r.id = e.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_events = row_count;
  delete from pm_pipeline.provider_usage u
   where u.created_at < v_before
     and not exists (select from pm_pipeline.runs r where r.id = u.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_usage = row_count;
  -- pg_net keeps every response (hosted Supabase: 6 hours by default); absent on the local stack
  if v_responses_table is not null then
    execute format('delete from %s where created < $1', v_responses_table) using v_before;
    get diagnostics v_responses = row_count;
  end if;
  return jsonb_build_object('tasks', v_tasks, 'events', v_events, 'provider_usage', v_usage, 'http_responses', v_responses);
end
$$;

comment on function pm_pipeline.purge_old_rows() is 'Deletes history older than settings.history_retention that no live run needs: finished tasks, events, usage rows, pg_net responses; returns the counts.';

-- The schedule of the jobs that should run often: every 10 s where pg_cron takes seconds (>= 1.5,
-- hosted Supabase), else every minute (the 5-field cron of Debian's pg_cron 1.4).
create function pm_pipeline.frequent_cron_schedule()
returns text
language sql
security definer
stable
set search_path = ''
as $$
  select case when string_to_array(split_part(e.extversion, '-', 1), '.')::int[] >= array[1, 5]
              then '10 seconds' else '* * * * *' end
    from pg_extension e where e.extname = 'pg_cron';
$$;

comment on function pm_pipeline.frequent_cron_schedule() is 'Every 10 seconds on pg_cron >= 1.5, every minute on older pg_cron.';

select cron.schedule('pm_pipeline_release_dead_leases', pm_pipeline.frequent_cron_schedule(),
  'select count(*) from pm_pipeline.release_dead_worker_leases()');

select cron.schedule('pm_pipeline_dispatch_waiting_work', pm_pipeline.frequent_cron_schedule(),
  'select pm_pipeline.dispatch_waiting_work()');

select cron.schedule('pm_pipeline_purge_stale_workers', '*/10 * * * *', 'select pm_pipeline.purge_stale_workers()');

select cron.schedule('pm_pipeline_purge_cron_history', '17 3 * * *', 'select pm_pipeline.purge_cron_history()');

select cron.schedule('pm_pipeline_purge_old_rows', '27 3 * * *', 'select pm_pipeline.purge_old_rows()');

-- =============================================================================================
-- supabase/schemas/09_access.sql
-- =============================================================================================
-- Access. The pipeline is for the service role (Edge Functions, the CLI through the run API) and
-- postgres (migrations, pg_cron, psql). anon and authenticated get nothing, and row level security
-- is on for every table (each file enables it beside its table) with no policies for them, so a
-- mistaken grant still exposes no rows.
--
-- The Edge Functions connect as their own role, pm_pipeline_worker: it may execute the SQL API and
-- read what the functions read directly, and write nothing itself. Every write goes through a
-- function, and every function is SECURITY DEFINER (it runs as the schema's owner; each sets
-- search_path = ''), so a leaked connection string cannot rewrite the queue, forge a lease or drop
-- a row outside the rules the functions enforce. The role is created without login: the local
-- stack gives it a password (scripts/stack.sh), a hosted project does the same by hand
-- (docs/deploy.md) or keeps postgres. This file comes last, so that its grants cover every object.

revoke all on schema pm_pipeline from public, anon, authenticated;
revoke all on all tables in schema pm_pipeline from public, anon, authenticated;
revoke all on all sequences in schema pm_pipeline from public, anon, authenticated;
-- functions are executable by PUBLIC by default, and a schema-level default privilege cannot take
-- that away: revoked here, after every function exists
revoke all on all functions in schema pm_pipeline from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on tables from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on sequences from public, anon, authenticated;

grant usage on schema pm_pipeline to service_role;
grant all on all tables in schema pm_pipeline to service_role;
grant all on all sequences in schema pm_pipeline to service_role;
grant execute on all functions in schema pm_pipeline to service_role;
alter default privileges in schema pm_pipeline grant all on tables to service_role;
alter default privileges in schema pm_pipeline grant all on sequences to service_role;
alter default privileges in schema pm_pipeline grant execute on functions to service_role;

do $$
begin
  if not exists (select from pg_roles where rolname = 'pm_pipeline_worker') then
    create role pm_pipeline_worker nologin noinherit;
  end if;
end
$$;
comment on role pm_pipeline_worker is 'The Edge Functions'' database role: executes the pm_pipeline SQL API, reads what the functions read, writes nothing directly.';

grant usage on schema pm_pipeline to pm_pipeline_worker;
grant execute on all functions in schema pm_pipeline to pm_pipeline_worker;

-- What the functions read with a plain SELECT (the workers' inputs, the API's lists and exports):
-- the tables with a policy that lets this role see their rows (row level security stays on) ...
grant select on pm_pipeline.runs, pm_pipeline.companies, pm_pipeline.company_research, pm_pipeline.contacts,
  pm_pipeline.suppression, pm_pipeline.alert_deliveries to pm_pipeline_worker;
create policy worker_reads on pm_pipeline.runs for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.companies for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.company_research for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.contacts for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.suppression for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.alert_deliveries for select to pm_pipeline_worker using (true);
-- ... and the views that read the queue and worker tables with their owner's rights
-- (security_invoker = false where they are defined: the role sees the queue's numbers, not its rows)
grant select on pm_pipeline.v_queue_stats, pm_pipeline.v_workers, pm_pipeline.v_companies_export,
  pm_pipeline.v_contacts_export to pm_pipeline_worker;

