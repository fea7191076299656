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
create function pm_pipeline.submit_run(p_request jsonb, p_idempotency_key text default null, p_actor text default null)
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
  perform pm_pipeline.act_as(p_actor);
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

comment on function pm_pipeline.submit_run(jsonb, text, text) is 'The run API''s create: validates, creates and starts a run with its budget; with a known idempotency key returns that run (created false), or raises PM409 if the request differs. p_actor: the API key''s name, on the run''s events.';

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
      -- what helps with what it waits for (decide_run takes every decision in either case)
      'options', case r.decision_reason when 'budget_reached' then jsonb_build_array('set_budget', 'accept_partial')
                      else jsonb_build_array('accept_partial', 'expand_location', 'loosen_pms', 'set_budget') end) end,
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
      select jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, 'message', e.message, 'actor', e.actor, 'data', e.data, 'at', e.created_at) order by e.id)
        from (select * from pm_pipeline.events e where e.run_id = p_run_id order by e.id desc limit greatest(coalesce(p_events, 50), 0)) e), '[]'))
   where exists (select from pm_pipeline.runs where id = p_run_id)
$$;

comment on function pm_pipeline.run_details(uuid, integer) is 'run_summary plus rejection reasons, failed tasks with their errors and the latest events (oldest first): GET /runs/:id.';

-- GET /runs: the runs waiting for a decision first (someone has to act), then the newest. Filters:
-- a status; a PMS the criteria ask for (its vendor name, or 'any' for runs that take any PMS); a
-- state the criteria include; words in the criteria, the notes or the id. total counts every match.
create function pm_pipeline.list_runs(
  p_status pm_pipeline.run_status default null,
  p_limit integer default 20,
  p_offset integer default 0,
  p_pms text default null,
  p_state text default null,
  p_search text default null)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  with matching as (
    select r.id, r.created_at, r.status = 'needs_user_decision' as waiting
      from pm_pipeline.runs r
     where (p_status is null or r.status = p_status)
       and (p_pms is null
            or (lower(p_pms) = 'any' and r.criteria->'pms' is null)
            or lower(r.criteria->>'pms') = lower(p_pms)
            or exists (select from jsonb_array_elements_text(case when jsonb_typeof(r.criteria->'pms') = 'array'
                                                                  then r.criteria->'pms' end) v where lower(v) = lower(p_pms)))
       and (p_state is null or r.criteria->>'state' = upper(p_state) or coalesce(r.criteria->'states', '[]') ? upper(p_state))
       and (p_search is null
            or r.id::text = lower(p_search)
            or strpos(lower(r.criteria::text || ' ' || coalesce(r.notes, '')), lower(p_search)) > 0)
  ), page as (
    select m.id, m.waiting, m.created_at from matching m
     order by m.waiting desc, m.created_at desc, m.id
     limit least(greatest(coalesce(p_limit, 20), 1), 200) offset greatest(coalesce(p_offset, 0), 0)
  )
  select jsonb_build_object(
    'runs', coalesce((select jsonb_agg(pm_pipeline.run_summary(p.id) order by p.waiting desc, p.created_at desc, p.id) from page p), '[]'),
    'total', (select count(*) from matching))
$$;

comment on function pm_pipeline.list_runs(pm_pipeline.run_status, integer, integer, text, text, text) is 'GET /runs: {runs, total}: run_summary documents, those waiting for a decision first, then the newest; filtered by status, a PMS of the criteria (or ''any''), a state of the criteria, and words in the criteria, notes or id; at most 200 per page.';

-- GET /runs/:id/companies: every company of the run with the evidence for what research claims
-- (the PMS portal pages, the page that gives the unit count) and its contacts.
create function pm_pipeline.run_companies(p_run_id uuid, p_status pm_pipeline.company_status default null)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', c.id, 'name', c.name, 'domain', c.domain, 'website', c.website, 'city', c.city, 'state', c.state,
      'status', c.status, 'reason', c.rejection_reason, 'reason_code', c.status_reason,
      'research', case when cr.company_id is not null then jsonb_build_object(
        'pms', cr.pms, 'pms_confidence', cr.pms_confidence, 'pms_evidence_urls', to_jsonb(cr.pms_evidence_urls),
        'units', cr.units, 'units_estimated', cr.units_estimated, 'units_quote', cr.units_quote,
        'units_source_url', cr.units_source_url, 'icp_fit', cr.icp_fit, 'icp_score', cr.icp_score,
        'icp_tier', cr.icp_tier, 'summary', cr.agent_summary, 'researched_at', cr.researched_at,
        'pms_evidence_url', cr.pms_evidence_url, 'pms_read_at', cr.pms_read_at, 'units_read_at', cr.units_read_at,
        'units_evidence', cr.units_evidence, 'domain_evidence', cr.domain_evidence, 'site_name', cr.site_name) end,
      'contacts', coalesce((
        select jsonb_agg(jsonb_build_object('id', ct.id, 'full_name', ct.full_name, 'title', ct.title, 'email', ct.email,
                                            'email_class', ct.email_class, 'linkedin_url', ct.linkedin_url,
                                            'title_source_url', ct.title_source_url, 'title_read_at', ct.title_read_at,
                                            'title_evidence', ct.title_evidence, 'email_source_url', ct.email_source_url,
                                            'email_read_at', ct.email_read_at, 'email_evidence', ct.email_evidence,
                                            'email_domain_check', ct.email_domain_check, 'email_checked_at', ct.email_checked_at)
                         order by ct.title_tier nulls last, ct.full_name)
          from pm_pipeline.contacts ct where ct.company_id = c.id), '[]'),
      'discovered_at', c.discovered_at, 'updated_at', c.updated_at)
    order by array_position(array['accepted', 'candidate', 'review', 'rejected']::pm_pipeline.company_status[], c.status), c.name, c.domain), '[]')
    from pm_pipeline.companies c
    left join pm_pipeline.company_research cr on cr.company_id = c.id
   where c.run_id = p_run_id and (p_status is null or c.status = p_status)
$$;

comment on function pm_pipeline.run_companies(uuid, pm_pipeline.company_status) is 'GET /runs/:id/companies: a run''s companies (accepted, in research, in review, rejected), each with its research evidence (PMS portal URLs and the page showing them, unit count with its source, each with when it was read and whether it was) and contacts (the pages of their title and e-mail).';

-- GET /runs/:id/tasks: what the queue did for a run, newest first (failed ones are what people ask about).
create function pm_pipeline.run_tasks(p_run_id uuid, p_state pm_pipeline.task_state default null, p_limit integer default 200)
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', t.id::text, 'kind', t.kind, 'state', t.state, 'attempts', t.attempts, 'max_attempts', t.max_attempts,
      'company_id', c.id, 'company_name', c.name, 'last_error', t.last_error, 'last_error_kind', t.last_error_kind,
      'run_after', t.run_after, 'created_at', t.created_at, 'updated_at', t.updated_at, 'finished_at', t.finished_at)
    order by t.id desc), '[]')
    from (select * from pm_pipeline.tasks x
           where x.run_id = p_run_id and (p_state is null or x.state = p_state)
           order by x.id desc limit least(greatest(coalesce(p_limit, 200), 1), 1000)) t
    left join pm_pipeline.companies c
      on c.run_id = t.run_id and t.payload ? 'company_id' and c.id::text = t.payload->>'company_id'
$$;

comment on function pm_pipeline.run_tasks(uuid, pm_pipeline.task_state, integer) is 'GET /runs/:id/tasks: a run''s tasks, newest first, with attempts, the company they are about and their last error.';

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

create function pm_pipeline.cancel_run(p_run_id uuid, p_actor text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pm_pipeline.act_as(p_actor);
  if (pm_pipeline.lock_run_for_user(p_run_id, 'cancel', '{active,needs_user_decision,cancelled}')).status <> 'cancelled' then
    perform pm_pipeline.set_run_status(p_run_id, 'cancelled', format('cancelled by %s', coalesce(p_actor, 'the user')));
  end if;
end
$$;

comment on function pm_pipeline.cancel_run(uuid, text) is 'Cancels an active or waiting run (its queued tasks are cancelled); cancelling a cancelled run again changes nothing. p_actor: the API key''s name, on the events.';

-- The provider responses a run's tasks started in the background and did not see end: each task's
-- checkpoint entry openai_response:<operation> = {"id": ..., "created_at": ...} that is not marked
-- done (shared/providers/openai/background.ts writes them under the lease). Whoever cancels the run
-- cancels these at the provider, so that nobody pays for work whose run is over.
create function pm_pipeline.run_open_responses(p_run_id uuid)
returns table (task_id bigint, call text, response_id text)
language sql
stable
security definer
set search_path = ''
as $$
  select t.id, c.key, c.value->>'id'
    from pm_pipeline.tasks t
   cross join lateral jsonb_each(t.checkpoint) c
   where t.run_id = p_run_id
     and c.key like 'openai\_response:%'
     and jsonb_typeof(c.value) = 'object'
     and c.value ? 'id'
     and not coalesce((c.value->>'done')::boolean, false)
   order by t.id, c.key
$$;

comment on function pm_pipeline.run_open_responses(uuid) is 'The background provider responses the run''s tasks started and did not see end (checkpoint entries openai_response:<operation> not marked done): what cancelling the run cancels at the provider.';

-- p_decision: {"decision": "accept_partial"}
--           | {"decision": "expand_location", "city"?: text|null, "state"?: text, "states"?: [text]}
--           | {"decision": "loosen_pms", "pms": text|[text]|null}
--           | {"decision": "set_budget", "budget_usd": number|null}
-- The location and PMS decisions change the criteria and resume the run with new discovery.
create function pm_pipeline.decide_run(p_run_id uuid, p_decision jsonb, p_actor text default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kind text := p_decision->>'decision';
  v_by text := coalesce(' by ' || p_actor, '');
  v_run pm_pipeline.runs;
  v_criteria jsonb;
  v_problem text;
  v_p pm_pipeline.v_run_progress;
begin
  perform pm_pipeline.act_as(p_actor);
  if v_kind is null or v_kind not in ('accept_partial', 'expand_location', 'loosen_pms', 'set_budget') then
    raise exception 'decision must be one of accept_partial, expand_location, loosen_pms, set_budget (got %)',
      coalesce((p_decision->'decision')::text, 'nothing') using errcode = 'invalid_parameter_value';
  end if;

  if v_kind = 'accept_partial' then
    v_run := pm_pipeline.lock_run_for_user(p_run_id, v_kind, '{needs_user_decision,active}');
    select * into v_p from pm_pipeline.v_run_progress where run_id = p_run_id;
    perform pm_pipeline.log_event(p_run_id, 'decision', 'decision: accept_partial' || v_by, p_decision);
    perform pm_pipeline.set_run_status(p_run_id, 'completed',
      format('accepted partial: %s of %s companies, %s with at least %s contact(s)', v_p.accepted, v_run.target_quantity, v_p.ready, v_run.contacts_min));
    return;
  end if;

  if v_kind = 'set_budget' then
    perform pm_pipeline.lock_run_for_user(p_run_id, v_kind, '{needs_user_decision,active}');
    if not p_decision ? 'budget_usd' or jsonb_typeof(p_decision->'budget_usd') not in ('number', 'null') then
      raise exception 'budget_usd must be a number of dollars or null (no budget)' using errcode = 'invalid_parameter_value';
    end if;
    perform pm_pipeline.log_event(p_run_id, 'decision', 'decision: set_budget' || v_by, p_decision);
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
  perform pm_pipeline.log_event(p_run_id, 'decision', format('decision: %s%s', v_kind, v_by),
    jsonb_build_object('decision', v_kind, 'criteria_before', v_run.criteria, 'criteria_after', v_criteria));
  if v_kind = 'loosen_pms' then
    perform pm_pipeline.requalify_companies(p_run_id);
  end if;
  perform pm_pipeline.resume_run(p_run_id, 'company_discovery', format('resumed by %s: criteria now %s', v_kind, v_criteria));
  perform pm_pipeline.reconcile_run(p_run_id);
end
$$;

comment on function pm_pipeline.decide_run(uuid, jsonb, text) is 'A user decision for a run: accept_partial completes it with what exists; expand_location / loosen_pms change the criteria and resume it with new discovery (loosen_pms also judges the companies already researched again); set_budget changes its budget. Recorded as events, with p_actor (the API key''s name) as their author.';

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

create function pm_pipeline.suppression_preview(p_domains text[])
returns jsonb
language plpgsql
security definer
stable
set search_path = ''
as $$
declare
  v_bad text;
  v_domains text[];
  v_already integer;
begin
  select format('"%s": %s', d, pm_pipeline.domain_problem(d)) into v_bad
    from unnest(p_domains) d where pm_pipeline.domain_problem(d) is not null limit 1;
  if v_bad is not null then
    raise exception 'invalid domain %', v_bad using errcode = 'invalid_parameter_value';
  end if;
  select coalesce(array_agg(distinct pm_pipeline.normalize_domain(d) order by pm_pipeline.normalize_domain(d)), '{}')
    into v_domains from unnest(p_domains) d;
  select count(*) into v_already from pm_pipeline.suppression s where s.domain = any (v_domains);
  return jsonb_build_object('added', cardinality(v_domains) - v_already, 'already', v_already,
                            'domains', to_jsonb(v_domains), 'preview', true);
end
$$;

comment on function pm_pipeline.suppression_preview(text[]) is 'What add_suppression would do with these domains (added, already, domains), writing nothing: the preview of a CSV import.';

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

-- API keys with roles, for people and programs that are not the project's admin: viewer reads,
-- operator also creates runs, decides, cancels and edits the suppression list. The run API makes
-- a key, shows it once and stores only its SHA-256 (a key is 32 random bytes: a fast hash is
-- enough, there is nothing to guess). A revoked key keeps its row (events name it) and frees its
-- name for a new key.
create table pm_pipeline.api_keys (
  id bigint generated always as identity primary key,
  name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
  role text not null check (role in ('viewer', 'operator')),
  key_sha256 text not null unique check (key_sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
alter table pm_pipeline.api_keys enable row level security;

create unique index api_keys_live_name on pm_pipeline.api_keys (name) where revoked_at is null;

comment on table pm_pipeline.api_keys is 'Run API keys with a role (viewer, operator): the SHA-256 of each key, never the key. Made, listed and revoked by the admin (pm-leads keys).';
comment on column pm_pipeline.api_keys.name is 'Who uses the key ("alice", "crm-sync"): the run''s events name it for what it did.';
comment on column pm_pipeline.api_keys.role is 'viewer: reads; operator: also creates runs, decides, cancels, edits the suppression list.';
comment on column pm_pipeline.api_keys.key_sha256 is 'Hex SHA-256 of the key; the key itself is shown once, when it is made.';
comment on column pm_pipeline.api_keys.last_used_at is 'When the key was last accepted (to the minute: a read does not write a row on every request).';
comment on column pm_pipeline.api_keys.revoked_at is 'When it was revoked: a revoked key is refused, and its name may be given to a new key.';

create function pm_pipeline.api_key_info(p_key pm_pipeline.api_keys)
returns jsonb
language sql
security definer
immutable
set search_path = ''
as $$
  select jsonb_build_object('name', p_key.name, 'role', p_key.role, 'created_at', p_key.created_at,
                            'last_used_at', p_key.last_used_at, 'revoked_at', p_key.revoked_at)
$$;

comment on function pm_pipeline.api_key_info(pm_pipeline.api_keys) is 'An API key as the API shows it: name, role and dates (never the hash).';

create function pm_pipeline.create_api_key(p_name text, p_role text, p_key_sha256 text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_key pm_pipeline.api_keys;
begin
  if p_role is null or p_role not in ('viewer', 'operator') then
    raise exception 'role must be viewer or operator (got %)', coalesce(p_role, 'nothing') using errcode = 'invalid_parameter_value';
  end if;
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' then
    raise exception 'name must be 1-63 letters, digits, dots, dashes or underscores (got %)', coalesce(p_name, 'nothing')
      using errcode = 'invalid_parameter_value';
  end if;
  if exists (select from pm_pipeline.api_keys k where k.name = p_name and k.revoked_at is null) then
    raise exception 'a key named % exists: revoke it first, or choose another name', p_name using errcode = 'PM409';
  end if;
  insert into pm_pipeline.api_keys (name, role, key_sha256) values (p_name, p_role, p_key_sha256) returning * into v_key;
  return pm_pipeline.api_key_info(v_key);
end
$$;

comment on function pm_pipeline.create_api_key(text, text, text) is 'Stores a new API key by its SHA-256 with a name and role; PM409 if a live key has that name.';

create function pm_pipeline.authenticate_api_key(p_key_sha256 text)
returns table (name text, role text)
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- a read on every request; the stamp is written only when it is a minute old (not a row
  -- version per request of a page that refreshes every few seconds)
  update pm_pipeline.api_keys k set last_used_at = now()
   where k.key_sha256 = p_key_sha256 and k.revoked_at is null
     and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
  return query
  select k.name, k.role from pm_pipeline.api_keys k where k.key_sha256 = p_key_sha256 and k.revoked_at is null;
end
$$;

comment on function pm_pipeline.authenticate_api_key(text) is 'The name and role of the live key with this SHA-256 (no row: unknown or revoked); stamps last_used_at at most once a minute.';

create function pm_pipeline.list_api_keys()
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(pm_pipeline.api_key_info(k) order by k.revoked_at is not null, k.name, k.id desc), '[]')
    from pm_pipeline.api_keys k
$$;

comment on function pm_pipeline.list_api_keys() is 'Every API key (live ones first) with name, role and dates; never the hashes.';

create function pm_pipeline.revoke_api_key(p_name text)
returns boolean
language sql
security definer
set search_path = ''
as $$
  with revoked as (
    update pm_pipeline.api_keys k set revoked_at = now()
     where k.name = p_name and k.revoked_at is null
    returning 1)
  select exists (select from revoked)
$$;

comment on function pm_pipeline.revoke_api_key(text) is 'Revokes the live key with this name (it is refused from now on); false when there is none.';
