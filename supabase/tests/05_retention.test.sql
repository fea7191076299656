-- pgTAP: retention (supabase/schemas/08_cron.sql). purge_old_rows() deletes history
-- older than settings.history_retention that no live run needs, and keeps the rest.
--
-- Runs in one transaction that is rolled back; every check names its own runs and keys.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(12);

select is((select pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
            where d.adrelid = 'pm_pipeline.settings'::regclass and a.attname = 'history_retention'), '''30 days''::interval',
  'history is kept 30 days by default');
select is((select count(*)::int from cron.job where jobname = 'pm_pipeline_purge_old_rows' and active
             and command = 'select pm_pipeline.purge_old_rows()'), 1, 'a pg_cron job purges old rows');

-- what older tests left is purged first, so that the counts below are this test's rows
select pm_pipeline.purge_old_rows();
create temp table fx (name text primary key, run_id uuid) on commit drop;
insert into fx select 'ended', id from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 2);
insert into fx select 'live', id from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 2);
insert into fx select 'waiting', id from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 2);
update pm_pipeline.runs set status = 'cancelled' where id = (select run_id from fx where name = 'ended');
update pm_pipeline.runs set status = 'needs_user_decision', decision_reason = 'target_not_met' where id = (select run_id from fx where name = 'waiting');

-- for each run: an old finished task, a recent finished one, an old queued one; old and recent events and usage
insert into pm_pipeline.tasks (kind, run_id, key, state, fair_tag, max_attempts, created_at, updated_at, finished_at)
select 'lead_list', fx.run_id, 'retention:' || fx.name || ':' || v.what, v.state::pm_pipeline.task_state, 0, 3,
       now() - v.age, now() - v.age, case when v.state <> 'queued' then now() - v.age end
  from fx, (values ('old-done', 'succeeded', interval '31 days'), ('old-failed', 'failed', interval '40 days'),
                   ('new-done', 'succeeded', interval '29 days'), ('old-queued', 'queued', interval '31 days')) v(what, state, age);
-- an old delivered alert (no run) and its delivery record, and a recent one
insert into pm_pipeline.tasks (kind, key, state, fair_tag, max_attempts, updated_at, finished_at)
values ('alert', 'retention:alert-old', 'succeeded', 0, 3, now() - interval '31 days', now() - interval '31 days'),
       ('alert', 'retention:alert-new', 'succeeded', 0, 3, now(), now());
insert into pm_pipeline.events (run_id, kind, message, created_at)
select fx.run_id, 'retention', fx.name || ':' || v.what, now() - v.age
  from fx, (values ('old', interval '31 days'), ('new', interval '1 day')) v(what, age);
insert into pm_pipeline.provider_usage (run_id, kind, provider, created_at)
select fx.run_id, 'lead_list', 'retention:' || fx.name || ':' || v.what, now() - v.age
  from fx, (values ('old', interval '31 days'), ('new', interval '1 day')) v(what, age);

select is(pm_pipeline.purge_old_rows() - 'http_responses', '{"tasks": 3, "events": 1, "provider_usage": 1}'::jsonb,
  'the purge deletes the old finished tasks of the ended run, the old alert, and the ended run''s old event and usage row');

select bag_eq($$ select key from pm_pipeline.tasks where key like 'retention:%' $$,
  $$ values ('retention:ended:new-done'), ('retention:ended:old-queued'), ('retention:alert-new'),
            ('retention:live:old-done'), ('retention:live:old-failed'), ('retention:live:new-done'), ('retention:live:old-queued'),
            ('retention:waiting:old-done'), ('retention:waiting:old-failed'), ('retention:waiting:new-done'), ('retention:waiting:old-queued') $$,
  'recent and unfinished tasks stay, and every task of a run that is active or waiting for a decision');
select bag_eq($$ select message from pm_pipeline.events where kind = 'retention' $$,
  $$ values ('ended:new'), ('live:old'), ('live:new'), ('waiting:old'), ('waiting:new') $$, 'recent events stay, and those of live runs');
select bag_eq($$ select provider from pm_pipeline.provider_usage where provider like 'retention:%' $$,
  $$ values ('retention:ended:new'), ('retention:live:old'), ('retention:live:new'), ('retention:waiting:old'), ('retention:waiting:new') $$,
  'recent usage rows stay, and those of live runs (their budgets sum them)');
select is((select count(*)::int from pm_pipeline.runs where id in (select run_id from fx)), 3, 'runs are results: kept');

select is(pm_pipeline.purge_old_rows() - 'http_responses', '{"tasks": 0, "events": 0, "provider_usage": 0}'::jsonb, 'a second purge finds nothing');

update pm_pipeline.settings set history_retention = interval '1 day';
select is((pm_pipeline.purge_old_rows()->>'tasks')::int >= 1, true, 'a shorter setting purges more');
select ok(not exists (select from pm_pipeline.tasks where key = 'retention:ended:new-done'), 'the setting decides the age');
select throws_ok($$ update pm_pipeline.settings set history_retention = interval '1 hour' $$, '23514', null,
  'history is kept at least a day');
select is((pm_pipeline.purge_old_rows()->>'http_responses')::int >= 0, true, 'the purge reports pg_net responses (0 without pg_net)');

select * from finish();
rollback;
