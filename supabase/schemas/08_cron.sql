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
  return v_count;
end
$$;

comment on function pm_pipeline.purge_cron_history() is 'Deletes pg_cron run history older than settings.cron_history_retention; returns how many rows.';

create function pm_pipeline.purge_stale_workers()
returns bigint
language sql
security definer
set search_path = ''
as $$
  select count(*) from pm_pipeline.cleanup_stale_workers((select s.stale_worker_purge_minutes from pm_pipeline.settings s));
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
