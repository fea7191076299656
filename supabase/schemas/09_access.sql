-- Access. The pipeline is for the service role (Edge Functions, the CLI through the run API) and
-- postgres (migrations, pg_cron, psql). anon and authenticated get nothing, and row level security
-- is on for every table (each file enables it beside its table) with no policies for them, so a
-- mistaken grant still exposes no rows.
--
-- The Edge Functions connect as their own role, pm_pipeline_worker: it may execute the SQL API and
-- read what the functions read directly, and write nothing itself. Every write goes through a
-- function, and every function is SECURITY DEFINER (it runs as the schema's owner; each sets
-- search_path = ''), so a leaked connection string cannot rewrite the queue, forge a lease or drop
-- a row outside the rules the functions enforce. The role is created without login: the local
-- stack gives it a password (scripts/stack.sh), a hosted project does the same by hand
-- (docs/deploy.md) or keeps postgres. This file comes last, so that its grants cover every object.

revoke all on schema pm_pipeline from public, anon, authenticated;
revoke all on all tables in schema pm_pipeline from public, anon, authenticated;
revoke all on all sequences in schema pm_pipeline from public, anon, authenticated;
-- functions are executable by PUBLIC by default, and a schema-level default privilege cannot take
-- that away: revoked here, after every function exists
revoke all on all functions in schema pm_pipeline from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on tables from public, anon, authenticated;
alter default privileges in schema pm_pipeline revoke all on sequences from public, anon, authenticated;

grant usage on schema pm_pipeline to service_role;
grant all on all tables in schema pm_pipeline to service_role;
grant all on all sequences in schema pm_pipeline to service_role;
grant execute on all functions in schema pm_pipeline to service_role;
alter default privileges in schema pm_pipeline grant all on tables to service_role;
alter default privileges in schema pm_pipeline grant all on sequences to service_role;
alter default privileges in schema pm_pipeline grant execute on functions to service_role;

do $$
begin
  if not exists (select from pg_roles where rolname = 'pm_pipeline_worker') then
    create role pm_pipeline_worker nologin noinherit;
  end if;
end
$$;
comment on role pm_pipeline_worker is 'The Edge Functions'' database role: executes the pm_pipeline SQL API, reads what the functions read, writes nothing directly.';

grant usage on schema pm_pipeline to pm_pipeline_worker;
-- (take_provider_turn and record_provider_limits included: the workers pace their provider calls
-- through them; the rate-limit table itself stays unreadable to the role)
grant execute on all functions in schema pm_pipeline to pm_pipeline_worker;

-- What the functions read with a plain SELECT (the workers' inputs, the API's lists and exports):
-- the tables with a policy that lets this role see their rows (row level security stays on) ...
grant select on pm_pipeline.runs, pm_pipeline.companies, pm_pipeline.company_research, pm_pipeline.contacts,
  pm_pipeline.suppression, pm_pipeline.alert_deliveries to pm_pipeline_worker;
create policy worker_reads on pm_pipeline.runs for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.companies for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.company_research for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.contacts for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.suppression for select to pm_pipeline_worker using (true);
create policy worker_reads on pm_pipeline.alert_deliveries for select to pm_pipeline_worker using (true);
-- ... and the views that read the queue and worker tables with their owner's rights
-- (security_invoker = false where they are defined: the role sees the queue's numbers, not its rows)
grant select on pm_pipeline.v_queue_stats, pm_pipeline.v_workers, pm_pipeline.v_companies_export,
  pm_pipeline.v_contacts_export to pm_pipeline_worker;
