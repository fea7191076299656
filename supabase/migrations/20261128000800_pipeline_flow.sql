-- How a run flows through the queue. All decisions are made here, in SQL, under a lock on the run
-- row, in the same transaction as the task completion that prompted them:
--
--   start_run           -> discovery tasks (lead_list), enough to cover the target
--   complete_lead_list  -> new companies (candidates), one company_research task each
--   complete_company_research -> accepted (one contact_research task) | rejected | review
--   complete_contact_research -> contacts; a company with too few decision makers is rejected
--   reconcile_run       -> tops up discovery, advances the stage, completes the run, or asks the
--                          user to decide when nothing is left in flight and the target is not met

alter table pm_pipeline.runs
  add column started_at timestamptz,
  add column discovery_exhausted boolean not null default false,
  add column discovery_batches integer not null default 0,
  add column discovery_failures integer not null default 0,
  add column discovery_stopped text;
comment on column pm_pipeline.runs.started_at is 'When start_run handed the run to the workers; runs without it are not driven by the pipeline.';
comment on column pm_pipeline.runs.discovery_failures is 'Discovery batches that failed for good since the run started or a decision resumed it: each next batch waits a backoff, and max_failed_discovery_batches of them stop discovery.';
comment on column pm_pipeline.runs.discovery_stopped is 'Why discovery stopped for good (a permanent provider error, too many failed batches): no batch is enqueued until a decision resumes the run.';
comment on column pm_pipeline.runs.discovery_exhausted is 'Set when a discovery batch found nothing new: no more candidates will be looked for unless a decision resumes the run.';

alter table pm_pipeline.settings
  add column lead_list_batch_size integer not null default 10 check (lead_list_batch_size between 1 and 100);
comment on column pm_pipeline.settings.lead_list_batch_size is 'Companies asked for per discovery task (LEAD_LIST_BATCH_SIZE in the old system).';
alter table pm_pipeline.settings
  add column max_failed_discovery_batches integer not null default 3 check (max_failed_discovery_batches between 1 and 100);
comment on column pm_pipeline.settings.max_failed_discovery_batches is 'Discovery batches of a run that may fail for good (each after its retries) before discovery stops and the run asks for a decision.';

alter table pm_pipeline.task_kinds
  add column function_name text check (function_name ~ '^[a-z][a-z0-9-]*$');
comment on column pm_pipeline.task_kinds.function_name is 'The Edge Function that works this kind; dispatch_workers invokes it when tasks are waiting.';
update pm_pipeline.task_kinds set function_name = replace(kind, '_', '-')
 where kind in ('lead_list', 'company_research', 'contact_research');

-- ---------------------------------------------------------------------------------------------
-- Progress of a run: one row per run, what users see
-- ---------------------------------------------------------------------------------------------
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

-- ---------------------------------------------------------------------------------------------
-- The decision function
-- ---------------------------------------------------------------------------------------------
create function pm_pipeline.reconcile_run(p_run_id uuid)
returns pm_pipeline.run_status
language plpgsql
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
      v_message || '. Options: accept_partial, expand_location, loosen_pms.');
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
       set status = 'review', updated_at = now(),
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
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs := pm_pipeline.create_run(p_criteria, p_target_quantity, p_contacts_min, p_contacts_max, p_idempotency_key, p_notes);
begin
  if v_run.started_at is null then
    update pm_pipeline.runs set started_at = now() where id = v_run.id;
    perform pm_pipeline.reconcile_run(v_run.id);
  end if;
  select * into v_run from pm_pipeline.runs where id = v_run.id;
  return v_run;
end
$$;
comment on function pm_pipeline.start_run(jsonb, integer, integer, integer, text, text) is 'Creates a run and enqueues its discovery; idempotent by key.';

-- ---------------------------------------------------------------------------------------------
-- Completions: the task's results and its completion in one transaction, fenced by the lease
-- ---------------------------------------------------------------------------------------------

-- p_result: {"companies": [...], "exhausted": bool, ...}. Returns how many companies were new.
create function pm_pipeline.complete_lead_list(p_task_id bigint, p_lease_token uuid, p_result jsonb)
returns integer
language plpgsql
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

  update pm_pipeline.companies
     set status = v_status,
         pms = coalesce(v_research.pms, pms),
         rejection_reason = case when v_status = 'accepted' then null else coalesce(p_decision->>'reason', 'no reason given') end,
         updated_at = now()
   where id = v_company_id and status = 'candidate';

  if v_status = 'accepted' then
    perform pm_pipeline.enqueue_tasks('contact_research', v_task.run_id,
      jsonb_build_array(jsonb_build_object('key', 'contacts:' || v_company_id, 'payload', jsonb_build_object('company_id', v_company_id))));
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
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
  v_company_id uuid := (v_task.payload->>'company_id')::uuid;
  v_run pm_pipeline.runs;
  v_have integer;
begin
  select * into v_run from pm_pipeline.runs where id = v_task.run_id for no key update;
  select count(*) into v_have from pm_pipeline.contacts where company_id = v_company_id;
  perform pm_pipeline.add_contacts(p_task_id, p_lease_token, v_company_id, coalesce(p_result->'contacts', '[]'),
    greatest(v_run.contacts_max - v_have, 0));
  select count(*) into v_have from pm_pipeline.contacts where company_id = v_company_id;
  if v_have < v_run.contacts_min then
    update pm_pipeline.companies
       set status = 'rejected', updated_at = now(),
           rejection_reason = format('found %s decision maker(s), need at least %s', v_have, v_run.contacts_min)
     where id = v_company_id and status = 'accepted';
  end if;
  perform pm_pipeline.complete_task(p_task_id, p_lease_token, (p_result - 'contacts') || jsonb_build_object('contacts', v_have));
  perform pm_pipeline.reconcile_run(v_task.run_id);
  return v_have;
end
$$;
comment on function pm_pipeline.complete_contact_research(bigint, uuid, jsonb) is 'Fenced: adds a company''s contacts (up to contacts_max), rejects it below contacts_min, completes the task, reconciles the run.';

-- ---------------------------------------------------------------------------------------------
-- Exports, with the old system's column names in its order (CRM imports rely on them)
-- ---------------------------------------------------------------------------------------------
create view pm_pipeline.v_companies_export
with (security_invoker = true)
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

create view pm_pipeline.v_contacts_export
with (security_invoker = true)
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

-- ---------------------------------------------------------------------------------------------
-- Worker registration and dispatch
-- ---------------------------------------------------------------------------------------------

-- Workers of a kind that count against its concurrency: heartbeating (v_active_workers) and not
-- sitting on an expired lease (a frozen worker is not working, whatever its last heartbeat says).
create function pm_pipeline.live_workers(p_kind text, p_except text default null)
returns integer
language sql
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

create trigger tasks_dispatch_workers
  after insert on pm_pipeline.tasks
  referencing new table as inserted
  for each statement execute function pm_pipeline.dispatch_inserted_tasks();

-- pg_cron's safety net: work that waits (retries after a backoff, a dispatch that was lost) with
-- fewer live workers than allowed gets workers.
create function pm_pipeline.dispatch_waiting_work()
returns integer
language sql
set search_path = ''
as $$
  select coalesce(sum(pm_pipeline.dispatch_workers(k.kind)), 0)::int
    from pm_pipeline.task_kinds k where k.function_name is not null;
$$;
comment on function pm_pipeline.dispatch_waiting_work() is 'Dispatches workers for every kind with ready tasks and spare concurrency (run by pg_cron).';

select cron.schedule('pm_pipeline_dispatch_waiting_work', pm_pipeline.frequent_cron_schedule(),
  'select pm_pipeline.dispatch_waiting_work()');

-- A worker with nothing to claim stops here, unless work of its kind is queued or running. The lock
-- on the kind waits for transactions that are enqueueing tasks of it (their trigger holds a share
-- lock until commit): without it, a worker could stop just as tasks arrive whose dispatch counted
-- it as alive, and they would wait for pg_cron.
create function pm_pipeline.worker_may_stop(p_worker_id text, p_kind text)
returns boolean
language plpgsql
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
stable
set search_path = ''
as $$
  select least((select min(t.run_after) from pm_pipeline.tasks t
                 where t.kind = p_kind and t.state = 'queued'
                   and (t.run_id is null or exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status = 'active'))),
               (select min(t.lease_expires_at) from pm_pipeline.tasks t where t.kind = p_kind and t.state = 'running'));
$$;
comment on function pm_pipeline.next_task_due(text) is 'When a task of a kind may next become claimable: a queued retry falls due or a running lease expires (null: nothing queued or running).';

-- see the end of *_fenced_writes.sql
revoke execute on all functions in schema pm_pipeline from public, anon, authenticated;
