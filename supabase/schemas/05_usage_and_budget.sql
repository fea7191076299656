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
comment on column pm_pipeline.v_run_costs.run_id is 'The run.';
comment on column pm_pipeline.v_run_costs.budget_usd is 'Its budget in USD (null: none).';
comment on column pm_pipeline.v_run_costs.calls is 'Provider calls.';
comment on column pm_pipeline.v_run_costs.input_tokens is 'Input tokens.';
comment on column pm_pipeline.v_run_costs.output_tokens is 'Output tokens.';
comment on column pm_pipeline.v_run_costs.web_searches is 'Web searches.';
comment on column pm_pipeline.v_run_costs.cost_usd is 'What the calls cost, in USD.';
comment on column pm_pipeline.v_run_costs.cost_per_call_usd is 'Average cost of a call.';
comment on column pm_pipeline.v_run_costs.reserved_usd is 'What running tasks have reserved for their next call.';

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

-- Pacing to the provider's rate limits. OpenAI limits requests and tokens per minute per model and
-- says in every answer how much is left (x-ratelimit-limit/remaining/reset-requests|tokens). All
-- workers of all invocations share one bucket per provider and model here: a worker takes a turn
-- before each call (take_provider_turn) and waits when there is none, instead of sending a call
-- that would be refused; every answer's headers correct the bucket (record_provider_limits), and a
-- 429's retry-after blocks it for every worker. Until the first headers of a model are known, no
-- limit applies (the provider's own bucket starts full; the first answers come within a call).

create table pm_pipeline.provider_rate_limits (
  provider text not null,
  model text not null,
  limit_requests integer check (limit_requests > 0),
  limit_tokens bigint check (limit_tokens > 0),
  remaining_requests double precision,
  remaining_tokens double precision,
  requests_per_second double precision check (requests_per_second > 0),
  tokens_per_second double precision check (tokens_per_second > 0),
  observed_at timestamptz not null default now(),
  blocked_until timestamptz,
  turns_taken bigint not null default 0,
  turns_refused bigint not null default 0,
  primary key (provider, model)
);
alter table pm_pipeline.provider_rate_limits enable row level security;

comment on table pm_pipeline.provider_rate_limits is 'One shared rate-limit bucket per provider and model: what the provider''s x-ratelimit-* headers said, refilled linearly between answers, and until when a 429 blocks every worker.';
comment on column pm_pipeline.provider_rate_limits.limit_requests is 'Requests allowed per window (x-ratelimit-limit-requests); null: not known yet, no limit applies.';
comment on column pm_pipeline.provider_rate_limits.limit_tokens is 'Tokens allowed per window (x-ratelimit-limit-tokens); null: not known yet.';
comment on column pm_pipeline.provider_rate_limits.remaining_requests is 'Requests left at observed_at (turns taken since the last answer counted).';
comment on column pm_pipeline.provider_rate_limits.remaining_tokens is 'Tokens left at observed_at (estimates of turns taken since the last answer counted).';
comment on column pm_pipeline.provider_rate_limits.requests_per_second is 'Refill rate: what was missing over the time to reset (x-ratelimit-reset-requests), else the limit per minute.';
comment on column pm_pipeline.provider_rate_limits.tokens_per_second is 'Refill rate of the tokens, the same way.';
comment on column pm_pipeline.provider_rate_limits.observed_at is 'When remaining_* were right; they refill from there.';
comment on column pm_pipeline.provider_rate_limits.blocked_until is 'A 429''s retry-after: no worker takes a turn before then.';
comment on column pm_pipeline.provider_rate_limits.turns_taken is 'Turns given (calls sent), for monitoring.';
comment on column pm_pipeline.provider_rate_limits.turns_refused is 'Turns refused with a wait, for monitoring.';

-- The bucket's row, created empty (no limit known) if missing, and locked for this transaction.
create function pm_pipeline.lock_provider_bucket(p_provider text, p_model text)
returns pm_pipeline.provider_rate_limits
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row pm_pipeline.provider_rate_limits;
begin
  select * into v_row from pm_pipeline.provider_rate_limits where provider = p_provider and model = p_model for update;
  if not found then
    insert into pm_pipeline.provider_rate_limits (provider, model) values (p_provider, p_model) on conflict do nothing;
    select * into strict v_row from pm_pipeline.provider_rate_limits where provider = p_provider and model = p_model for update;
  end if;
  return v_row;
end
$$;
comment on function pm_pipeline.lock_provider_bucket(text, text) is 'The rate-limit bucket of a provider and model, created without limits when missing, locked (FOR UPDATE) until the transaction ends.';

-- What a bucket holds at p_at: its remaining amount refilled linearly since observed_at, up to the
-- limit; null when the limit is not known.
create function pm_pipeline.provider_bucket_level(p_limit double precision, p_remaining double precision,
                                                  p_per_second double precision, p_since timestamptz, p_at timestamptz)
returns double precision
language sql
immutable
security definer
set search_path = ''
as $$
  select case when p_limit is null then null
              else least(p_limit, coalesce(p_remaining, p_limit)
                                  + coalesce(p_per_second, p_limit / 60.0) * greatest(0, extract(epoch from p_at - p_since)::float8))
         end
$$;
comment on function pm_pipeline.provider_bucket_level(double precision, double precision, double precision, timestamptz, timestamptz) is 'A bucket''s level at a time: remaining refilled at its rate (default: the limit per minute) since it was observed, capped at the limit; null for an unknown limit.';

-- Takes one turn to call a provider's model with about p_estimated_tokens: 0 means go (the turn is
-- taken: one request and the tokens are counted as spent), more is the seconds to wait before
-- asking again (nothing taken). Atomic: the bucket's row is locked, so two workers never take the
-- same last request. Blocked by a 429: the seconds until retry-after. An unknown limit: always go.
create function pm_pipeline.take_provider_turn(p_provider text, p_model text, p_estimated_tokens bigint default 0)
returns double precision
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_row pm_pipeline.provider_rate_limits := pm_pipeline.lock_provider_bucket(p_provider, p_model);
  v_requests double precision := pm_pipeline.provider_bucket_level(v_row.limit_requests, v_row.remaining_requests,
                                   v_row.requests_per_second, v_row.observed_at, v_now);
  v_tokens double precision := pm_pipeline.provider_bucket_level(v_row.limit_tokens, v_row.remaining_tokens,
                                 v_row.tokens_per_second, v_row.observed_at, v_now);
  -- a call larger than the whole window waits only for a full bucket
  v_need_tokens double precision := least(greatest(coalesce(p_estimated_tokens, 0), 0), coalesce(v_row.limit_tokens, 0));
  v_wait double precision := 0;
begin
  if v_row.blocked_until > v_now then
    v_wait := extract(epoch from v_row.blocked_until - v_now);
  end if;
  if v_requests < 1 then
    v_wait := greatest(v_wait, (1 - v_requests) / coalesce(v_row.requests_per_second, v_row.limit_requests / 60.0));
  end if;
  if v_tokens < v_need_tokens then
    v_wait := greatest(v_wait, (v_need_tokens - v_tokens) / coalesce(v_row.tokens_per_second, v_row.limit_tokens / 60.0));
  end if;
  if v_wait > 0 then
    update pm_pipeline.provider_rate_limits set turns_refused = turns_refused + 1
     where provider = p_provider and model = p_model;
    return v_wait;
  end if;
  update pm_pipeline.provider_rate_limits
     set remaining_requests = v_requests - 1, remaining_tokens = v_tokens - v_need_tokens,
         observed_at = v_now, turns_taken = turns_taken + 1
   where provider = p_provider and model = p_model;
  return 0;
end
$$;
comment on function pm_pipeline.take_provider_turn(text, text, bigint) is 'Takes a turn to call a provider''s model (one request, about p_estimated_tokens): 0 = go, the turn is counted; > 0 = seconds to wait before asking again (blocked by a 429, or the bucket is empty). Atomic per bucket (row lock). No limit known yet: 0.';

-- What an answer's headers said (any status), to correct the bucket. p_limits: {limit_requests,
-- remaining_requests, reset_requests_seconds, limit_tokens, remaining_tokens, reset_tokens_seconds,
-- retry_after_seconds}, each optional. The remaining amounts are taken as the lower of what the
-- headers say and what the bucket counts now (turns taken for calls still in flight are in the
-- bucket, not yet in the provider's count; another client of the same key is only in the
-- provider's); the limits and refill rates are the provider's. retry_after_seconds blocks the bucket.
create function pm_pipeline.record_provider_limits(p_provider text, p_model text, p_limits jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_row pm_pipeline.provider_rate_limits := pm_pipeline.lock_provider_bucket(p_provider, p_model);
  v_limit_requests integer := coalesce((p_limits->>'limit_requests')::numeric::integer, v_row.limit_requests);
  v_limit_tokens bigint := coalesce((p_limits->>'limit_tokens')::numeric::bigint, v_row.limit_tokens);
  v_said_requests double precision := (p_limits->>'remaining_requests')::float8;
  v_said_tokens double precision := (p_limits->>'remaining_tokens')::float8;
  v_reset_requests double precision := (p_limits->>'reset_requests_seconds')::float8;
  v_reset_tokens double precision := (p_limits->>'reset_tokens_seconds')::float8;
  v_retry_after double precision := (p_limits->>'retry_after_seconds')::float8;
  v_requests double precision := pm_pipeline.provider_bucket_level(v_row.limit_requests, v_row.remaining_requests,
                                   v_row.requests_per_second, v_row.observed_at, v_now);
  v_tokens double precision := pm_pipeline.provider_bucket_level(v_row.limit_tokens, v_row.remaining_tokens,
                                 v_row.tokens_per_second, v_row.observed_at, v_now);
begin
  update pm_pipeline.provider_rate_limits set
    limit_requests = v_limit_requests,
    limit_tokens = v_limit_tokens,
    remaining_requests = case when v_said_requests is null then v_requests
                              else least(coalesce(v_requests, v_said_requests), v_said_requests) end,
    remaining_tokens = case when v_said_tokens is null then v_tokens
                            else least(coalesce(v_tokens, v_said_tokens), v_said_tokens) end,
    requests_per_second = case when v_reset_requests > 0 and v_said_requests < v_limit_requests
                               then (v_limit_requests - v_said_requests) / v_reset_requests
                               else coalesce(requests_per_second, v_limit_requests / 60.0) end,
    tokens_per_second = case when v_reset_tokens > 0 and v_said_tokens < v_limit_tokens
                             then (v_limit_tokens - v_said_tokens) / v_reset_tokens
                             else coalesce(tokens_per_second, v_limit_tokens / 60.0) end,
    observed_at = v_now,
    blocked_until = case when v_retry_after > 0
                         then greatest(blocked_until, v_now + make_interval(secs => v_retry_after))
                         else blocked_until end
   where provider = p_provider and model = p_model;
end
$$;
comment on function pm_pipeline.record_provider_limits(text, text, jsonb) is 'Corrects a provider model''s bucket from an answer''s x-ratelimit-* headers (limits, remaining: the lower of the headers and the bucket, refill rate from the reset times) and blocks it for every worker until a 429''s retry-after.';
