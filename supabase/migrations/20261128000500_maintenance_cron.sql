-- Maintenance by pg_cron, the job the old heartbeat-monitor daemon was meant to do (it crashed at
-- import): release dead workers' leases, purge stale worker rows, trim pg_cron's own history.
--
-- Valid on Debian's pg_cron 1.4 (5-field cron only, so at most once a minute) and on hosted
-- Supabase (pg_cron >= 1.5 also takes 'N seconds'). Claims re-queue expired leases themselves,
-- so the minute schedule only matters when no worker is claiming.

create extension if not exists pg_cron;

create function pm_pipeline.purge_cron_history()
returns bigint
language plpgsql
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
set search_path = ''
as $$
  select count(*) from pm_pipeline.cleanup_stale_workers((select s.stale_worker_purge_minutes from pm_pipeline.settings s));
$$;
comment on function pm_pipeline.purge_stale_workers() is 'cleanup_stale_workers with settings.stale_worker_purge_minutes; returns how many rows it deleted.';

-- The schedule of the jobs that should run often: every 10 s where pg_cron takes seconds (>= 1.5,
-- hosted Supabase), else every minute (the 5-field cron of Debian's pg_cron 1.4).
create function pm_pipeline.frequent_cron_schedule()
returns text
language sql
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
select cron.schedule('pm_pipeline_purge_stale_workers', '*/10 * * * *', 'select pm_pipeline.purge_stale_workers()');
select cron.schedule('pm_pipeline_purge_cron_history', '17 3 * * *', 'select pm_pipeline.purge_cron_history()');
