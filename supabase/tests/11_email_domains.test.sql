-- pgTAP: the e-mail domain checks. record_email_domains is fenced by the lease (a stale token
-- writes nothing), refuses bad input with a clear error and no write, and keeps the newer check of
-- a domain; fresh_email_domains serves only definite verdicts younger than the age asked (the
-- workers' shared cache); complete_contact_research stores the checks and each contact's own,
-- and the contacts export carries them after its older columns.
--
-- Runs in one transaction that is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(17);

create temp table fx (name text primary key, id text, token uuid) on commit drop;
create function pg_temp.id(p_name text) returns text language sql as $$ select id from fx where name = p_name $$;
create function pg_temp.tok(p_name text) returns uuid language sql as $$ select token from fx where name = p_name $$;
create function pg_temp.check_of(p_domain text, p_verdict text, p_reason text, p_at timestamptz) returns jsonb language sql as $$
  select jsonb_build_object('domain', p_domain, 'verdict', p_verdict, 'reason', p_reason, 'mx_hosts', jsonb_build_array('mail.' || p_domain),
                            'error', null, 'checked_at', p_at) $$;

insert into fx (name, id) select 'run', id::text from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 1);
with c as (insert into pm_pipeline.companies (run_id, name, domain, status)
           values (pg_temp.id('run')::uuid, 'Mail Test PM', 'mailtest-pgtap.example', 'accepted') returning id)
insert into fx (name, id) select 'company', id::text from c;
insert into fx (name, id) select 'task', id::text from pm_pipeline.enqueue_tasks('contact_research', pg_temp.id('run')::uuid,
  jsonb_build_array(jsonb_build_object('key', 'pgtap-email', 'payload', jsonb_build_object('company_id', pg_temp.id('company')))));
update fx set token = c.lease_token from pm_pipeline.claim_tasks('pgtap-email', array['contact_research'], 100) c
 where fx.name = 'task' and c.id::text = fx.id;
select isnt(pg_temp.tok('task'), null, 'the contact_research task is claimed');

-- fenced
select throws_ok(format($$ select pm_pipeline.record_email_domains(%s, gen_random_uuid(), %L) $$, pg_temp.id('task'),
  jsonb_build_array(pg_temp.check_of('zombie-pgtap.example', 'deliverable', 'mx', now()))), 'PM001', null, 'a stale token raises PM001');
select is_empty($$ select from pm_pipeline.email_domains where domain = 'zombie-pgtap.example' $$, 'and writes nothing');

-- bad input: a clear error, nothing written
select throws_ok(format($$ select pm_pipeline.record_email_domains(%s, %L, '{"domain": "x.example"}') $$, pg_temp.id('task'), pg_temp.tok('task')),
  '22023', 'email domain checks must be a JSON array', 'not an array: 22023');
select throws_ok(format($$ select pm_pipeline.record_email_domains(%s, %L, %L) $$, pg_temp.id('task'), pg_temp.tok('task'),
  jsonb_build_array(pg_temp.check_of('good-pgtap.example', 'deliverable', 'mx', now()), pg_temp.check_of('Upper-PGTAP.example', 'deliverable', 'mx', now()))),
  '22023', null, 'an upper-case domain: 22023');
select throws_ok(format($$ select pm_pipeline.record_email_domains(%s, %L, %L) $$, pg_temp.id('task'), pg_temp.tok('task'),
  jsonb_build_array(pg_temp.check_of('good-pgtap.example', 'maybe', 'mx', now()))), '23514', null, 'a verdict that is none of the three: refused by its check');
select is_empty($$ select from pm_pipeline.email_domains where domain like '%pgtap.example' $$, 'a refused batch writes none of its checks');

-- the newer check of a domain wins; an older one changes nothing
select is(pm_pipeline.record_email_domains(pg_temp.id('task')::bigint, pg_temp.tok('task'), jsonb_build_array(
  pg_temp.check_of('a-pgtap.example', 'deliverable', 'mx', now() - interval '2 days'),
  pg_temp.check_of('b-pgtap.example', 'unknown', 'timeout', now()),
  pg_temp.check_of('old-pgtap.example', 'deliverable', 'mx', now() - interval '30 days'))), 3, 'three checks stored');
select is(pm_pipeline.record_email_domains(pg_temp.id('task')::bigint, pg_temp.tok('task'), jsonb_build_array(
  pg_temp.check_of('a-pgtap.example', 'undeliverable', 'null_mx', now() - interval '3 days'),
  pg_temp.check_of('a-pgtap.example', 'undeliverable', 'nxdomain', now() - interval '1 day'))), 1, 'of two checks of a domain in one batch, the newer is taken');
select is(pm_pipeline.record_email_domains(pg_temp.id('task')::bigint, pg_temp.tok('task'), jsonb_build_array(
  pg_temp.check_of('a-pgtap.example', 'deliverable', 'mx', now() - interval '5 days'))), 0, 'an older check than the stored one changes nothing');
select results_eq($$ select verdict, reason from pm_pipeline.email_domains where domain = 'a-pgtap.example' $$,
  $$ values ('undeliverable', 'nxdomain') $$, 'the stored check is the newest');

-- the shared cache: definite and young enough
select results_eq($$ select domain from pm_pipeline.fresh_email_domains(array['a-pgtap.example', 'b-pgtap.example', 'old-pgtap.example', 'none-pgtap.example'], 7 * 86400) $$,
  $$ values ('a-pgtap.example') $$, 'fresh: a definite verdict within the age; not an unknown one, not an old one, not one never checked');
select is_empty($$ select from pm_pipeline.fresh_email_domains(array['a-pgtap.example'], 3600) $$, 'a younger age leaves the day-old check out');

-- complete_contact_research: the checks and each contact's own
select is(pm_pipeline.complete_contact_research(pg_temp.id('task')::bigint, pg_temp.tok('task'), jsonb_build_object(
  'contacts', jsonb_build_array(
    jsonb_build_object('full_name', 'Maria Garcia', 'email', 'maria@mailtest-pgtap.example', 'email_class', 'published',
      'email_domain_check', 'deliverable', 'email_checked_at', now(), 'email_free_mail', false, 'email_disposable', false),
    jsonb_build_object('full_name', 'James Smith', 'email', 'james@gone-pgtap.example', 'email_class', 'unknown',
      'email_domain_check', 'undeliverable', 'email_checked_at', now(), 'email_free_mail', false, 'email_disposable', false)),
  'email_domains', jsonb_build_array(pg_temp.check_of('mailtest-pgtap.example', 'deliverable', 'mx', now()),
                                     pg_temp.check_of('gone-pgtap.example', 'undeliverable', 'nxdomain', now())),
  'exhausted', false)), 2, 'complete_contact_research adds both contacts');
select results_eq($$ select domain, verdict from pm_pipeline.email_domains where domain in ('mailtest-pgtap.example', 'gone-pgtap.example') order by domain $$,
  $$ values ('gone-pgtap.example', 'undeliverable'), ('mailtest-pgtap.example', 'deliverable') $$, 'and stores the checks it was given');
select results_eq(format($$ select full_name, email_domain_check, email_checked_at = now(), email_free_mail, email_disposable
                              from pm_pipeline.v_contacts_export where run_id = %L order by full_name $$, pg_temp.id('run')),
  $$ values ('James Smith', 'undeliverable', true, false, false), ('Maria Garcia', 'deliverable', true, false, false) $$,
  'the contacts export carries each contact''s check, its date and the lists'' flags');
select is((select array_agg(column_name::text order by ordinal_position) from information_schema.columns
            where table_schema = 'pm_pipeline' and table_name = 'v_contacts_export' and ordinal_position between 23 and 26),
  array['email_domain_check', 'email_checked_at', 'email_free_mail', 'email_disposable'], 'after the columns it had (the evidence follows)');

select * from finish();
rollback;
