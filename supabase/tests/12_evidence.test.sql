-- pgTAP: evidence for every claim in SQL. complete_company_research and complete_contact_research
-- store the page behind each claim, when it was read and whether it was, fenced by the lease (a
-- stale token writes nothing); a status that is not one of the evidence states is refused and
-- writes nothing; a look-alike's review keeps its reason code; the export views carry the evidence
-- columns after the old ones.
--
-- Runs in one transaction that is rolled back.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(16);

create temp table fx (name text primary key, id text, token uuid) on commit drop;
create function pg_temp.id(p_name text) returns text language sql as $$ select id from fx where name = p_name $$;
create function pg_temp.tok(p_name text) returns uuid language sql as $$ select token from fx where name = p_name $$;
insert into fx (name, id) select 'run', id::text from pm_pipeline.start_run('{"pms": "Buildium", "state": "TX"}', 2, 1, 3);
insert into pm_pipeline.companies (run_id, name, domain) values
  (pg_temp.id('run')::uuid, 'Lone Star Rentals', 'lonestar-pgtap.example'),
  (pg_temp.id('run')::uuid, 'Frontier Homes', 'frontier-pgtap.example');
insert into fx (name, id) select domain, id::text from pm_pipeline.companies where domain like '%-pgtap.example';

-- one research task per company, claimed by a worker
create function pg_temp.claim(p_kind text, p_company text) returns void language plpgsql as $$
declare
  v_task pm_pipeline.tasks;
begin
  perform pm_pipeline.enqueue_tasks(p_kind, pg_temp.id('run')::uuid,
    jsonb_build_array(jsonb_build_object('key', format('pgtap:%s:%s', p_kind, p_company), 'payload', jsonb_build_object('company_id', pg_temp.id(p_company)))));
  select * into v_task from pm_pipeline.claim_tasks('pgtap-evidence', array[p_kind], 1);
  insert into pg_temp.fx (name, id, token) values (p_kind || ':' || p_company, v_task.id::text, v_task.lease_token);
end
$$;
select pg_temp.claim('company_research', 'lonestar-pgtap.example');
select pg_temp.claim('company_research', 'frontier-pgtap.example');

create function pg_temp.research(p_units_evidence text default 'unverified') returns jsonb language sql as $$
  select jsonb_build_object('pms', 'Buildium', 'pms_confidence', 'high',
    'pms_evidence_urls', jsonb_build_array('https://lonestar.managebuilding.com/Resident/portal/login'),
    'units', 300, 'units_estimated', true, 'units_quote', 'over 300 homes', 'units_source_url', 'https://lonestar-pgtap.example/about-us',
    'disqualifiers', '[]'::jsonb, 'source_urls', '[]'::jsonb,
    'pms_evidence_url', 'https://lonestar-pgtap.example/residents', 'pms_read_at', '2026-12-03T05:00:02.000Z',
    'units_read_at', null, 'units_evidence', p_units_evidence, 'domain_evidence', 'matches', 'site_name', 'Lone Star Rentals')
$$;
create function pg_temp.complete_research(p_company text, p_token uuid, p_research jsonb, p_decision jsonb default '{"status": "accepted"}')
returns text language sql as $$
  select pm_pipeline.complete_company_research(pg_temp.id('company_research:' || p_company)::bigint, p_token, p_research, p_decision)::text
$$;

-- fenced: a stale token stores no research
select throws_ok($$ select pg_temp.complete_research('lonestar-pgtap.example', gen_random_uuid(), pg_temp.research()) $$,
  'PM001', null, 'complete_company_research with a stale token raises PM001');
select is_empty($$ select from pm_pipeline.company_research where company_id = pg_temp.id('lonestar-pgtap.example')::uuid $$,
  'and stores no research');

-- a status outside the evidence states is refused, and nothing is written
select throws_ok($$ select pg_temp.complete_research('lonestar-pgtap.example', pg_temp.tok('company_research:lonestar-pgtap.example'), pg_temp.research('probably')) $$,
  '23514', null, 'units_evidence ''probably'' is refused (check_violation)');
select results_eq($$ select state::text from pm_pipeline.tasks where id = pg_temp.id('company_research:lonestar-pgtap.example')::bigint $$,
  $$ values ('running') $$, 'the task still runs, its research unwritten');
select throws_ok($$ select pg_temp.complete_research('lonestar-pgtap.example', pg_temp.tok('company_research:lonestar-pgtap.example'),
  pg_temp.research() || '{"domain_evidence": "sort of"}') $$, '23514', null, 'domain_evidence ''sort of'' is refused (check_violation)');

-- under the lease: every evidence field is stored
select is(pg_temp.complete_research('lonestar-pgtap.example', pg_temp.tok('company_research:lonestar-pgtap.example'), pg_temp.research()),
  'accepted', 'with its lease the research is stored and the company accepted');
select results_eq($$ select pms_evidence_url, pms_read_at, units_source_url, units_read_at, units_evidence, domain_evidence, site_name
                      from pm_pipeline.company_research where company_id = pg_temp.id('lonestar-pgtap.example')::uuid $$,
  $$ values ('https://lonestar-pgtap.example/residents', '2026-12-03 05:00:02+00'::timestamptz, 'https://lonestar-pgtap.example/about-us',
             null::timestamptz, 'unverified', 'matches', 'Lone Star Rentals') $$,
  'the PMS page and its read time, the unverified unit page (URL kept, no read time), the domain verdict');

-- a look-alike: review with its own code
select is(pg_temp.complete_research('frontier-pgtap.example', pg_temp.tok('company_research:frontier-pgtap.example'),
  pg_temp.research('verified') || '{"domain_evidence": "mismatch", "site_name": "Riverbend Property Management"}',
  '{"status": "review", "code": "domain_mismatch", "reason": "the domain''s homepage does not carry the company''s name"}'), 'review',
  'a look-alike is decided review');
select results_eq($$ select status::text, status_reason::text from pm_pipeline.companies where id = pg_temp.id('frontier-pgtap.example')::uuid $$,
  $$ values ('review', 'domain_mismatch') $$, 'with the reason code domain_mismatch');

-- contacts: the title's and the e-mail's page, fenced
select pg_temp.claim('contact_research', 'lonestar-pgtap.example');
create function pg_temp.contacts(p_title_evidence text default 'verified') returns jsonb language sql as $$
  select jsonb_build_object('contacts', jsonb_build_array(
    jsonb_build_object('full_name', 'Maria Delgado', 'title', 'Broker/Owner', 'title_tier', 1, 'email', 'maria@lonestar-pgtap.example',
      'email_class', 'published', 'title_source_url', 'https://lonestar-pgtap.example/team', 'title_read_at', '2026-12-03T05:01:00Z',
      'title_evidence', p_title_evidence, 'email_source_url', 'https://lonestar-pgtap.example/team', 'email_read_at', '2026-12-03T05:01:00Z',
      'email_evidence', 'verified'),
    jsonb_build_object('full_name', 'Kevin Tran', 'title', 'COO', 'title_tier', 1, 'email', 'kevin@lonestar-pgtap.example',
      'email_class', 'pattern_inferred', 'title_source_url', 'https://www.linkedin.com/in/kevin-tran', 'title_read_at', null,
      'title_evidence', 'unverified', 'email_source_url', null, 'email_read_at', null, 'email_evidence', 'none')))
$$;
select throws_ok($$ select pm_pipeline.complete_contact_research(pg_temp.id('contact_research:lonestar-pgtap.example')::bigint, gen_random_uuid(), pg_temp.contacts()) $$,
  'PM001', null, 'complete_contact_research with a stale token raises PM001');
select throws_ok($$ select pm_pipeline.complete_contact_research(pg_temp.id('contact_research:lonestar-pgtap.example')::bigint,
  pg_temp.tok('contact_research:lonestar-pgtap.example'), pg_temp.contacts('yes')) $$, '23514', null, 'title_evidence ''yes'' is refused (check_violation)');
select is_empty($$ select from pm_pipeline.contacts where company_id = pg_temp.id('lonestar-pgtap.example')::uuid $$,
  'neither wrote a contact');
select is(pm_pipeline.complete_contact_research(pg_temp.id('contact_research:lonestar-pgtap.example')::bigint,
  pg_temp.tok('contact_research:lonestar-pgtap.example'), pg_temp.contacts()), 2, 'with its lease both contacts are stored');

-- the exports: the evidence columns after the old ones
select results_eq($$ select full_name, title_evidence_url, title_read_at, title_evidence, email_evidence_url, email_read_at, email_evidence
                      from pm_pipeline.v_contacts_export where run_id = pg_temp.id('run')::uuid order by full_name $$,
  $$ values ('Kevin Tran', 'https://www.linkedin.com/in/kevin-tran', null::timestamptz, 'unverified', null::text, null::timestamptz, 'none'),
            ('Maria Delgado', 'https://lonestar-pgtap.example/team', '2026-12-03 05:01:00+00'::timestamptz, 'verified',
             'https://lonestar-pgtap.example/team', '2026-12-03 05:01:00+00'::timestamptz, 'verified') $$,
  'v_contacts_export: each contact''s title and e-mail page, read time and status');
select results_eq($$ select domain, pms_evidence_url, units_evidence_url, units_evidence, domain_evidence
                      from pm_pipeline.v_companies_export where run_id = pg_temp.id('run')::uuid $$,
  $$ values ('lonestar-pgtap.example', 'https://lonestar-pgtap.example/residents', 'https://lonestar-pgtap.example/about-us', 'unverified', 'matches') $$,
  'v_companies_export: only the accepted company, with its evidence (the look-alike is not exported)');
select is((select array_agg(attname::text order by attnum) from pg_attribute
            where attrelid = 'pm_pipeline.v_companies_export'::regclass and attnum > 0 and not attisdropped)[20:],
  array['discovered_at', 'researched_at', 'pms_evidence_url', 'pms_read_at', 'units_evidence_url', 'units_read_at', 'units_evidence',
        'domain_evidence', 'site_name'], 'the companies export''s evidence columns come after the old and added ones');

select * from finish();
rollback;
