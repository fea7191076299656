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
  researched_at timestamptz not null default now(),
  pms_evidence_url text,
  pms_read_at timestamptz,
  units_read_at timestamptz,
  units_evidence text check (units_evidence in ('verified', 'unverified', 'none')),
  domain_evidence text check (domain_evidence in ('matches', 'mismatch', 'unknown')),
  site_name text
);
alter table pm_pipeline.company_research enable row level security;

create index company_research_run on pm_pipeline.company_research (run_id);

comment on table pm_pipeline.company_research is 'What research found about one company: PMS with evidence, units (with the quote and URL they came from), property mix, employees, ICP fit.';
comment on column pm_pipeline.company_research.pms_evidence_url is 'The company page that shows the PMS (the one linking to its portal, or the URL that redirected there), as the PMS check read it.';
comment on column pm_pipeline.company_research.pms_read_at is 'When the PMS check read that page.';
comment on column pm_pipeline.company_research.units_read_at is 'When the page of units_source_url was read (by the PMS check or the provider''s searches); null when no read had it.';
comment on column pm_pipeline.company_research.units_evidence is 'verified: units_source_url is a page that was read; unverified: cited, but no search or fetch read it (the number still counts, flagged); none: no page given.';
comment on column pm_pipeline.company_research.domain_evidence is 'Whether the domain is the company''s own: matches (its name on the homepage), mismatch (another name: a look-alike, sent to review), unknown (no homepage read).';
comment on column pm_pipeline.company_research.site_name is 'What the homepage calls itself (og:site_name or its title), for the person who reviews a mismatch.';

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
  created_at timestamptz not null default now(),
  title_source_url text,
  title_read_at timestamptz,
  title_evidence text check (title_evidence in ('verified', 'unverified', 'none')),
  email_source_url text,
  email_read_at timestamptz,
  email_evidence text check (email_evidence in ('verified', 'unverified', 'none')),
  -- the domain check of the e-mail as the worker saw it (pm_pipeline.email_domains), and the lists' flags
  email_domain_check text check (email_domain_check in ('deliverable', 'undeliverable', 'unknown')),
  email_checked_at timestamptz,
  email_free_mail boolean,
  email_disposable boolean
);
alter table pm_pipeline.contacts enable row level security;

create unique index contacts_company_email_unique on pm_pipeline.contacts (company_id, lower(email)) where email is not null;

create unique index contacts_company_linkedin_unique on pm_pipeline.contacts (company_id, lower(linkedin_url)) where linkedin_url is not null;

create index contacts_run on pm_pipeline.contacts (run_id);

create index contacts_company on pm_pipeline.contacts (company_id);

comment on table pm_pipeline.contacts is 'Decision makers of a company, unique per company by lower(email) and by lower(linkedin_url).';
comment on column pm_pipeline.contacts.title_source_url is 'The page that shows the person''s title, as the provider cited it.';
comment on column pm_pipeline.contacts.title_read_at is 'When the provider''s search read that page; null when none did.';
comment on column pm_pipeline.contacts.title_evidence is 'verified: the title''s page was read by the search; unverified: cited but not read (kept, flagged); none: no page.';
comment on column pm_pipeline.contacts.email_source_url is 'The page that shows the e-mail address, as the provider cited it.';
comment on column pm_pipeline.contacts.email_read_at is 'When the provider''s search read that page; null when none did.';
comment on column pm_pipeline.contacts.email_evidence is 'verified: the e-mail''s page was read by the search; unverified: cited but not read (kept, flagged); none: no page (an inferred address has none).';

-- Can an e-mail domain receive mail: what DNS said (MX, the A/AAAA fallback, a null MX, NXDOMAIN),
-- one row per domain, shared by every worker; read back while fresh (fresh_email_domains)

create table pm_pipeline.email_domains (
  domain text primary key constraint email_domains_domain_is_a_name
    check (domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' and length(domain) <= 253),
  verdict text not null check (verdict in ('deliverable', 'undeliverable', 'unknown')),
  reason text not null check (reason in ('mx', 'implicit_mx', 'null_mx', 'nxdomain', 'no_records', 'timeout', 'servfail', 'refused', 'dns_error')),
  mx_hosts text[] not null default '{}',
  error text,
  checked_at timestamptz not null
);
alter table pm_pipeline.email_domains enable row level security;

comment on table pm_pipeline.email_domains is 'What DNS said about an e-mail domain (deliverable: MX or an A/AAAA record; undeliverable: null MX, NXDOMAIN or no records; unknown: timeout, SERVFAIL), the latest check per domain.';

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
comment on column pm_pipeline.v_run_progress.run_id is 'The run.';
comment on column pm_pipeline.v_run_progress.status is 'Its status.';
comment on column pm_pipeline.v_run_progress.stage is 'Its stage.';
comment on column pm_pipeline.v_run_progress.target_quantity is 'How many companies it is to find.';
comment on column pm_pipeline.v_run_progress.contacts_min is 'Contacts each company needs at least.';
comment on column pm_pipeline.v_run_progress.contacts_max is 'Contacts each company gets at most.';
comment on column pm_pipeline.v_run_progress.accepted is 'Companies accepted.';
comment on column pm_pipeline.v_run_progress.ready is 'Accepted companies with at least contacts_min contacts.';
comment on column pm_pipeline.v_run_progress.candidates is 'Companies being researched.';
comment on column pm_pipeline.v_run_progress.rejected is 'Companies rejected (see companies.rejection_reason).';
comment on column pm_pipeline.v_run_progress.review is 'Companies held for a person to look at.';
comment on column pm_pipeline.v_run_progress.contacts is 'Contacts of accepted companies.';
comment on column pm_pipeline.v_run_progress.discovery_in_flight is 'Discovery (lead_list) tasks queued or running.';
comment on column pm_pipeline.v_run_progress.tasks_in_flight is 'All its tasks queued or running.';
comment on column pm_pipeline.v_run_progress.tasks_failed is 'Its tasks that failed for good.';
comment on column pm_pipeline.v_run_progress.discovery_exhausted is 'Whether discovery found nothing new the last time.';
comment on column pm_pipeline.v_run_progress.notes is 'Its last status message (why it waits, how it ended).';
comment on column pm_pipeline.v_run_progress.created_at is 'When it was created.';
comment on column pm_pipeline.v_run_progress.updated_at is 'When it last changed.';
comment on column pm_pipeline.v_run_progress.finished_at is 'When it ended.';

-- The share of a run's judged companies that were accepted, at least 1/4 (a run that accepts few
-- asks for at most 4 times what it misses).
create function pm_pipeline.discovery_acceptance(p_accepted integer, p_judged integer)
returns numeric
language sql
immutable
security definer
set search_path = ''
as $$
  select greatest(p_accepted::numeric / nullif(p_judged, 0), 0.25)
$$;
comment on function pm_pipeline.discovery_acceptance(integer, integer) is 'The share of judged companies accepted (at least 0.25): how much more than what is missing a discovery batch asks for.';

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
  v_judged integer;
  v_wanted integer;
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
    -- a batch asks for what is expected to be missing, divided by the share p of the judged
    -- companies accepted so far (once 5 are judged; p at least 1/4): (target - accepted -
    -- candidates * p) / p, and never less than what is missing. Asking for exactly what was
    -- missing made each rejection of a candidate still in research cost another round of
    -- discovery and research at the end of a run (bench:agents: 9 batches for 25 companies).
    v_judged := v_p.accepted + v_p.rejected + v_p.review;
    v_wanted := case when v_judged >= 5
                     then greatest(v_missing, ceil((v_run.target_quantity - v_p.accepted) / pm_pipeline.discovery_acceptance(v_p.accepted, v_judged)
                                                   - v_p.candidates)::int)
                     else v_missing end;
    update pm_pipeline.runs set discovery_batches = discovery_batches + 1 where id = p_run_id
    returning discovery_batches into v_batch_no;
    perform pm_pipeline.enqueue_tasks('lead_list', p_run_id, jsonb_build_array(jsonb_build_object(
      'key', format('discover:%s:%s', p_run_id, v_batch_no),
      'payload', jsonb_build_object('count', least(v_batch, v_wanted), 'batch', v_batch_no),
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
      v_message || '. Options: accept_partial, expand_location, loosen_pms, set_budget.', null, 'target_not_met');
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
         additional_research_notes, agent_summary, source_urls, found_by_task,
         title_source_url, title_read_at, title_evidence, email_source_url, email_read_at, email_evidence,
         email_domain_check, email_checked_at, email_free_mail, email_disposable)
  select p_company_id, v_task.run_id, btrim(x.full_name), x.title, x.title_tier, nullif(btrim(x.email), ''),
         coalesce(x.email_class, 'unknown'), nullif(btrim(x.linkedin_url), ''), x.department, x.seniority, x.quality_score,
         x.icp_score, x.personalization_notes, x.personal_anecdotes, x.professional_anecdotes, x.additional_research_notes,
         x.agent_summary, coalesce(x.source_urls, '{}'), v_task.id,
         x.title_source_url, x.title_read_at, x.title_evidence, x.email_source_url, x.email_read_at, x.email_evidence,
         x.email_domain_check, x.email_checked_at, x.email_free_mail, x.email_disposable
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

-- What a discovery batch asks the provider to leave out: the run's companies, and the suppressed
-- domains the provider already offered this run (never the rest of the list: it stays ours).
create function pm_pipeline.discovery_exclusions(p_task_id bigint, p_lease_token uuid)
returns setof text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  return query
  select c.domain from pm_pipeline.companies c where c.run_id = v_task.run_id
  union
  select s.domain
    from pm_pipeline.tasks t
   cross join lateral jsonb_array_elements_text(coalesce(t.result->'suppressed', '[]')) s(domain)
   where t.run_id = v_task.run_id and t.kind = 'lead_list' and t.state = 'succeeded';
end
$$;

comment on function pm_pipeline.discovery_exclusions(bigint, uuid) is 'Fenced: the domains a discovery batch excludes (the run''s companies and the suppressed ones already offered in the run).';

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
  v_suppressed text[] := '{}'::text[];
  v_first_offers integer := 0;
begin
  select * into v_run from pm_pipeline.runs where id = v_task.run_id for no key update;
  if v_run.status = 'active' then
    -- suppressed domains the provider offered: kept in the result, so that later batches exclude them
    select coalesce(array_agg(distinct d.domain), '{}') into v_suppressed
      from jsonb_array_elements(coalesce(p_result->'companies', '[]')) x
     cross join lateral (select pm_pipeline.normalize_domain(coalesce(x->>'domain', x->>'website')) as domain) d
     where exists (select from pm_pipeline.suppression s where s.domain = d.domain);
    select count(*) into v_first_offers
      from unnest(v_suppressed) o(domain)
     where o.domain not in (select pm_pipeline.discovery_exclusions(p_task_id, p_lease_token));
    -- never more candidates than the run still needs
    select v_run.target_quantity - count(*) filter (where c.status in ('accepted', 'candidate'))
      into v_room from pm_pipeline.companies c where c.run_id = v_run.id;
    select coalesce(jsonb_agg(jsonb_build_object('key', 'research:' || a.id, 'payload', jsonb_build_object('company_id', a.id))), '[]'),
           count(*)
      into v_research, v_new
      from pm_pipeline.add_companies(p_task_id, p_lease_token, coalesce(p_result->'companies', '[]'), greatest(v_room, 0)) a;
    perform pm_pipeline.enqueue_tasks('company_research', v_run.id, v_research);
    -- the provider says it has no more, or a batch with room for more brought nothing new; a batch
    -- emptied by suppressed domains offered for the first time is not the end (the next one excludes
    -- them, so this happens at most once per suppressed domain)
    if coalesce((p_result->>'exhausted')::boolean, false) or (v_new = 0 and v_room > 0 and v_first_offers = 0) then
      update pm_pipeline.runs set discovery_exhausted = true where id = v_run.id;
    end if;
  end if;
  perform pm_pipeline.complete_task(p_task_id, p_lease_token,
    (p_result - 'companies' - 'suppressed') || jsonb_build_object('new_companies', v_new,
      'returned', jsonb_array_length(coalesce(p_result->'companies', '[]')), 'suppressed', to_jsonb(v_suppressed)));
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
         disqualifiers, agent_summary, source_urls, researched_by_task,
         pms_evidence_url, pms_read_at, units_read_at, units_evidence, domain_evidence, site_name)
  values (v_company_id, v_task.run_id, v_research.pms, v_research.pms_confidence, coalesce(v_research.pms_evidence_urls, '{}'),
         v_research.units, coalesce(v_research.units_estimated, true), v_research.units_quote, v_research.units_source_url,
         v_research.single_family_focus, v_research.property_mix, v_research.employees, v_research.icp_fit, v_research.icp_score,
         v_research.icp_tier, coalesce(v_research.disqualifiers, '{}'), v_research.agent_summary, coalesce(v_research.source_urls, '{}'),
         p_task_id, v_research.pms_evidence_url, v_research.pms_read_at, v_research.units_read_at, v_research.units_evidence,
         v_research.domain_evidence, v_research.site_name)
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

-- Stores domain checks the worker made (p_checks: [{domain, verdict, reason, mx_hosts, error,
-- checked_at}]), fenced by its lease; a check older than the one stored changes nothing.
create function pm_pipeline.record_email_domains(p_task_id bigint, p_lease_token uuid, p_checks jsonb)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
  v_written integer;
begin
  if jsonb_typeof(p_checks) is distinct from 'array' then
    raise exception 'email domain checks must be a JSON array' using errcode = 'invalid_parameter_value';
  end if;
  if exists (select from jsonb_array_elements(p_checks) e
              where jsonb_typeof(e) <> 'object' or e->>'domain' is null or e->>'checked_at' is null
                 or e->>'domain' is distinct from lower(e->>'domain')) then
    raise exception 'every email domain check needs a lower-case domain and checked_at (task %)', v_task.id using errcode = 'invalid_parameter_value';
  end if;
  insert into pm_pipeline.email_domains as d (domain, verdict, reason, mx_hosts, error, checked_at)
  select distinct on (x.domain) x.domain, x.verdict, x.reason, coalesce(x.mx_hosts, '{}'), x.error, x.checked_at
    from jsonb_populate_recordset(null::pm_pipeline.email_domains, p_checks) x
   order by x.domain, x.checked_at desc
  on conflict (domain) do update
     set verdict = excluded.verdict, reason = excluded.reason, mx_hosts = excluded.mx_hosts, error = excluded.error, checked_at = excluded.checked_at
   where d.checked_at < excluded.checked_at;
  get diagnostics v_written = row_count;
  return v_written;
end
$$;

comment on function pm_pipeline.record_email_domains(bigint, uuid, jsonb) is 'Fenced: stores the e-mail domain checks a worker made (the newer check of a domain wins); returns how many rows changed.';

-- The stored checks of these domains that are still fresh: a definite verdict younger than
-- p_max_age_seconds. An unknown one is never fresh (the next worker asks DNS again).
create function pm_pipeline.fresh_email_domains(p_domains text[], p_max_age_seconds integer)
returns setof pm_pipeline.email_domains
language sql
security definer
stable
set search_path = ''
as $$
  select d.* from pm_pipeline.email_domains d
   where d.domain = any(p_domains) and d.verdict <> 'unknown'
     and d.checked_at > now() - make_interval(secs => greatest(p_max_age_seconds, 0));
$$;

comment on function pm_pipeline.fresh_email_domains(text[], integer) is 'The stored e-mail domain checks of these domains with a definite verdict younger than the given age (the workers'' shared cache).';

-- p_result: {"contacts": [...], "email_domains": [...], ...}. A company left with fewer than contacts_min is rejected.
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
  perform pm_pipeline.record_email_domains(p_task_id, p_lease_token, coalesce(p_result->'email_domains', '[]'));
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

comment on function pm_pipeline.complete_contact_research(bigint, uuid, jsonb) is 'Fenced: stores the e-mail domain checks made, adds a company''s contacts (up to contacts_max), rejects it below contacts_min, completes the task, reconciles the run.';

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
       -- held back for their contacts, not their PMS: a shortfall stays rejected, and a failed contact
       -- search stays in review (accepting it again would find its contact task's key taken: no search)
       and c.status_reason is distinct from 'too_few_contacts' and c.status_reason is distinct from 'task_failed'
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
comment on function pm_pipeline.requalify_companies(uuid) is 'Sends a run''s rejected and reviewed companies that have research (not those held back for their contacts: too few, or a failed contact search) back to candidate, each with a company_research task that judges its stored research again; returns how many.';

-- Exports, with the old system's column names in its order (CRM imports rely on them)

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_companies_export
with (security_invoker = false)
as
select c.run_id, c.name as company_name, c.city as company_city, c.state as company_state, c.pms,
       r.units, r.employees, c.domain, r.single_family_focus, r.property_mix, r.icp_fit, r.icp_score, r.agent_summary,
       c.website, r.pms_confidence, array_to_string(r.pms_evidence_urls, ' ') as pms_evidence_urls,
       r.units_quote, r.units_source_url, array_to_string(array(select distinct u from unnest(c.source_urls || r.source_urls) u order by u), ' ') as source_urls,
       c.discovered_at, r.researched_at,
       r.pms_evidence_url, r.pms_read_at, r.units_source_url as units_evidence_url, r.units_read_at, r.units_evidence,
       r.domain_evidence, r.site_name
  from pm_pipeline.companies c
  left join pm_pipeline.company_research r on r.company_id = c.id
 where c.status = 'accepted';

comment on view pm_pipeline.v_companies_export is 'Accepted companies in the companies CSV layout (old column names first, new ones after).';
comment on column pm_pipeline.v_companies_export.run_id is 'The run.';
comment on column pm_pipeline.v_companies_export.company_name is 'The company.';
comment on column pm_pipeline.v_companies_export.company_city is 'Its city.';
comment on column pm_pipeline.v_companies_export.company_state is 'Its state code.';
comment on column pm_pipeline.v_companies_export.pms is 'The PMS it uses, as verified.';
comment on column pm_pipeline.v_companies_export.units is 'Units it manages.';
comment on column pm_pipeline.v_companies_export.employees is 'Its employees.';
comment on column pm_pipeline.v_companies_export.domain is 'Its own domain.';
comment on column pm_pipeline.v_companies_export.single_family_focus is 'Single-family focus, as research found.';
comment on column pm_pipeline.v_companies_export.property_mix is 'Property mix.';
comment on column pm_pipeline.v_companies_export.icp_fit is 'Fit in words.';
comment on column pm_pipeline.v_companies_export.icp_score is 'Fit, 0-100.';
comment on column pm_pipeline.v_companies_export.agent_summary is 'What research says of it.';
comment on column pm_pipeline.v_companies_export.website is 'Its website.';
comment on column pm_pipeline.v_companies_export.pms_confidence is 'How sure the PMS is (high: a company-specific portal).';
comment on column pm_pipeline.v_companies_export.pms_evidence_urls is 'The pages that show the PMS, space-separated.';
comment on column pm_pipeline.v_companies_export.units_quote is 'The words that give the unit count.';
comment on column pm_pipeline.v_companies_export.units_source_url is 'The page those words are on.';
comment on column pm_pipeline.v_companies_export.source_urls is 'Every page research read, space-separated.';
comment on column pm_pipeline.v_companies_export.discovered_at is 'When discovery found it.';
comment on column pm_pipeline.v_companies_export.researched_at is 'When research judged it.';
comment on column pm_pipeline.v_companies_export.pms_evidence_url is 'The company page that shows the PMS.';
comment on column pm_pipeline.v_companies_export.pms_read_at is 'When that page was read.';
comment on column pm_pipeline.v_companies_export.units_evidence_url is 'The page that gives the unit count (units_source_url).';
comment on column pm_pipeline.v_companies_export.units_read_at is 'When that page was read; empty when no read had it.';
comment on column pm_pipeline.v_companies_export.units_evidence is 'verified, unverified (the page was cited but never read) or none.';
comment on column pm_pipeline.v_companies_export.domain_evidence is 'Whether the homepage carries the company''s name (matches; unknown: not read).';
comment on column pm_pipeline.v_companies_export.site_name is 'What the homepage calls itself.';

-- with its owner's rights: the worker role reads it, not the tables under it (09_access.sql)
create view pm_pipeline.v_contacts_export
with (security_invoker = false)
as
select ct.run_id, ct.full_name, ct.title, ct.email, ct.linkedin_url, ct.department, ct.seniority, ct.quality_score, ct.icp_score,
       c.name as company_name, c.domain as company_domain, c.website as company_website, c.state as company_state,
       ct.personalization_notes, ct.personal_anecdotes, ct.professional_anecdotes,
       array_to_string(ct.source_urls, ' ') as data_sources, ct.additional_research_notes, ct.agent_summary, ct.created_at,
       ct.email_class, ct.title_tier,
       ct.email_domain_check, ct.email_checked_at, ct.email_free_mail, ct.email_disposable,
       ct.title_source_url as title_evidence_url, ct.title_read_at, ct.title_evidence,
       ct.email_source_url as email_evidence_url, ct.email_read_at, ct.email_evidence
  from pm_pipeline.contacts ct
  join pm_pipeline.companies c on c.id = ct.company_id
 where c.status = 'accepted';

comment on view pm_pipeline.v_contacts_export is 'Contacts of accepted companies in the contacts CSV layout (old column names first, new ones after).';
comment on column pm_pipeline.v_contacts_export.run_id is 'The run.';
comment on column pm_pipeline.v_contacts_export.full_name is 'The person.';
comment on column pm_pipeline.v_contacts_export.title is 'Their title.';
comment on column pm_pipeline.v_contacts_export.email is 'Their e-mail.';
comment on column pm_pipeline.v_contacts_export.linkedin_url is 'Their LinkedIn page.';
comment on column pm_pipeline.v_contacts_export.department is 'Their department.';
comment on column pm_pipeline.v_contacts_export.seniority is 'Their seniority.';
comment on column pm_pipeline.v_contacts_export.quality_score is 'How good a lead they are, 0-100.';
comment on column pm_pipeline.v_contacts_export.icp_score is 'Fit, 0-100.';
comment on column pm_pipeline.v_contacts_export.company_name is 'Their company.';
comment on column pm_pipeline.v_contacts_export.company_domain is 'Its domain.';
comment on column pm_pipeline.v_contacts_export.company_website is 'Its website.';
comment on column pm_pipeline.v_contacts_export.company_state is 'Its state code.';
comment on column pm_pipeline.v_contacts_export.personalization_notes is 'Notes for a first message.';
comment on column pm_pipeline.v_contacts_export.personal_anecdotes is 'Personal notes.';
comment on column pm_pipeline.v_contacts_export.professional_anecdotes is 'Professional notes.';
comment on column pm_pipeline.v_contacts_export.data_sources is 'The pages the contact came from, space-separated.';
comment on column pm_pipeline.v_contacts_export.additional_research_notes is 'More notes.';
comment on column pm_pipeline.v_contacts_export.agent_summary is 'What research says of them.';
comment on column pm_pipeline.v_contacts_export.created_at is 'When they were found.';
comment on column pm_pipeline.v_contacts_export.email_class is 'Where the e-mail comes from (published, pattern_inferred, generic_role, personal, unknown).';
comment on column pm_pipeline.v_contacts_export.title_tier is 'Decision-making rank of the title, 1 (owner) to 6.';
comment on column pm_pipeline.v_contacts_export.email_domain_check is 'Can the e-mail''s domain receive mail, as DNS said: deliverable, undeliverable, unknown (timeout, SERVFAIL).';
comment on column pm_pipeline.v_contacts_export.email_checked_at is 'When that was checked.';
comment on column pm_pipeline.v_contacts_export.email_free_mail is 'The e-mail is on a free-mail provider''s domain (gmail.com, ...).';
comment on column pm_pipeline.v_contacts_export.email_disposable is 'The e-mail is on a disposable-inbox domain.';
comment on column pm_pipeline.v_contacts_export.title_evidence_url is 'The page that shows the title.';
comment on column pm_pipeline.v_contacts_export.title_read_at is 'When the search read that page; empty when none did.';
comment on column pm_pipeline.v_contacts_export.title_evidence is 'verified, unverified (cited but never read) or none.';
comment on column pm_pipeline.v_contacts_export.email_evidence_url is 'The page that shows the e-mail address.';
comment on column pm_pipeline.v_contacts_export.email_read_at is 'When the search read that page; empty when none did.';
comment on column pm_pipeline.v_contacts_export.email_evidence is 'verified, unverified (cited but never read) or none.';
