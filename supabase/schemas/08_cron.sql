-- Maintenance by pg_cron, the job the old heartbeat-monitor daemon was meant to do (it crashed at
-- import): release dead workers' leases, dispatch waiting work, purge stale worker rows, trim
-- pg_cron's own history and the pipeline's (finished tasks, events, usage rows, pg_net's responses).
--
-- Valid on Debian's pg_cron 1.4 (5-field cron only, so at most once a minute) and on hosted
-- Supabase (pg_cron >= 1.5 also takes 'N seconds'). Claims re-queue expired leases themselves,
-- so the minute schedule only matters when no worker is claiming.

create extension if not exists pg_cron;

create function pm_pipeline.purge_cron_history()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count bigint;
begin
  delete from cron.job_run_details d
   where d.end_time < now() - (select s.cron_history_retention from pm_pipeline.settings s);
  get diagnostics v_count = row_count;
  perform pm_pipeline.report_maintenance('purge_cron_history', jsonb_build_object('deleted', v_count));
  return v_count;
end
$$;

comment on function pm_pipeline.purge_cron_history() is 'Deletes pg_cron run history older than settings.cron_history_retention; returns how many rows.';

create function pm_pipeline.purge_stale_workers()
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count bigint;
begin
  select count(*) into v_count
    from pm_pipeline.cleanup_stale_workers((select s.stale_worker_purge_minutes from pm_pipeline.settings s));
  perform pm_pipeline.report_maintenance('purge_stale_workers', jsonb_build_object('deleted', v_count));
  return v_count;
end
$$;

comment on function pm_pipeline.purge_stale_workers() is 'cleanup_stale_workers with settings.stale_worker_purge_minutes; returns how many rows it deleted.';

-- History older than settings.history_retention, of what no live run needs: finished tasks (alert
-- tasks too, and with them their deliveries), events and usage rows of runs that ended (or of no
-- run). A run that is active or waiting for a decision keeps everything: its budget sums its usage,
-- its reconcile counts its tasks. Runs, companies, research and contacts are results: kept.
create function pm_pipeline.purge_old_rows()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before timestamptz := now() - (select s.history_retention from pm_pipeline.settings s);
  v_tasks bigint;
  v_events bigint;
  v_usage bigint;
  v_responses bigint := 0;
  v_responses_table regclass := to_regclass('net._http_response');
begin
  delete from pm_pipeline.tasks t
   where t.state in ('succeeded', 'failed', 'cancelled') and coalesce(t.finished_at, t.updated_at) < v_before
     and not exists (select from pm_pipeline.runs r where r.id = t.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_tasks = row_count;
  delete from pm_pipeline.events e
   where e.created_at < v_before
     and not exists (select from pm_pipeline.runs r where r.id = e.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_events = row_count;
  delete from pm_pipeline.provider_usage u
   where u.created_at < v_before
     and not exists (select from pm_pipeline.runs r where r.id = u.run_id and r.status in ('active', 'needs_user_decision'));
  get diagnostics v_usage = row_count;
  -- pg_net keeps every response (hosted Supabase: 6 hours by default); absent on the local stack
  if v_responses_table is not null then
    execute format('delete from %s where created < $1', v_responses_table) using v_before;
    get diagnostics v_responses = row_count;
  end if;
  perform pm_pipeline.report_maintenance('purge_old_rows', jsonb_build_object('tasks', v_tasks, 'events', v_events,
    'provider_usage', v_usage, 'http_responses', v_responses));
  return jsonb_build_object('tasks', v_tasks, 'events', v_events, 'provider_usage', v_usage, 'http_responses', v_responses);
end
$$;

comment on function pm_pipeline.purge_old_rows() is 'Deletes history older than settings.history_retention that no live run needs: finished tasks, events, usage rows, pg_net responses; returns the counts.';

-- The schedule of the jobs that should run often: every 10 s where pg_cron takes seconds (>= 1.5,
-- hosted Supabase), else every minute (the 5-field cron of Debian's pg_cron 1.4).
create function pm_pipeline.frequent_cron_schedule()
returns text
language sql
security definer
stable
set search_path = ''
as $$
  select case when string_to_array(split_part(e.extversion, '-', 1), '.')::int[] >= array[1, 5]
              then '10 seconds' else '* * * * *' end
    from pg_extension e where e.extname = 'pg_cron';
$$;

comment on function pm_pipeline.frequent_cron_schedule() is 'Every 10 seconds on pg_cron >= 1.5, every minute on older pg_cron.';

select cron.schedule('pm_pipeline_release_dead_leases', pm_pipeline.frequent_cron_schedule(),
  'select count(*) from pm_pipeline.release_dead_worker_leases()');

select cron.schedule('pm_pipeline_dispatch_waiting_work', pm_pipeline.frequent_cron_schedule(),
  'select pm_pipeline.dispatch_waiting_work()');

select cron.schedule('pm_pipeline_purge_stale_workers', '*/10 * * * *', 'select pm_pipeline.purge_stale_workers()');

select cron.schedule('pm_pipeline_purge_cron_history', '17 3 * * *', 'select pm_pipeline.purge_cron_history()');

select cron.schedule('pm_pipeline_purge_old_rows', '27 3 * * *', 'select pm_pipeline.purge_old_rows()');

-- The maintenance jobs as an operator checks them (Studio, GET /workers): pg_cron's last run of each
-- of our jobs beside the last report of its function. A job is a problem when its last run failed,
-- when it ran but its function did not report (the command no longer does the work), or, for the
-- frequent jobs, when nothing ran for 5 minutes although the server has been up that long.
-- With its owner's rights: the worker role reads the cron tables through it, not directly.
create view pm_pipeline.v_maintenance_jobs
with (security_invoker = false)
as
with jobs as (
  select j.jobid, substr(j.jobname, length('pm_pipeline_') + 1) as job, j.schedule, j.active,
         j.schedule = pm_pipeline.frequent_cron_schedule() as frequent
    from cron.job j where j.jobname like 'pm\_pipeline\_%'
), last_run as (
  select distinct on (d.jobid) d.jobid, d.start_time, d.end_time, d.status, d.return_message
    from cron.job_run_details d
   where d.jobid in (select jobid from jobs) and d.status in ('succeeded', 'failed')
   order by d.jobid, d.start_time desc
), checked as (
  select j.job, j.schedule, j.active, l.start_time as last_run_at, l.status as last_run_status,
         l.return_message as last_run_message, m.reported_at as last_reported_at, m.report as last_report,
         case
           when not j.active then 'the job is switched off (cron.job.active = false)'
           when l.status = 'failed' then format('its last run failed: %s', l.return_message)
           when l.status = 'succeeded' and (m.reported_at is null or m.reported_at < l.start_time - interval '5 seconds')
             then format('ran at %s but its function did not report', to_char(l.start_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'))
           when j.frequent and coalesce(l.start_time, '-infinity') < now() - interval '5 minutes'
                and pg_postmaster_start_time() < now() - interval '5 minutes'
             then 'no run in the last 5 minutes: is pg_cron running?'
         end as problem
    from jobs j
    left join last_run l on l.jobid = j.jobid
    left join pm_pipeline.maintenance_reports m on m.job = j.job
)
select c.job, c.schedule, c.active, c.last_run_at, c.last_run_status, c.last_run_message,
       c.last_reported_at, c.last_report, c.problem is null as ok, c.problem
  from checked c
 order by c.job;

comment on view pm_pipeline.v_maintenance_jobs is 'Each pg_cron maintenance job of the pipeline: its last run, the last report of its function, and whether it is doing its work (ok, problem).';
comment on column pm_pipeline.v_maintenance_jobs.job is 'The job (its cron.job name without pm_pipeline_).';
comment on column pm_pipeline.v_maintenance_jobs.schedule is 'Its pg_cron schedule.';
comment on column pm_pipeline.v_maintenance_jobs.active is 'Whether pg_cron runs it (cron.job.active).';
comment on column pm_pipeline.v_maintenance_jobs.last_run_at is 'When pg_cron last ran it to the end (cron.job_run_details.start_time).';
comment on column pm_pipeline.v_maintenance_jobs.last_run_status is 'succeeded or failed, as pg_cron saw it.';
comment on column pm_pipeline.v_maintenance_jobs.last_run_message is 'What pg_cron recorded of that run (the error, for a failed one).';
comment on column pm_pipeline.v_maintenance_jobs.last_reported_at is 'When the job''s function last reported that it did its work (maintenance_reports).';
comment on column pm_pipeline.v_maintenance_jobs.last_report is 'What it did then ({"released": 2}, {"dispatched": 1}, …).';
comment on column pm_pipeline.v_maintenance_jobs.ok is 'True when none of the problems below applies.';
comment on column pm_pipeline.v_maintenance_jobs.problem is 'Why not ok: switched off, failed, ran without its function reporting, or no run for 5 minutes.';

-- GET /workers: the old system's Worker Health panel as one document.
create function pm_pipeline.worker_health()
returns jsonb
language sql
security definer
stable
set search_path = ''
as $$
  with w as (select * from pm_pipeline.v_workers),
  -- read once: the view reads pg_cron's run history
  m as (select * from pm_pipeline.v_maintenance_jobs),
  counts as (
    select count(*) filter (where w.alive) as active,
           count(*) filter (where not w.alive and w.status <> 'stopped') as dead,
           count(*) filter (where not w.alive and w.status <> 'stopped' and w.current_task is not null) as dead_holding
      from w),
  problems as (
    select array_remove(array[
             case when c.dead_holding > 0 then format('%s dead worker(s) still hold a lease', c.dead_holding) end]
           || coalesce((select array_agg(format('%s: %s', m.job, m.problem) order by m.job) from m where not m.ok), '{}'), null) as list
      from counts c)
  select jsonb_build_object(
    -- a dead worker whose leases were released is history, not a problem: it shows in dead
    'health', case when cardinality(p.list) > 0 then 'degraded' when c.active = 0 then 'no_workers' else 'healthy' end,
    'problems', to_jsonb(p.list),
    'active', c.active,
    'dead', c.dead,
    'dead_holding_leases', c.dead_holding,
    'stats', coalesce((select jsonb_agg(to_jsonb(s) order by s.worker_type) from pm_pipeline.get_worker_stats() s), '[]'),
    'workers', coalesce((select jsonb_agg(jsonb_build_object(
        'worker_id', x.worker_id, 'worker_type', x.worker_type, 'status', x.status, 'alive', x.alive,
        'started_at', x.started_at, 'last_heartbeat_at', x.last_heartbeat_at,
        'seconds_since_heartbeat', x.seconds_since_heartbeat, 'current_task', x.current_task)
        order by x.alive desc, x.last_heartbeat_at desc)
      -- workers start on demand and stop when idle: the stopped ones of the last 15 minutes are
      -- enough to see what just ran (stats counts them all)
      from (select * from w where w.status <> 'stopped' or w.stopped_at > now() - interval '15 minutes'
             order by w.alive desc, w.last_heartbeat_at desc limit 500) x), '[]'),
    'maintenance', coalesce((select jsonb_agg(to_jsonb(m) - 'last_run_message' order by m.job) from m), '[]'),
    'checked_at', now())
    from counts c, problems p
$$;

comment on function pm_pipeline.worker_health() is 'GET /workers: health (healthy, degraded, no_workers) with its problems, active and dead counts (and how many dead ones still hold a lease), stats by worker type, every worker that is not stopped or stopped in the last 15 minutes with its task, and the maintenance jobs.';
