-- Access: the pipeline is for the service role (Edge Functions, the CLI through the run API) and
-- postgres (migrations, pg_cron, psql). anon and authenticated get nothing, and row level security
-- is on for every table with no policies, so a mistaken grant still exposes no rows. The functions
-- connect as their own role, pm_pipeline_worker, which may only execute the SQL API (*_worker_role.sql).

do $$
declare
  v_table text;
begin
  for v_table in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where n.nspname = 'pm_pipeline' and c.relkind = 'r' loop
    execute format('alter table pm_pipeline.%I enable row level security', v_table);
  end loop;
end
$$;

revoke all on schema pm_pipeline from public, anon, authenticated;
revoke all on all tables in schema pm_pipeline from public, anon, authenticated;
revoke all on all sequences in schema pm_pipeline from public, anon, authenticated;
revoke all on all functions in schema pm_pipeline from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on tables from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on sequences from public, anon, authenticated;
-- (a schema-level default cannot revoke PUBLIC's execute on new functions: later migrations that
-- create functions revoke it themselves)

grant usage on schema pm_pipeline to service_role;
grant all on all tables in schema pm_pipeline to service_role;
grant all on all sequences in schema pm_pipeline to service_role;
grant execute on all functions in schema pm_pipeline to service_role;
alter default privileges in schema pm_pipeline grant all on tables to service_role;
alter default privileges in schema pm_pipeline grant all on sequences to service_role;
alter default privileges in schema pm_pipeline grant execute on functions to service_role;
