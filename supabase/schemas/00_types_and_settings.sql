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
  'units_out_of_range', 'too_few_contacts', 'task_failed', 'domain_mismatch');
comment on type pm_pipeline.company_reason is 'Why a company is rejected or in review: the research verdict (disqualified ... units_out_of_range, decided in shared/pipeline/qualify.ts), too_few_contacts (contact research), task_failed (its task failed for good), domain_mismatch (its homepage carries another name: a look-alike or unrelated domain, qualify.ts).';

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
