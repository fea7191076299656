-- pm-leads: the pipeline's data. Runs, the companies and contacts they find, the suppression list,
-- the event log and the settings. The task queue and worker liveness follow in later migrations.
--
-- The schema is not exposed to the Data API: only service_role and postgres use it (see the last
-- migration for grants and row level security).

create schema if not exists pm_pipeline;
comment on schema pm_pipeline is 'pm-leads: lead-list runs, their companies and contacts, and the one task queue every worker uses.';

-- ---------------------------------------------------------------------------------------------
-- Settings: one row, typed, editable in Studio. Thresholds are much tighter than the old system's
-- 5 minutes because a lease must be renewed well inside an Edge Function's 150 s wall clock.
-- ---------------------------------------------------------------------------------------------
create table pm_pipeline.settings (
  id boolean primary key default true check (id),
  heartbeat_interval_seconds integer not null default 10 check (heartbeat_interval_seconds between 1 and 300),
  dead_worker_after_seconds integer not null default 30,
  stale_worker_purge_minutes integer not null default 60 check (stale_worker_purge_minutes >= 1),
  cron_history_retention interval not null default '7 days' check (cron_history_retention >= interval '1 hour'),
  history_retention interval not null default '30 days' check (history_retention >= interval '1 day'),
  updated_at timestamptz not null default now(),
  -- a worker is dead only after it missed at least two heartbeats
  constraint settings_dead_after_two_heartbeats check (dead_worker_after_seconds >= 2 * heartbeat_interval_seconds)
);
insert into pm_pipeline.settings default values;
comment on table pm_pipeline.settings is 'One row of pipeline settings: heartbeat interval, when a silent worker counts as dead, when stale worker rows are purged, how long pg_cron history and the pipeline''s history (finished tasks, events, usage, pg_net responses) are kept.';

-- ---------------------------------------------------------------------------------------------
-- Domains: every domain stored in the schema is normalised the same way.
-- ---------------------------------------------------------------------------------------------
create function pm_pipeline.normalize_domain(p_value text)
returns text
language sql
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

-- ---------------------------------------------------------------------------------------------
-- Runs
-- ---------------------------------------------------------------------------------------------
create type pm_pipeline.run_stage as enum ('company_discovery', 'company_research', 'contact_discovery', 'done');
create type pm_pipeline.run_status as enum ('active', 'needs_user_decision', 'completed', 'error', 'cancelled');
comment on type pm_pipeline.run_stage is 'A run''s stage, in pipeline order; it never moves backwards except when a user decision resumes the run.';
comment on type pm_pipeline.run_status is 'active -> needs_user_decision | completed | error | cancelled; needs_user_decision -> active (resume) | completed | error | cancelled.';

-- Returns null for valid criteria, else what is wrong with them. The run API validates with zod first;
-- this is the backstop so that nothing else can store criteria the workers cannot read.
create function pm_pipeline.criteria_problem(p_criteria jsonb)
returns text
language plpgsql
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
  notes text,
  idempotency_key text unique check (length(idempotency_key) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  constraint runs_contacts_range check (contacts_min between 0 and 10 and contacts_max between 1 and 10 and contacts_min <= contacts_max),
  -- 'done' and 'completed' mean the same thing and are set together
  constraint runs_done_is_completed check ((stage = 'done') = (status = 'completed'))
);
comment on table pm_pipeline.runs is 'A lead-list request: criteria, how many companies, how many contacts each, and where it stands. Stage and status change only through advance_run_stage / set_run_status (a trigger rejects any other move).';
comment on column pm_pipeline.runs.criteria is 'e.g. {"pms": "Buildium", "state": "TX", "city": "Austin", "units_min": 100, "units_max": 2000}';
comment on column pm_pipeline.runs.idempotency_key is 'Optional client key: creating a run with a key that exists returns the existing run.';

-- ---------------------------------------------------------------------------------------------
-- Companies, their research, their contacts
-- ---------------------------------------------------------------------------------------------
create type pm_pipeline.company_status as enum ('candidate', 'accepted', 'rejected', 'review');
comment on type pm_pipeline.company_status is 'candidate: found, not yet researched; accepted: qualifies; rejected: does not (reason kept); review: evidence too weak to accept automatically.';

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
  source_urls text[] not null default '{}',
  discovered_by_task bigint,
  discovered_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint companies_run_domain_unique unique (run_id, domain),
  constraint companies_rejection_has_reason check (status <> 'rejected' or rejection_reason is not null)
);
create index companies_run_status on pm_pipeline.companies (run_id, status);
comment on table pm_pipeline.companies is 'Companies a run found, unique per run by normalised domain (the company''s own site, never a PMS portal host).';

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
create index company_research_run on pm_pipeline.company_research (run_id);
comment on table pm_pipeline.company_research is 'What research found about one company: PMS with evidence, units (with the quote and URL they came from), property mix, employees, ICP fit.';

create type pm_pipeline.email_class as enum ('published', 'pattern_inferred', 'generic_role', 'personal', 'unknown');

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
create unique index contacts_company_email_unique on pm_pipeline.contacts (company_id, lower(email)) where email is not null;
create unique index contacts_company_linkedin_unique on pm_pipeline.contacts (company_id, lower(linkedin_url)) where linkedin_url is not null;
create index contacts_run on pm_pipeline.contacts (run_id);
create index contacts_company on pm_pipeline.contacts (company_id);
comment on table pm_pipeline.contacts is 'Decision makers of a company, unique per company by lower(email) and by lower(linkedin_url).';

-- ---------------------------------------------------------------------------------------------
-- Suppression: domains no run may return (customers, recently contacted, do-not-contact)
-- ---------------------------------------------------------------------------------------------
create table pm_pipeline.suppression (
  domain text primary key constraint suppression_domain_normalized check (domain = pm_pipeline.normalize_domain(domain)),
  reason text,
  source text,
  created_at timestamptz not null default now()
);
comment on table pm_pipeline.suppression is 'Blocked domains (normalised): no run ever accepts a company with one of these domains.';

-- ---------------------------------------------------------------------------------------------
-- Event log: what happened to a run and why, for users and for alerts
-- ---------------------------------------------------------------------------------------------
create table pm_pipeline.events (
  id bigint generated always as identity primary key,
  run_id uuid references pm_pipeline.runs (id) on delete cascade,
  task_id bigint,
  kind text not null,
  message text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index events_run on pm_pipeline.events (run_id, id);
comment on table pm_pipeline.events is 'Append-only log of what happened to runs and tasks (stage changes, permanent task failures, decisions), newest last.';

create function pm_pipeline.log_event(p_run_id uuid, p_kind text, p_message text, p_data jsonb default '{}', p_task_id bigint default null)
returns void
language sql
set search_path = ''
as $$
  insert into pm_pipeline.events (run_id, task_id, kind, message, data)
  values (p_run_id, p_task_id, p_kind, p_message, coalesce(p_data, '{}'));
$$;
comment on function pm_pipeline.log_event(uuid, text, text, jsonb, bigint) is 'Appends one row to the event log.';
