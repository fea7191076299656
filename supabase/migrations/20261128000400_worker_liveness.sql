-- Worker liveness, with the names users of the old system query by hand (seed-phase2-report.md):
-- worker_heartbeats, v_active_workers, v_dead_workers, upsert_worker_heartbeat, stop_worker,
-- get_worker_stats(), cleanup_stale_workers(minutes), release_dead_worker_leases().
-- Unlike the old ones, these work: a dead worker's tasks go back to the queue, fenced and counted.

create function pm_pipeline.dead_worker_after()
returns interval
language sql
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
