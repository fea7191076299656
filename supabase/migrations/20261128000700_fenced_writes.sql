-- Writes that workers make into the pipeline tables, each fenced by the writer's lease: a worker
-- whose lease was lost (a zombie) gets error PM001 and its whole transaction rolls back. Inserts
-- are idempotent (ON CONFLICT DO NOTHING): a retried task cannot create duplicates.

-- Returns and locks the task when the lease is current, else raises PM001 (lease lost).
create function pm_pipeline.require_lease(p_task_id bigint, p_lease_token uuid)
returns pm_pipeline.tasks
language plpgsql
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.lock_lease(p_task_id, p_lease_token);
begin
  if v_task.id is null then
    raise exception 'lease lost: task % is no longer held with this token', p_task_id
      using errcode = 'PM001', hint = 'another worker may own the task now; drop this result';
  end if;
  return v_task;
end
$$;
comment on function pm_pipeline.require_lease(bigint, uuid) is 'Locks the task if the lease token is current, else raises PM001 so the caller''s transaction writes nothing.';

-- Adds the companies a task discovered to the task's run. Skips blocked domains (suppression) and
-- domains the run already has; the domain is normalised and is the company's own site.
-- p_companies: [{name, domain | website, city, state, pms, source_urls}]; at most p_max new rows
-- (in the order given). Returns the new rows.
create function pm_pipeline.add_companies(p_task_id bigint, p_lease_token uuid, p_companies jsonb, p_max integer default null)
returns setof pm_pipeline.companies
language plpgsql
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if v_task.run_id is null then
    raise exception 'task % belongs to no run', p_task_id using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_companies) is distinct from 'array' then
    raise exception 'companies must be a JSON array' using errcode = 'invalid_parameter_value';
  end if;
  return query
  insert into pm_pipeline.companies as c (run_id, name, domain, website, city, state, pms, source_urls, discovered_by_task)
  select v_task.run_id, btrim(n.name), n.new_domain, coalesce(n.website, 'https://' || n.new_domain), n.city, n.state, n.pms,
         coalesce(n.source_urls, '{}'), v_task.id
    from (select distinct on (d.domain) d.domain as new_domain, x.*
            from jsonb_populate_recordset(null::pm_pipeline.companies, p_companies) with ordinality as x
           cross join lateral (select pm_pipeline.normalize_domain(coalesce(x.domain, x.website)) as domain) d
           where d.domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'
             and not exists (select from pm_pipeline.suppression s where s.domain = d.domain)
             and not exists (select from pm_pipeline.companies k where k.run_id = v_task.run_id and k.domain = d.domain)
           order by d.domain, x.ordinality) n
   order by n.ordinality
   limit p_max
  on conflict (run_id, domain) do nothing
  returning c.*;
end
$$;
comment on function pm_pipeline.add_companies(bigint, uuid, jsonb, integer) is 'Fenced, idempotent insert of discovered companies into the task''s run; blocked and known domains are skipped.';

-- Adds contacts to a company of the task's run. Duplicates by lower(email) or lower(linkedin_url)
-- within the company are skipped; at most p_max new rows. p_contacts: [{full_name, title, email, ...}].
create function pm_pipeline.add_contacts(p_task_id bigint, p_lease_token uuid, p_company_id uuid, p_contacts jsonb, p_max integer default null)
returns setof pm_pipeline.contacts
language plpgsql
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if not exists (select from pm_pipeline.companies c where c.id = p_company_id and c.run_id = v_task.run_id) then
    raise exception 'company % is not part of the run of task %', p_company_id, p_task_id using errcode = 'invalid_parameter_value';
  end if;
  if jsonb_typeof(p_contacts) is distinct from 'array' then
    raise exception 'contacts must be a JSON array' using errcode = 'invalid_parameter_value';
  end if;
  return query
  insert into pm_pipeline.contacts as c (company_id, run_id, full_name, title, title_tier, email, email_class, linkedin_url,
         department, seniority, quality_score, icp_score, personalization_notes, personal_anecdotes, professional_anecdotes,
         additional_research_notes, agent_summary, source_urls, found_by_task)
  select p_company_id, v_task.run_id, btrim(x.full_name), x.title, x.title_tier, nullif(btrim(x.email), ''),
         coalesce(x.email_class, 'unknown'), nullif(btrim(x.linkedin_url), ''), x.department, x.seniority, x.quality_score,
         x.icp_score, x.personalization_notes, x.personal_anecdotes, x.professional_anecdotes, x.additional_research_notes,
         x.agent_summary, coalesce(x.source_urls, '{}'), v_task.id
    from jsonb_populate_recordset(null::pm_pipeline.contacts, p_contacts) with ordinality as x
   where not exists (select from pm_pipeline.contacts k where k.company_id = p_company_id
                      and (lower(k.email) = lower(btrim(x.email)) or lower(k.linkedin_url) = lower(btrim(x.linkedin_url))))
     -- nor a duplicate of an earlier one in the same batch (so p_max counts distinct people)
     and not exists (select from jsonb_populate_recordset(null::pm_pipeline.contacts, p_contacts) with ordinality as e
                      where e.ordinality < x.ordinality
                        and (lower(btrim(e.email)) = lower(btrim(x.email)) or lower(btrim(e.linkedin_url)) = lower(btrim(x.linkedin_url))))
   order by x.ordinality
   limit p_max
  on conflict do nothing
  returning c.*;
end
$$;
comment on function pm_pipeline.add_contacts(bigint, uuid, uuid, jsonb, integer) is 'Fenced, idempotent insert of a company''s contacts (unique per company by e-mail and by LinkedIn URL).';


-- Functions are executable by PUBLIC by default, and a schema-level default privilege cannot take
-- that away: revoke explicitly in every migration that creates functions.
revoke execute on all functions in schema pm_pipeline from public, anon, authenticated;
