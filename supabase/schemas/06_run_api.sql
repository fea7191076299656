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
