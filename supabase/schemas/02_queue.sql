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
-- whoever makes it (guard_task_transition, which inlines this list for speed; pgTAP checks that
-- the two agree).
create function pm_pipeline.task_state_move_allowed(p_from pm_pipeline.task_state, p_to pm_pipeline.task_state)
returns boolean
language plpgsql
immutable
security definer
set search_path = ''
as $$
begin
  return p_from = p_to or (p_from, p_to) in (
    ('queued', 'running'),       -- claimed
    ('queued', 'cancelled'),     -- its run ended
    ('running', 'succeeded'),    -- completed under its lease
    ('running', 'queued'),       -- retried, released, deferred, or its lease expired
    ('running', 'failed'),       -- out of attempts, or a permanent error
    ('running', 'cancelled'));   -- its run ended while it ran
end
$$;
comment on function pm_pipeline.task_state_move_allowed(pm_pipeline.task_state, pm_pipeline.task_state) is 'The allowed task state moves; succeeded, failed and cancelled are final.';

create function pm_pipeline.guard_task_transition()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- task_state_move_allowed's list, inlined: the trigger runs twice per task (claim, completion),
  -- and a call of that function costs as much again as this check. 07_state_machines.test.sql
  -- checks that both agree on every pair of states.
  if not (case old.state
            when 'queued' then new.state in ('running', 'cancelled')
            when 'running' then new.state in ('succeeded', 'queued', 'failed', 'cancelled')
            else false end) then
    raise exception 'task %: state cannot move from % to %', old.id, old.state, new.state
      using errcode = 'check_violation', hint = 'succeeded, failed and cancelled are final';
  end if;
  return new;
end
$$;
comment on function pm_pipeline.guard_task_transition() is 'Trigger: rejects task state moves that task_state_move_allowed does not list (its list, inlined; pgTAP checks they agree).';

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
-- a claim that found nothing ready (for its kinds) and by pg_cron (for all kinds).
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
-- claim records the worker's heartbeat (at most once a second). A worker that was stopped
-- (stop_worker) claims nothing. Expired leases of these kinds are re-queued only when nothing
-- ready was found: a busy queue's claims pay no sweep (pg_cron's release_dead_worker_leases runs
-- it every 10 s), and an idle worker waiting for a lease to expire (next_task_due) still takes
-- the task over at its next claim.
create function pm_pipeline.claim_tasks(p_worker_id text, p_kinds text[], p_limit integer default 1)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
-- Planned once per connection, not on every claim: with custom plans (the default for a query
-- whose LIMIT is a parameter) re-planning was half the server's CPU of a one-task claim. The
-- generic plans are the ones a claim needs: ordered scans of tasks_claimable per kind, and the
-- UPDATE by primary key (the ids are an array, not a join a generic plan would hash). No JIT: a
-- generic plan's cost grows with the queue (it cannot see LIMIT 1) and would pass jit_above_cost,
-- compiling on every claim what takes a millisecond to run.
set plan_cache_mode = force_generic_plan
set jit = off
as $$
declare
  v_status text;
  v_beat_at timestamptz;
  v_ids bigint[];
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
  -- one read of the worker's row: stopped workers claim nothing, and the heartbeat upsert below
  -- runs only when due (ON CONFLICT DO UPDATE would lock the row on every claim, due or not)
  select w.status, w.last_heartbeat_at into v_status, v_beat_at
    from pm_pipeline.worker_heartbeats w where w.worker_id = p_worker_id;
  if v_status = 'stopped' then
    return;
  end if;

  -- the second round runs only when the first found nothing and an expired lease can be re-queued
  for v_round in 1..2 loop
    select array_agg(c.id order by c.fair_tag, c.id) into v_ids from (
      -- one ordered index scan per kind (kind = any(...) would read and sort every queued row)
      select c.id, c.fair_tag from unnest(p_kinds) as k(kind)
      cross join lateral (
        select t.id, t.fair_tag from pm_pipeline.tasks t
         where t.state = 'queued' and t.kind = k.kind and t.run_after <= now()
           -- a run that waits for a user decision (or has ended) hands out no work
           and (t.run_id is null or exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status = 'active'))
         order by t.fair_tag, t.id
         limit p_limit
           for update skip locked) c
      order by c.fair_tag, c.id
      limit p_limit) c;
    exit when v_ids is not null or v_round = 2
      or not exists (select from pm_pipeline.tasks t
                      where t.state = 'running' and t.lease_expires_at <= now() and t.kind = any(p_kinds));
    perform pm_pipeline.requeue_expired_leases(p_kinds);
  end loop;
  if v_ids is null then
    return;
  end if;

  return query
  with claimed as (
    update pm_pipeline.tasks t
       set state = 'running',
           attempts = t.attempts + 1,
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => k.lease_seconds),
           locked_by = p_worker_id,
           locked_at = now(),
           updated_at = now()
      from pm_pipeline.task_kinds k
     where t.id = any(v_ids) and k.kind = t.kind
    returning t.*
  ),
  heartbeat as (
    insert into pm_pipeline.worker_heartbeats as w
           (worker_id, worker_type, status, current_run_id, current_task, lease_expires_at, last_heartbeat_at)
    select p_worker_id, p_kinds[1], 'processing', (array_agg(c.run_id order by c.id))[1],
           format('%s #%s', min(c.kind), min(c.id)) || case when count(*) > 1 then format(' (+%s more)', count(*) - 1) else '' end,
           max(c.lease_expires_at), now()
      from claimed c
     -- a worker claiming many short tasks writes its row at most once a second, not once a claim
    having count(*) > 0 and (v_status is distinct from 'processing' or v_beat_at < now() - interval '1 second')
    on conflict (worker_id) do update
       set status = 'processing', current_run_id = excluded.current_run_id, current_task = excluded.current_task,
           lease_expires_at = excluded.lease_expires_at, last_heartbeat_at = now()
     -- and on the row as it is now, which a heartbeat may have written since it was read
     where w.status <> 'processing' or w.last_heartbeat_at < now() - interval '1 second'
  )
  select * from claimed c order by c.fair_tag, c.id;
end
$$;

comment on function pm_pipeline.claim_tasks(text, text[], integer) is 'Claims up to p_limit ready tasks (lowest fair_tag first) with SKIP LOCKED; each gets a lease token and expiry. With nothing ready, re-queues expired leases and tries once more.';

-- The single-task worker's loop in one round trip and one commit: completes the task it holds
-- (fenced by the token, as complete_task) and claims its next tasks (as claim_tasks). A stale token
-- raises PM001 (lease lost) and the whole call writes nothing and claims nothing: the caller
-- learns its completion did not hold and claims on its own.
create function pm_pipeline.complete_and_claim(
  p_task_id bigint,
  p_lease_token uuid,
  p_result jsonb,
  p_worker_id text,
  p_kinds text[],
  p_limit integer default 1)
returns setof pm_pipeline.tasks
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select from pm_pipeline.complete_tasks(array[p_task_id], array[p_lease_token], array[p_result])) then
    raise exception 'lease lost: task % is no longer held with this token', p_task_id
      using errcode = 'PM001', hint = 'another worker may own the task now; claim again';
  end if;
  return query select * from pm_pipeline.claim_tasks(p_worker_id, p_kinds, p_limit);
end
$$;

comment on function pm_pipeline.complete_and_claim(bigint, uuid, jsonb, text, text[], integer) is 'Completes a claimed task (token-fenced) and claims the worker''s next tasks in one call; raises PM001 and writes nothing when the token is stale.';

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
-- transaction, and write only when their task is in the answer. PL/pgSQL for its cached plan: on
-- every completion, a SQL function would be planned anew.
create function pm_pipeline.complete_tasks(p_task_ids bigint[], p_lease_tokens uuid[], p_results jsonb[] default null)
returns setof bigint
language plpgsql
security definer
set search_path = ''
as $$
begin
  return query
  update pm_pipeline.tasks t
     set state = 'succeeded', result = r.result, lease_token = null, lease_expires_at = null,
         finished_at = now(), updated_at = now()
    from unnest(p_task_ids, p_lease_tokens, coalesce(p_results, '{}'::jsonb[])) as r(id, token, result)
   where t.id = r.id and t.lease_token = r.token and t.state = 'running' and t.lease_expires_at > now()
  returning t.id;
end
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
comment on column pm_pipeline.v_queue_stats.kind is 'The task kind (task_kinds.kind).';
comment on column pm_pipeline.v_queue_stats.ready is 'Queued tasks a worker may claim now.';
comment on column pm_pipeline.v_queue_stats.waiting_backoff is 'Queued tasks waiting out a retry backoff (run_after in the future).';
comment on column pm_pipeline.v_queue_stats.running is 'Tasks a worker holds a lease on.';
comment on column pm_pipeline.v_queue_stats.succeeded is 'Tasks done.';
comment on column pm_pipeline.v_queue_stats.failed is 'Tasks that failed for good (out of attempts, or a permanent error).';
comment on column pm_pipeline.v_queue_stats.cancelled is 'Tasks of cancelled or ended runs that never ran.';
comment on column pm_pipeline.v_queue_stats.oldest_ready_since is 'Since when the oldest ready task has waited: a growing value means no worker is claiming.';
