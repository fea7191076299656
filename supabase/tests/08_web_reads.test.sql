-- pgTAP: what the web app reads and who may write (supabase/schemas/06_run_api.sql, 08_cron.sql):
-- API keys with roles, the author of an action on its events, the run list's filters, a run's
-- companies with their evidence and its tasks, the suppression preview, and the maintenance jobs'
-- health (a cron run whose function did not report is a problem, not green).
--
-- Runs in one transaction that is rolled back. now() is constant inside it.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(58);

create temp table fx (name text primary key, id uuid) on commit drop;
create function pg_temp.id(p_name text) returns uuid language sql stable as $$ select id from pg_temp.fx where name = p_name $$;
-- a run of the web tests, named, with criteria that name a state of its own (pgTAP runs of other files do not match)
create function pg_temp.run(p_name text, p_criteria jsonb) returns uuid language sql as $$
  insert into pg_temp.fx select p_name, (pm_pipeline.start_run(p_criteria, 2)).id returning id
$$;
create function pg_temp.hash(p_text text) returns text language sql immutable as $$ select encode(sha256(convert_to(p_text, 'UTF8')), 'hex') $$;

-- ---------------------------------------------------------------------------------------------
-- API keys
-- ---------------------------------------------------------------------------------------------
select is(pm_pipeline.create_api_key('pgtap-alice', 'operator', pg_temp.hash('key-a')) - 'created_at',
  '{"name": "pgtap-alice", "role": "operator", "last_used_at": null, "revoked_at": null}'::jsonb,
  'create_api_key stores a key and answers its name, role and dates');
select ok(not (pm_pipeline.create_api_key('pgtap-vera', 'viewer', pg_temp.hash('key-v')) ? 'key_sha256'), 'the answer never has the hash');
select throws_ok($$ select pm_pipeline.create_api_key('pgtap-alice', 'viewer', pg_temp.hash('key-a2')) $$, 'PM409', null,
  'a second live key of the same name is refused (PM409)');
select throws_ok($$ select pm_pipeline.create_api_key('pgtap-x', 'admin', pg_temp.hash('key-x')) $$, '22023', null, 'the admin role cannot be given (22023)');
select throws_ok($$ select pm_pipeline.create_api_key('has space', 'viewer', pg_temp.hash('key-s')) $$, '22023', null, 'a name with a space is refused (22023)');
select throws_ok($$ select pm_pipeline.create_api_key('pgtap-y', 'viewer', 'not-a-hash') $$, '23514', null, 'only a SHA-256 in hex is stored');

select results_eq($$ select name, role from pm_pipeline.authenticate_api_key(pg_temp.hash('key-a')) $$,
  $$ values ('pgtap-alice'::text, 'operator'::text) $$, 'authenticate_api_key finds the key by its hash');
select isnt((select last_used_at from pm_pipeline.api_keys where name = 'pgtap-alice'), null, 'and stamps last_used_at');
create temp table alice_row on commit drop as select ctid as at from pm_pipeline.api_keys where name = 'pgtap-alice';
select results_eq($$ select name from pm_pipeline.authenticate_api_key(pg_temp.hash('key-a')) $$, $$ values ('pgtap-alice'::text) $$,
  'the same key again within the minute');
select is((select ctid from pm_pipeline.api_keys where name = 'pgtap-alice'), (select at from alice_row),
  'writes no new row version (the stamp is at most once a minute)');
select is_empty($$ select * from pm_pipeline.authenticate_api_key(pg_temp.hash('key-unknown')) $$, 'an unknown key is no one');
select ok(pm_pipeline.revoke_api_key('pgtap-alice'), 'revoke_api_key revokes a live key');
select is_empty($$ select * from pm_pipeline.authenticate_api_key(pg_temp.hash('key-a')) $$, 'a revoked key is no one');
select ok(not pm_pipeline.revoke_api_key('pgtap-alice'), 'revoking it again finds no live key (false)');
select lives_ok($$ select pm_pipeline.create_api_key('pgtap-alice', 'viewer', pg_temp.hash('key-a3')) $$, 'the name of a revoked key may be given to a new one');
select is((select count(*)::int from jsonb_array_elements(pm_pipeline.list_api_keys()) k where k->>'name' = 'pgtap-alice'), 2,
  'list_api_keys lists live and revoked keys');
select ok((select bool_and(not k ? 'key_sha256') from jsonb_array_elements(pm_pipeline.list_api_keys()) k), 'list_api_keys never shows a hash');

-- ---------------------------------------------------------------------------------------------
-- The author of an action: events.actor, and the decision's message
-- ---------------------------------------------------------------------------------------------
select isnt(pg_temp.run('A', '{"state": "WY", "city": "pgtap-Cody"}'), null, 'run A');
select ok(pm_pipeline.set_run_status(pg_temp.id('A'), 'needs_user_decision', 'pgtap: waits'), 'run A waits for a decision');
select lives_ok(format($$ select pm_pipeline.decide_run(%L, '{"decision": "set_budget", "budget_usd": 3}', 'pgtap-alice') $$, pg_temp.id('A')),
  'alice sets its budget');
select results_eq(format($$ select message, actor from pm_pipeline.events where run_id = %L and kind = 'decision' $$, pg_temp.id('A')),
  $$ values ('decision: set_budget by pgtap-alice'::text, 'pgtap-alice'::text) $$, 'the decision event says who decided, in words and as actor');
select lives_ok(format($$ select pm_pipeline.cancel_run(%L, 'pgtap-otto') $$, pg_temp.id('A')), 'otto cancels it');
select results_eq(format($$ select message, actor from pm_pipeline.events where run_id = %L and kind = 'status_changed' order by id desc limit 1 $$, pg_temp.id('A')),
  $$ values ('cancelled by pgtap-otto'::text, 'pgtap-otto'::text) $$, 'the status change it caused is his too');
select lives_ok($$ select pm_pipeline.act_as(null) $$, 'act_as(null): what follows is the pipeline''s');
select lives_ok(format($$ select pm_pipeline.log_event(%L, 'pgtap', 'pipeline note') $$, pg_temp.id('A')), 'an event of the pipeline');
select is((select actor from pm_pipeline.events where run_id = pg_temp.id('A') and kind = 'pgtap'), null, 'has no actor');

-- ---------------------------------------------------------------------------------------------
-- The run list's filters
-- ---------------------------------------------------------------------------------------------
select isnt(pg_temp.run('B', '{"pms": "Buildium", "state": "WY", "city": "pgtap-Laramie"}'), null, 'run B: Buildium in WY');
select isnt(pg_temp.run('M', '{"pms": ["AppFolio", "Buildium"], "states": ["WY", "MT"], "city": "pgtap-Laramie"}'), null, 'run M: AppFolio or Buildium in WY or MT');
select isnt(pg_temp.run('N', '{"pms": "AppFolio", "state": "MT", "city": "pgtap-Laramie"}'), null, 'run N: AppFolio in MT');
create function pg_temp.found(p_pms text, p_state text, p_q text) returns text[] language sql stable as $$
  select coalesce(array_agg(f.name order by f.name), '{}')
    from jsonb_array_elements(pm_pipeline.list_runs(null, 200, 0, p_pms, p_state, p_q)->'runs') e
    join pg_temp.fx f on f.id = (e->>'id')::uuid
$$;
select is(pg_temp.found('Buildium', null, 'pgtap-laramie'), array['B', 'M'], 'pms: a vendor asked for alone or in a list');
select is(pg_temp.found('buildium', null, 'pgtap-laramie'), array['B', 'M'], 'pms: in any case');
select is(pg_temp.found('any', null, 'pgtap-'), array['A'], 'pms any: the runs that take any PMS');
select is(pg_temp.found(null, 'MT', 'pgtap-laramie'), array['M', 'N'], 'state: as state or among states');
select is(pg_temp.found(null, 'mt', 'pgtap-laramie'), array['M', 'N'], 'state: a code in any case');
select is(pg_temp.found('AppFolio', 'WY', 'pgtap-'), array['M'], 'filters combine');
select is(pg_temp.found(null, null, pg_temp.id('N')::text), array['N'], 'q: a run''s id');
select is((pm_pipeline.list_runs(null, 1, 0, 'Buildium', null, 'pgtap-laramie')->>'total')::int, 2, 'total counts what matches, beyond the page');

-- ---------------------------------------------------------------------------------------------
-- A run's companies with evidence, and its tasks
-- ---------------------------------------------------------------------------------------------
insert into pm_pipeline.companies (id, run_id, name, domain, website, state)
values ('00000000-0000-4000-8000-00000000c001', pg_temp.id('B'), 'Zeta Homes', 'zeta.example', 'https://zeta.example', 'WY'),
       ('00000000-0000-4000-8000-00000000c002', pg_temp.id('B'), 'Alpha Rentals', 'alpha.example', null, 'WY');
insert into pm_pipeline.company_research (company_id, run_id, pms, pms_confidence, pms_evidence_urls, units, units_estimated, units_source_url, icp_score)
values ('00000000-0000-4000-8000-00000000c001', pg_temp.id('B'), 'Buildium', 'high', '{https://zeta.managebuilding.com}', 420, false, 'https://zeta.example/about', 80);
insert into pm_pipeline.contacts (company_id, run_id, full_name, title, email, email_class)
values ('00000000-0000-4000-8000-00000000c001', pg_temp.id('B'), 'Pat Owner', 'Owner', 'pat@zeta.example', 'published');
update pm_pipeline.companies set status = 'accepted' where id = '00000000-0000-4000-8000-00000000c001';

select is(jsonb_path_query_array(pm_pipeline.run_companies(pg_temp.id('B')), '$[*].name'), '["Zeta Homes", "Alpha Rentals"]'::jsonb,
  'run_companies: accepted ones first, then in research');
select is(pm_pipeline.run_companies(pg_temp.id('B'))->0->'research'->'pms_evidence_urls', '["https://zeta.managebuilding.com"]'::jsonb,
  'with the pages that show the PMS');
select is(pm_pipeline.run_companies(pg_temp.id('B'))->0->'research'->>'units_source_url', 'https://zeta.example/about', 'and the page that gives the unit count');
select is(pm_pipeline.run_companies(pg_temp.id('B'))->0->'contacts'->0->>'email_class', 'published', 'and its contacts with their e-mail class');
select is(pm_pipeline.run_companies(pg_temp.id('B'))->1->'research', 'null'::jsonb, 'a company not researched yet has no research');
select is(jsonb_array_length(pm_pipeline.run_companies(pg_temp.id('B'), 'candidate')), 1, 'run_companies(status): only that status');

select ok(jsonb_array_length(pm_pipeline.run_tasks(pg_temp.id('B'))) >= 1, 'run_tasks: the run''s tasks (its discovery)');
select is(jsonb_array_length(pm_pipeline.run_tasks(pg_temp.id('B'), 'failed')), 0, 'run_tasks(state): only that state');

-- ---------------------------------------------------------------------------------------------
-- The suppression preview writes nothing
-- ---------------------------------------------------------------------------------------------
select lives_ok($$ select pm_pipeline.add_suppression('{pgtap-known.example}') $$, 'one domain is suppressed');
select is(pm_pipeline.suppression_preview('{https://www.PGTAP-known.example/x, pgtap-new.example}') - 'preview',
  '{"added": 1, "already": 1, "domains": ["pgtap-known.example", "pgtap-new.example"]}'::jsonb,
  'suppression_preview: what would be added and what is there already');
select is((select count(*)::int from pm_pipeline.suppression where domain = 'pgtap-new.example'), 0, 'and adds nothing');

-- ---------------------------------------------------------------------------------------------
-- Maintenance jobs: pg_cron's runs against the reports of their functions
-- ---------------------------------------------------------------------------------------------
select lives_ok($$ select count(*) from pm_pipeline.release_dead_worker_leases() $$, 'release_dead_worker_leases runs');
select ok((select reported_at = now() and report ? 'released' from pm_pipeline.maintenance_reports where job = 'release_dead_leases'),
  'and reports what it did');
-- a cron run after that report whose function did not report (its command no longer does the work)
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
select j.jobid, 900000001, 0, 'postgres', 'postgres', j.command, 'succeeded', '1 row', now() + interval '1 minute', now() + interval '1 minute'
  from cron.job j where j.jobname = 'pm_pipeline_release_dead_leases';
select matches((select problem from pm_pipeline.v_maintenance_jobs where job = 'release_dead_leases'), 'ran at .* but its function did not report',
  'v_maintenance_jobs: a run without a report is a problem');
-- a failed run
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
select j.jobid, 900000002, 0, 'postgres', 'postgres', j.command, 'failed', 'ERROR: pgtap boom', now() + interval '2 minutes', now() + interval '2 minutes'
  from cron.job j where j.jobname = 'pm_pipeline_dispatch_waiting_work';
select is((select problem from pm_pipeline.v_maintenance_jobs where job = 'dispatch_waiting_work'), 'its last run failed: ERROR: pgtap boom',
  'v_maintenance_jobs: a failed run is a problem, with its error');
select is(pm_pipeline.worker_health()->>'health', 'degraded', 'worker_health: degraded while a maintenance job is not doing its work');
select ok(pm_pipeline.worker_health()->'problems' @> '["dispatch_waiting_work: its last run failed: ERROR: pgtap boom"]', 'and says which and why');

-- ---------------------------------------------------------------------------------------------
-- Studio: every view an operator opens says what it and each of its columns is
-- ---------------------------------------------------------------------------------------------
select is((select array_agg(c.relname order by c.relname) from pg_class c
            where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind = 'v' and obj_description(c.oid, 'pg_class') is null),
  null, 'every view of pm_pipeline has a comment');
select is((select array_agg(c.relname || '.' || a.attname order by c.relname, a.attnum) from pg_class c
             join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where c.relnamespace = 'pm_pipeline'::regnamespace and c.relkind = 'v' and col_description(c.oid, a.attnum) is null),
  null, 'every column of every view has a comment');

-- ---------------------------------------------------------------------------------------------
-- The worker list: stopped workers only of the last 15 minutes; dead ones with whether they hold work
-- ---------------------------------------------------------------------------------------------
insert into pm_pipeline.worker_heartbeats (worker_id, worker_type, status, last_heartbeat_at, stopped_at) values
  ('pgtap-web-stopped-now', 'pgtap', 'stopped', now(), now()),
  ('pgtap-web-stopped-old', 'pgtap', 'stopped', now() - interval '20 minutes', now() - interval '20 minutes'),
  ('pgtap-web-dead', 'pgtap', 'dead', now() - interval '5 minutes', null);
select is((select array_agg(w->>'worker_id' order by w->>'worker_id') from jsonb_array_elements(pm_pipeline.worker_health()->'workers') w
            where w->>'worker_id' like 'pgtap-web-%'), array['pgtap-web-dead', 'pgtap-web-stopped-now'],
  'worker_health lists the dead and the recently stopped workers, not those stopped long ago');
select ok((pm_pipeline.worker_health()->>'dead')::int >= 1 and pm_pipeline.worker_health() ? 'dead_holding_leases',
  'and counts the dead, and those of them that hold a lease');

select * from finish();
rollback;
