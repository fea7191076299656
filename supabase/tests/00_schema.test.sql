-- pgTAP: the shape of schema pm_pipeline. Tables, views, key columns and their types (the worker
-- liveness names are the old system's), function signatures, uniqueness, row level security and
-- comments on every relation, the pg_cron jobs, and the settings defaults.
-- Runs in one transaction that is rolled back: it leaves nothing behind.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(154);

-- ---------------------------------------------------------------------------------------------
-- Tables and views
-- ---------------------------------------------------------------------------------------------
select has_schema('pm_pipeline');

select has_table('pm_pipeline', t, format('table pm_pipeline.%s exists', t))
  from unnest(array['runs', 'companies', 'company_research', 'contacts', 'suppression', 'events',
                    'settings', 'task_kinds', 'tasks', 'worker_heartbeats']) t;

select has_view('pm_pipeline', v, format('view pm_pipeline.%s exists', v))
  from unnest(array['v_active_workers', 'v_dead_workers', 'v_queue_stats']) v;

-- ---------------------------------------------------------------------------------------------
-- Key columns and their types (col_type_is also fails when the column is missing)
-- ---------------------------------------------------------------------------------------------
select col_type_is('pm_pipeline', c.t, c.col, c.ty, format('%s.%s is %s', c.t, c.col, c.ty))
  from (values
    -- the old system's worker liveness table, same names
    ('worker_heartbeats', 'worker_id', 'text'),
    ('worker_heartbeats', 'worker_type', 'text'),
    ('worker_heartbeats', 'last_heartbeat_at', 'timestamp with time zone'),
    ('worker_heartbeats', 'status', 'text'),
    ('worker_heartbeats', 'current_run_id', 'uuid'),
    ('worker_heartbeats', 'current_task', 'text'),
    ('worker_heartbeats', 'lease_expires_at', 'timestamp with time zone'),
    ('worker_heartbeats', 'started_at', 'timestamp with time zone'),
    ('worker_heartbeats', 'metadata', 'jsonb'),
    -- runs
    ('runs', 'id', 'uuid'),
    ('runs', 'criteria', 'jsonb'),
    ('runs', 'target_quantity', 'integer'),
    ('runs', 'contacts_min', 'integer'),
    ('runs', 'contacts_max', 'integer'),
    ('runs', 'stage', 'pm_pipeline.run_stage'),
    ('runs', 'status', 'pm_pipeline.run_status'),
    ('runs', 'idempotency_key', 'text'),
    ('runs', 'finished_at', 'timestamp with time zone'),
    -- companies, research, contacts, suppression, events
    ('companies', 'run_id', 'uuid'),
    ('companies', 'domain', 'text'),
    ('companies', 'status', 'pm_pipeline.company_status'),
    ('companies', 'source_urls', 'text[]'),
    ('company_research', 'company_id', 'uuid'),
    ('company_research', 'units', 'integer'),
    ('company_research', 'pms_confidence', 'text'),
    ('contacts', 'company_id', 'uuid'),
    ('contacts', 'email', 'text'),
    ('contacts', 'linkedin_url', 'text'),
    ('contacts', 'email_class', 'pm_pipeline.email_class'),
    ('suppression', 'domain', 'text'),
    ('events', 'id', 'bigint'),
    ('events', 'run_id', 'uuid'),
    ('events', 'task_id', 'bigint'),
    ('events', 'kind', 'text'),
    ('events', 'message', 'text'),
    ('events', 'data', 'jsonb'),
    -- settings and the queue
    ('settings', 'heartbeat_interval_seconds', 'integer'),
    ('settings', 'dead_worker_after_seconds', 'integer'),
    ('settings', 'stale_worker_purge_minutes', 'integer'),
    ('settings', 'cron_history_retention', 'interval'),
    ('settings', 'history_retention', 'interval'),
    ('task_kinds', 'kind', 'text'),
    ('task_kinds', 'max_attempts', 'integer'),
    ('task_kinds', 'lease_seconds', 'integer'),
    ('task_kinds', 'backoff_base_seconds', 'numeric'),
    ('task_kinds', 'backoff_max_seconds', 'numeric'),
    ('tasks', 'id', 'bigint'),
    ('tasks', 'kind', 'text'),
    ('tasks', 'run_id', 'uuid'),
    ('tasks', 'key', 'text'),
    ('tasks', 'payload', 'jsonb'),
    ('tasks', 'state', 'pm_pipeline.task_state'),
    ('tasks', 'fair_tag', 'bigint'),
    ('tasks', 'run_after', 'timestamp with time zone'),
    ('tasks', 'attempts', 'integer'),
    ('tasks', 'max_attempts', 'integer'),
    ('tasks', 'lease_token', 'uuid'),
    ('tasks', 'lease_expires_at', 'timestamp with time zone'),
    ('tasks', 'locked_by', 'text'),
    ('tasks', 'last_error', 'text'),
    ('tasks', 'errors', 'jsonb')
  ) as c(t, col, ty);

select enum_has_labels('pm_pipeline', 'run_stage',
  array['company_discovery', 'company_research', 'contact_discovery', 'done'], 'run_stage labels, in pipeline order');
select enum_has_labels('pm_pipeline', 'run_status',
  array['active', 'needs_user_decision', 'completed', 'error', 'cancelled'], 'run_status labels');
select enum_has_labels('pm_pipeline', 'task_state',
  array['queued', 'running', 'succeeded', 'failed', 'cancelled'], 'task_state labels');

-- ---------------------------------------------------------------------------------------------
-- Functions: exact argument lists, return types, and the result columns users query by name
-- ---------------------------------------------------------------------------------------------
select has_function('pm_pipeline', f.name, f.args, format('function pm_pipeline.%s(%s) exists', f.name, array_to_string(f.args, ', ')))
  from (values
    ('upsert_worker_heartbeat', array['text', 'text', 'text', 'uuid', 'text', 'timestamp with time zone', 'jsonb']),
    ('stop_worker', array['text', 'text']),
    ('get_worker_stats', array[]::text[]),
    ('cleanup_stale_workers', array['integer']),
    ('release_dead_worker_leases', array[]::text[]),
    ('claim_tasks', array['text', 'text[]', 'integer']),
    ('enqueue_tasks', array['text', 'uuid', 'jsonb']),
    ('enqueue_task', array['text', 'uuid', 'jsonb', 'text', 'double precision']),
    ('complete_task', array['bigint', 'uuid', 'jsonb']),
    ('complete_tasks', array['bigint[]', 'uuid[]', 'jsonb[]']),
    ('complete_and_claim', array['bigint', 'uuid', 'jsonb', 'text', 'text[]', 'integer']),
    ('fail_task', array['bigint', 'uuid', 'text', 'boolean', 'double precision', 'text']),
    ('release_task', array['bigint', 'uuid', 'text']),
    ('heartbeat_task', array['bigint', 'uuid']),
    ('create_run', array['jsonb', 'integer', 'integer', 'integer', 'text', 'text']),
    ('advance_run_stage', array['uuid', 'pm_pipeline.run_stage']),
    ('set_run_status', array['uuid', 'pm_pipeline.run_status', 'text', 'pm_pipeline.run_status', 'pm_pipeline.decision_reason']),
    ('resume_run', array['uuid', 'pm_pipeline.run_stage', 'text']),
    ('add_companies', array['bigint', 'uuid', 'jsonb', 'integer']),
    ('add_contacts', array['bigint', 'uuid', 'uuid', 'jsonb', 'integer']),
    ('normalize_domain', array['text']),
    ('criteria_problem', array['jsonb'])
  ) as f(name, args);

select function_returns('pm_pipeline', f.name, f.args, f.ret)
  from (values
    ('claim_tasks', array['text', 'text[]', 'integer'], 'setof pm_pipeline.tasks'),
    ('enqueue_tasks', array['text', 'uuid', 'jsonb'], 'setof pm_pipeline.tasks'),
    ('complete_task', array['bigint', 'uuid', 'jsonb'], 'boolean'),
    ('complete_tasks', array['bigint[]', 'uuid[]', 'jsonb[]'], 'setof bigint'),
    ('complete_and_claim', array['bigint', 'uuid', 'jsonb', 'text', 'text[]', 'integer'], 'setof pm_pipeline.tasks'),
    ('fail_task', array['bigint', 'uuid', 'text', 'boolean', 'double precision', 'text'], 'pm_pipeline.task_state'),
    ('release_task', array['bigint', 'uuid', 'text'], 'pm_pipeline.task_state'),
    ('heartbeat_task', array['bigint', 'uuid'], 'timestamp with time zone'),
    ('stop_worker', array['text', 'text'], 'integer'),
    ('create_run', array['jsonb', 'integer', 'integer', 'integer', 'text', 'text'], 'pm_pipeline.runs'),
    ('advance_run_stage', array['uuid', 'pm_pipeline.run_stage'], 'boolean'),
    ('set_run_status', array['uuid', 'pm_pipeline.run_status', 'text', 'pm_pipeline.run_status', 'pm_pipeline.decision_reason'], 'boolean'),
    ('resume_run', array['uuid', 'pm_pipeline.run_stage', 'text'], 'boolean'),
    ('normalize_domain', array['text'], 'text'),
    ('criteria_problem', array['jsonb'], 'text'),
    ('upsert_worker_heartbeat', array['text', 'text', 'text', 'uuid', 'text', 'timestamp with time zone', 'jsonb'], 'pm_pipeline.worker_heartbeats')
  ) as f(name, args, ret);

select is(pg_get_function_result(to_regprocedure('pm_pipeline.get_worker_stats()')),
  'TABLE(worker_type text, total bigint, active bigint, idle bigint, processing bigint, dead bigint, stopped bigint)',
  'get_worker_stats() returns counts per worker_type');
select is(pg_get_function_result(to_regprocedure('pm_pipeline.cleanup_stale_workers(integer)')),
  'TABLE(worker_id text, worker_type text, status text, last_heartbeat_at timestamp with time zone)',
  'cleanup_stale_workers(integer) returns the deleted worker rows');
select is(pg_get_function_result(to_regprocedure('pm_pipeline.release_dead_worker_leases()')),
  'TABLE(task_id bigint, kind text, run_id uuid, worker_id text, new_state pm_pipeline.task_state, reason text)',
  'release_dead_worker_leases() returns what it released');
select is(pg_get_function_arguments(to_regprocedure('pm_pipeline.cleanup_stale_workers(integer)')),
  'p_minutes integer DEFAULT 60', 'cleanup_stale_workers defaults to 60 minutes');

-- ---------------------------------------------------------------------------------------------
-- Uniqueness
-- ---------------------------------------------------------------------------------------------
select col_is_unique('pm_pipeline', 'companies', array['run_id', 'domain'], 'companies are unique per (run_id, domain)');
select col_is_pk('pm_pipeline', 'worker_heartbeats', 'worker_id', 'worker_heartbeats is keyed by worker_id');
select col_is_pk('pm_pipeline', 'suppression', 'domain', 'suppression is keyed by domain');

-- unique indexes found by their definition (keys and predicate), not by name
select ok(exists (
    select from pg_index x
     where x.indrelid = to_regclass(i.tbl) and x.indisunique
       and array(select pg_get_indexdef(x.indexrelid, k, true) from generate_series(1, x.indnkeyatts) k) = i.keys
       and pg_get_expr(x.indpred, x.indrelid, true) is not distinct from i.pred),
  format('unique index on %s (%s)%s', i.tbl, array_to_string(i.keys, ', '), coalesce(' where ' || i.pred, '')))
  from (values
    ('pm_pipeline.contacts', array['company_id', 'lower(email)'], 'email IS NOT NULL'),
    ('pm_pipeline.contacts', array['company_id', 'lower(linkedin_url)'], 'linkedin_url IS NOT NULL'),
    ('pm_pipeline.tasks', array['kind', 'key'], 'key IS NOT NULL'),
    ('pm_pipeline.runs', array['idempotency_key'], null)
  ) as i(tbl, keys, pred);

-- ---------------------------------------------------------------------------------------------
-- Row level security on every table; a comment on every table and view
-- ---------------------------------------------------------------------------------------------
select cmp_ok((select count(*)::int from pg_class c where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind = 'r'),
  '>=', 10, 'the schema has at least the 10 tables above (the checks below are not vacuous)');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'row level security is enabled on every table of pm_pipeline');

select is_empty($$
  select c.relname from pg_class c
   where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = '' $$,
  'every table and view of pm_pipeline has a comment');

select isnt(obj_description('pm_pipeline'::regnamespace, 'pg_namespace'), null, 'schema pm_pipeline has a comment');

-- ---------------------------------------------------------------------------------------------
-- pg_cron jobs: present, active, in this database, schedules valid on pg_cron 1.4 (5 fields);
-- pg_cron >= 1.5 (hosted Supabase) may run the lease release every 'N seconds'.
-- ---------------------------------------------------------------------------------------------
create function pg_temp.cron5_valid(p_schedule text) returns boolean
language plpgsql immutable as $$
declare
  v_fields text[] := regexp_split_to_array(btrim(p_schedule), '\s+');
  v_lo int[] := array[0, 0, 1, 1, 0];
  v_hi int[] := array[59, 23, 31, 12, 7];
  v_item text;
  v_m text[];
begin
  if cardinality(v_fields) <> 5 then
    return false;
  end if;
  for i in 1..5 loop
    foreach v_item in array string_to_array(v_fields[i], ',') loop
      v_m := regexp_match(v_item, '^(\*|(\d+)(-(\d+))?)(/(\d+))?$');
      if v_m is null
         or (v_m[2] is not null and v_m[2]::int not between v_lo[i] and v_hi[i])
         or (v_m[4] is not null and (v_m[4]::int not between v_lo[i] and v_hi[i] or v_m[4]::int < v_m[2]::int))
         or (v_m[6] is not null and v_m[6]::int < 1) then
        return false;
      end if;
    end loop;
  end loop;
  return true;
end
$$;

select ok(pg_temp.cron5_valid('*/10 * * * *') and pg_temp.cron5_valid('17 3 * * *')
          and not pg_temp.cron5_valid('10 seconds') and not pg_temp.cron5_valid('61 * * * *')
          and not pg_temp.cron5_valid('* * * *'),
  'the 5-field schedule checker itself tells valid from invalid');

select isnt((select extversion from pg_extension where extname = 'pg_cron'), null, 'pg_cron is installed');

select is((select count(*)::int from cron.job j where j.jobname = e.name and j.active and j.database = current_database()
                                                  and j.command = e.command), 1,
          format('cron job %s exists, is active, runs in this database: %s', e.name, e.command))
  from (values
    ('pm_pipeline_release_dead_leases', 'select count(*) from pm_pipeline.release_dead_worker_leases()'),
    ('pm_pipeline_purge_stale_workers', 'select pm_pipeline.purge_stale_workers()'),
    ('pm_pipeline_purge_cron_history', 'select pm_pipeline.purge_cron_history()'),
    ('pm_pipeline_purge_old_rows', 'select pm_pipeline.purge_old_rows()')
  ) as e(name, command);

select ok(coalesce(pg_temp.cron5_valid(j.schedule)
          or (e.name = 'pm_pipeline_release_dead_leases'
              and string_to_array(split_part((select extversion from pg_extension where extname = 'pg_cron'), '-', 1), '.')::int[] >= array[1, 5]
              and j.schedule ~ '^\s*([1-9]|[1-5][0-9])\s+seconds?\s*$'), false),
          format('cron job %s has a schedule pg_cron %s accepts: %s', e.name,
                 (select extversion from pg_extension where extname = 'pg_cron'), coalesce(j.schedule, '(no such job)')))
  from (values ('pm_pipeline_release_dead_leases'), ('pm_pipeline_purge_stale_workers'), ('pm_pipeline_purge_cron_history'), ('pm_pipeline_purge_old_rows')) as e(name)
  left join cron.job j on j.jobname = e.name
 order by e.name;

select is_empty($$
  select j.jobname, j.schedule from cron.job j
   where j.command ~ 'pm_pipeline\.'
     and not (pg_temp.cron5_valid(j.schedule)
              or (string_to_array(split_part((select extversion from pg_extension where extname = 'pg_cron'), '-', 1), '.')::int[] >= array[1, 5]
                  and j.schedule ~ '^\s*([1-9]|[1-5][0-9])\s+seconds?\s*$')) $$,
  'every pg_cron job calling pm_pipeline has a schedule the installed pg_cron accepts');

select is((select schedule from cron.job where jobname = 'pm_pipeline_purge_stale_workers'), '*/10 * * * *',
  'stale workers are purged every 10 minutes');

-- the job commands parse and reference functions that exist (prepared, not executed)
select lives_ok($$ prepare pm_cron_job_1 as select count(*) from pm_pipeline.release_dead_worker_leases() $$, 'release job command is valid SQL');
select lives_ok($$ prepare pm_cron_job_2 as select pm_pipeline.purge_stale_workers() $$, 'purge stale workers job command is valid SQL');
select lives_ok($$ prepare pm_cron_job_3 as select pm_pipeline.purge_cron_history() $$, 'purge cron history job command is valid SQL');

-- ---------------------------------------------------------------------------------------------
-- Settings: one row; a heartbeat every 10 s, dead after 30 s (two missed heartbeats and more)
-- ---------------------------------------------------------------------------------------------
select col_default_is('pm_pipeline', 'settings', 'heartbeat_interval_seconds', '10', 'heartbeat interval defaults to 10 s');
select col_default_is('pm_pipeline', 'settings', 'dead_worker_after_seconds', '30', 'a worker is dead after 30 s by default');
select col_default_is('pm_pipeline', 'settings', 'stale_worker_purge_minutes', '60', 'stale worker rows are purged after 60 min by default');
select is((select count(*)::int from pm_pipeline.settings), 1, 'settings has exactly one row');
select throws_ok($$ insert into pm_pipeline.settings (id) values (false) $$, '23514', null, 'a second settings row is rejected');
select throws_ok($$ update pm_pipeline.settings set heartbeat_interval_seconds = 10, dead_worker_after_seconds = 19 $$, '23514', null,
  'dead_worker_after_seconds must be at least two heartbeat intervals');
select is(pm_pipeline.dead_worker_after(), (select make_interval(secs => dead_worker_after_seconds) from pm_pipeline.settings),
  'dead_worker_after() reads settings.dead_worker_after_seconds');
select results_eq($$ select kind, max_attempts, lease_seconds from pm_pipeline.task_kinds
                     where kind in ('lead_list', 'company_research', 'contact_research') order by kind $$,
                  $$ values ('company_research'::text, 5, 30), ('contact_research', 5, 30), ('lead_list', 5, 30) $$,
                  'the three worker kinds are seeded (5 attempts, 30 s leases)');

select * from finish();
rollback;
