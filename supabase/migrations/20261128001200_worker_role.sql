-- The role the Edge Functions connect as: pm_pipeline_worker may execute the SQL API and read what
-- the functions read directly, and write nothing itself. Every write goes through a function,
-- which is SECURITY DEFINER (it runs as the schema's owner; each sets search_path = ''), so a
-- leaked connection string cannot rewrite the queue, forge a lease or drop a row outside the
-- rules the functions enforce. Created without login: the local stack gives it a password
-- (scripts/stack.sh), a hosted project does the same by hand (docs/deploy.md) or keeps postgres.
-- Last migration, so that it covers every function of the schema.

do $$
begin
  if not exists (select from pg_roles where rolname = 'pm_pipeline_worker') then
    create role pm_pipeline_worker nologin noinherit;
  end if;
end
$$;
comment on role pm_pipeline_worker is 'The Edge Functions'' database role: executes the pm_pipeline SQL API, reads what the functions read, writes nothing directly.';

do $$
declare
  v_function regprocedure;
begin
  for v_function in select p.oid::regprocedure from pg_proc p
                     where p.pronamespace = 'pm_pipeline'::regnamespace and p.prokind = 'f' loop
    execute format('alter function %s security definer', v_function);
  end loop;
end
$$;

grant usage on schema pm_pipeline to pm_pipeline_worker;
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
-- ... and the views, which read the queue and worker tables with their owner's rights (the role
-- sees the queue's numbers, not its rows)
alter view pm_pipeline.v_queue_stats set (security_invoker = false);
alter view pm_pipeline.v_workers set (security_invoker = false);
alter view pm_pipeline.v_companies_export set (security_invoker = false);
alter view pm_pipeline.v_contacts_export set (security_invoker = false);
grant select on pm_pipeline.v_queue_stats, pm_pipeline.v_workers, pm_pipeline.v_companies_export,
  pm_pipeline.v_contacts_export to pm_pipeline_worker;
