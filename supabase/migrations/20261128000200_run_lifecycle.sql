-- How a run is created and how its stage and status may change. The old system let any worker
-- blindly overwrite stage and status; here a trigger admits only the moves below, and the functions
-- are compare-and-set, so a stale worker cannot undo a newer state.

create function pm_pipeline.run_status_move_allowed(p_from pm_pipeline.run_status, p_to pm_pipeline.run_status)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_from = p_to or (p_from, p_to) in (
    ('active', 'needs_user_decision'), ('active', 'completed'), ('active', 'error'), ('active', 'cancelled'),
    ('needs_user_decision', 'active'), ('needs_user_decision', 'completed'),
    ('needs_user_decision', 'error'), ('needs_user_decision', 'cancelled'))
$$;
comment on function pm_pipeline.run_status_move_allowed(pm_pipeline.run_status, pm_pipeline.run_status) is 'The allowed run status moves; completed, error and cancelled are final.';

create function pm_pipeline.guard_run_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not pm_pipeline.run_status_move_allowed(old.status, new.status) then
    raise exception 'run %: status cannot move from % to %', old.id, old.status, new.status
      using errcode = 'check_violation', hint = 'completed, error and cancelled are final';
  end if;
  -- A stage moves backwards only when a user decision resumes the run (needs_user_decision -> active).
  if new.stage < old.stage and not (old.status = 'needs_user_decision' and new.status = 'active') then
    raise exception 'run %: stage cannot move backwards from % to %', old.id, old.stage, new.stage
      using errcode = 'check_violation';
  end if;
  if new.stage <> old.stage and old.status in ('completed', 'error', 'cancelled') then
    raise exception 'run %: stage cannot change once the run is %', old.id, old.status
      using errcode = 'check_violation';
  end if;
  new.updated_at := now();
  if new.status in ('completed', 'error', 'cancelled') and old.status is distinct from new.status then
    new.finished_at := now();
  end if;
  return new;
end
$$;

create trigger runs_guard_transition
  before update on pm_pipeline.runs
  for each row execute function pm_pipeline.guard_run_transition();

-- Creates a run, or returns the existing one when the idempotency key was seen before.
create function pm_pipeline.create_run(
  p_criteria jsonb,
  p_target_quantity integer,
  p_contacts_min integer default 1,
  p_contacts_max integer default 3,
  p_idempotency_key text default null,
  p_notes text default null)
returns pm_pipeline.runs
language plpgsql
set search_path = ''
as $$
declare
  v_problem text := pm_pipeline.criteria_problem(p_criteria);
  v_run pm_pipeline.runs;
begin
  if v_problem is not null then
    raise exception 'invalid criteria: %', v_problem using errcode = 'invalid_parameter_value';
  end if;
  if p_idempotency_key is not null and length(p_idempotency_key) not between 1 and 200 then
    raise exception 'invalid idempotency key: must be 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_target_quantity is null or p_target_quantity not between 1 and 1000 then
    raise exception 'invalid quantity %: must be 1 to 1000', p_target_quantity using errcode = 'invalid_parameter_value';
  end if;
  if p_contacts_min is null or p_contacts_max is null or p_contacts_min not between 0 and 10
     or p_contacts_max not between 1 and 10 or p_contacts_min > p_contacts_max then
    raise exception 'invalid contacts range %..%: need 0 <= min <= max <= 10 and max >= 1', p_contacts_min, p_contacts_max
      using errcode = 'invalid_parameter_value';
  end if;

  insert into pm_pipeline.runs (criteria, target_quantity, contacts_min, contacts_max, idempotency_key, notes)
  values (p_criteria, p_target_quantity, p_contacts_min, p_contacts_max, p_idempotency_key, p_notes)
  on conflict (idempotency_key) do nothing
  returning * into v_run;

  if v_run.id is null then
    -- the key exists: same request again, same run
    select * into v_run from pm_pipeline.runs where idempotency_key = p_idempotency_key;
    return v_run;
  end if;
  perform pm_pipeline.log_event(v_run.id, 'run_created', format('run created: %s companies, %s-%s contacts each',
    p_target_quantity, p_contacts_min, p_contacts_max), jsonb_build_object('criteria', p_criteria));
  return v_run;
end
$$;
comment on function pm_pipeline.create_run(jsonb, integer, integer, integer, text, text) is 'Validates and creates a run; with an idempotency key already used, returns that run unchanged.';

-- Moves an active run's stage forward. Returns false (and changes nothing) when the run is already
-- at or past that stage, or is not active: a late worker cannot drag a run back.
create function pm_pipeline.advance_run_stage(p_run_id uuid, p_stage pm_pipeline.run_stage)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_from pm_pipeline.run_stage;
begin
  if p_stage = 'done' then
    raise exception 'a run reaches stage done only by completing: use set_run_status(run, ''completed'')'
      using errcode = 'invalid_parameter_value';
  end if;
  select stage into v_from from pm_pipeline.runs where id = p_run_id for no key update;
  update pm_pipeline.runs set stage = p_stage
   where id = p_run_id and status = 'active' and stage < p_stage;
  if not found then
    return false;
  end if;
  perform pm_pipeline.log_event(p_run_id, 'stage_changed', format('stage %s -> %s', v_from, p_stage),
    jsonb_build_object('from', v_from, 'to', p_stage));
  return true;
end
$$;
comment on function pm_pipeline.advance_run_stage(uuid, pm_pipeline.run_stage) is 'Moves an active run to a later stage; false when it is already there or past it, or not active.';

-- Compare-and-set of a run's status. With p_expected, nothing happens unless the run is in that
-- status. Completing sets stage done; cancelling, failing or completing a run cancels its queued tasks.
create function pm_pipeline.set_run_status(
  p_run_id uuid,
  p_status pm_pipeline.run_status,
  p_message text,
  p_expected pm_pipeline.run_status default null)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
begin
  -- every lock on a run is FOR NO KEY UPDATE: it serialises the run's writers but never blocks the
  -- foreign-key checks of rows that point at the run (a claim's heartbeat, an event, a company),
  -- which would otherwise deadlock with a worker that holds its task and waits for the run
  select * into v_run from pm_pipeline.runs where id = p_run_id for no key update;
  if v_run.id is null then
    raise exception 'run % does not exist', p_run_id using errcode = 'no_data_found';
  end if;
  if (p_expected is not null and v_run.status <> p_expected) or v_run.status = p_status then
    return false;
  end if;
  -- the trigger rejects moves that are not allowed, with a message that says which
  update pm_pipeline.runs
     set status = p_status,
         stage = case when p_status = 'completed' then 'done' else stage end,
         notes = coalesce(p_message, notes)
   where id = p_run_id;
  if p_status in ('completed', 'error', 'cancelled') then
    update pm_pipeline.tasks set state = 'cancelled', finished_at = now(), updated_at = now()
     where run_id = p_run_id and state = 'queued';
  end if;
  perform pm_pipeline.log_event(p_run_id, 'status_changed', coalesce(p_message, format('status %s -> %s', v_run.status, p_status)),
    jsonb_build_object('from', v_run.status, 'to', p_status));
  return true;
end
$$;
comment on function pm_pipeline.set_run_status(uuid, pm_pipeline.run_status, text, pm_pipeline.run_status) is 'Changes a run''s status if the move is allowed (and, with p_expected, only from that status); records the message as an event.';

-- A user decision resumes a run that waits for one: status back to active at the given stage.
create function pm_pipeline.resume_run(p_run_id uuid, p_stage pm_pipeline.run_stage, p_message text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_stage = 'done' then
    raise exception 'a resumed run cannot start at stage done' using errcode = 'invalid_parameter_value';
  end if;
  update pm_pipeline.runs set status = 'active', stage = p_stage, notes = coalesce(p_message, notes)
   where id = p_run_id and status = 'needs_user_decision';
  if not found then
    return false;
  end if;
  perform pm_pipeline.log_event(p_run_id, 'run_resumed', coalesce(p_message, format('resumed at %s', p_stage)),
    jsonb_build_object('stage', p_stage));
  return true;
end
$$;
comment on function pm_pipeline.resume_run(uuid, pm_pipeline.run_stage, text) is 'Resumes a run that needs a user decision (the only way a stage moves backwards).';
