-- Workers: liveness with the names users of the old system query by hand (its Phase 2 report):
-- worker_heartbeats, v_active_workers, v_dead_workers, upsert_worker_heartbeat, stop_worker,
-- get_worker_stats(), cleanup_stale_workers(minutes), release_dead_worker_leases(). Unlike the old
-- ones, these work: a dead worker's tasks go back to the queue, fenced and counted.
--
-- Dispatch: inserting ready tasks wakes workers of their kind: idle ones by NOTIFY
-- pm_pipeline_task_ready, new ones by invoking the kind's function (pg_net on hosted Supabase,
-- NOTIFY pm_pipeline_dispatch for the local functions host), up to the kind's concurrency;
-- polling and pg_cron are the safety nets.

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

-- What each maintenance function did the last time it ran: pg_cron records that a job's command
-- ran, not that it did its work (a command that no longer calls the function, or calls it in a way
-- that does nothing, still "succeeds"). The worker health compares the two (worker_health).
create table pm_pipeline.maintenance_reports (
  job text primary key,
  reported_at timestamptz not null default now(),
  report jsonb not null default '{}'
);
alter table pm_pipeline.maintenance_reports enable row level security;

comment on table pm_pipeline.maintenance_reports is 'The last report of each maintenance function (release_dead_leases, dispatch_waiting_work, purge_*): when it ran and what it did.';
comment on column pm_pipeline.maintenance_reports.job is 'The maintenance job, as its pg_cron job is named without the pm_pipeline_ prefix.';
comment on column pm_pipeline.maintenance_reports.report is 'What it did, e.g. {"released": 2} or {"dispatched": 1}.';

create function pm_pipeline.report_maintenance(p_job text, p_report jsonb)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into pm_pipeline.maintenance_reports as m (job, reported_at, report) values (p_job, now(), p_report)
  on conflict (job) do update set reported_at = excluded.reported_at, report = excluded.report;
$$;

comment on function pm_pipeline.report_maintenance(text, jsonb) is 'Records that a maintenance function ran and what it did (maintenance_reports).';

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
comment on column pm_pipeline.v_active_workers.worker_id is 'The worker (one Edge Function invocation).';
comment on column pm_pipeline.v_active_workers.worker_type is 'Its kind (lead_list, company_research, contact_research, alert).';
comment on column pm_pipeline.v_active_workers.status is 'active, idle or processing, as it last said.';
comment on column pm_pipeline.v_active_workers.last_heartbeat_at is 'Its last heartbeat.';
comment on column pm_pipeline.v_active_workers.seconds_since_heartbeat is 'Seconds since that heartbeat.';
comment on column pm_pipeline.v_active_workers.current_run_id is 'The run of the task it works on.';
comment on column pm_pipeline.v_active_workers.current_task is 'The task it works on, as it last said.';
comment on column pm_pipeline.v_active_workers.lease_expires_at is 'When the lease of that task runs out unless renewed.';
comment on column pm_pipeline.v_active_workers.started_at is 'When the worker started.';
comment on column pm_pipeline.v_active_workers.metadata is 'What the worker said about itself (function, host, limits).';

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
comment on column pm_pipeline.v_dead_workers.worker_id is 'The worker.';
comment on column pm_pipeline.v_dead_workers.worker_type is 'Its kind.';
comment on column pm_pipeline.v_dead_workers.status is 'dead once release_dead_worker_leases marked it, else its last status.';
comment on column pm_pipeline.v_dead_workers.last_heartbeat_at is 'Its last heartbeat.';
comment on column pm_pipeline.v_dead_workers.seconds_since_heartbeat is 'Seconds since that heartbeat.';
comment on column pm_pipeline.v_dead_workers.current_run_id is 'The run it was working on.';
comment on column pm_pipeline.v_dead_workers.current_task is 'The task it was working on.';
comment on column pm_pipeline.v_dead_workers.lease_expires_at is 'When that lease runs out (or ran out).';
comment on column pm_pipeline.v_dead_workers.started_at is 'When the worker started.';
comment on column pm_pipeline.v_dead_workers.metadata is 'What the worker said about itself.';
comment on column pm_pipeline.v_dead_workers.leases_held is 'Tasks still leased to it: 0 once its leases are released (by pg_cron within a minute, or by a claim).';

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
comment on column pm_pipeline.v_workers.worker_id is 'The worker.';
comment on column pm_pipeline.v_workers.worker_type is 'Its kind.';
comment on column pm_pipeline.v_workers.status is 'Its last status (active, idle, processing, stopped, dead).';
comment on column pm_pipeline.v_workers.alive is 'Heartbeating within settings.dead_worker_after_seconds and not stopped or dead.';
comment on column pm_pipeline.v_workers.last_heartbeat_at is 'Its last heartbeat.';
comment on column pm_pipeline.v_workers.seconds_since_heartbeat is 'Seconds since that heartbeat.';
comment on column pm_pipeline.v_workers.started_at is 'When it started.';
comment on column pm_pipeline.v_workers.stopped_at is 'When it stopped (null while running).';
comment on column pm_pipeline.v_workers.current_task is 'The task it holds a lease on now: {id, kind, run_id, lease_expires_at}, or null.';

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
  v_marked integer;
  v_expired integer;
  v_released integer := 0;
begin
  update pm_pipeline.worker_heartbeats w
     set status = 'dead'
   where w.status not in ('stopped', 'dead')
     and w.last_heartbeat_at < now() - pm_pipeline.dead_worker_after();
  get diagnostics v_marked = row_count;

  return query
  select t.id, t.kind, t.run_id, t.errors -> -1 ->> 'worker', t.state, t.last_error
    from pm_pipeline.requeue_expired_leases() t;
  get diagnostics v_expired = row_count;

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
    get diagnostics v_released = row_count;
  end if;
  perform pm_pipeline.report_maintenance('release_dead_leases',
    jsonb_build_object('workers_marked_dead', v_marked, 'expired_leases', v_expired, 'released', v_released));
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
  -- wakes the workers of these kinds that are idle and LISTENing (shared/worker/wake.ts) at once,
  -- whatever dispatch_workers decides: a live idle worker counts against the concurrency, so no
  -- invocation is sent for it, and without this it would find the task at its next poll
  perform pg_notify('pm_pipeline_task_ready', d.kind)
     from (select distinct i.kind from inserted i where i.state = 'queued' and i.run_after <= now()) d;
  -- share lock on the kind until commit: a worker deciding to stop (worker_may_stop) waits for it
  perform pm_pipeline.dispatch_workers(k.kind)
     from (select distinct i.kind from inserted i where i.state = 'queued' and i.run_after <= now()) d
     join pm_pipeline.task_kinds k on k.kind = d.kind and k.function_name is not null
      for share of k;
  return null;
end
$$;

comment on function pm_pipeline.dispatch_inserted_tasks() is 'Trigger: for the kinds of newly inserted ready tasks, NOTIFY pm_pipeline_task_ready (payload: the kind; wakes idle listening workers) and dispatch workers (see dispatch_workers).';

create trigger tasks_dispatch_workers
  after insert on pm_pipeline.tasks
  referencing new table as inserted
  for each statement execute function pm_pipeline.dispatch_inserted_tasks();

-- pg_cron's safety net: work that waits (retries after a backoff, a dispatch that was lost) with
-- fewer live workers than allowed gets workers.
create function pm_pipeline.dispatch_waiting_work()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_dispatched integer;
begin
  select coalesce(sum(pm_pipeline.dispatch_workers(k.kind)), 0)::int into v_dispatched
    from pm_pipeline.task_kinds k where k.function_name is not null;
  perform pm_pipeline.report_maintenance('dispatch_waiting_work', jsonb_build_object('dispatched', v_dispatched));
  return v_dispatched;
end
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
