-- Alerts: what the old monitor daemon e-mailed (and, crashing at import, never did), sent once.
--
-- An alert is a task of kind 'alert' in the one queue, worked by the monitor Edge Function: the
-- queue's claims, leases, bounded retries with backoff and kept errors apply to alerts as they do to
-- research. Alerts are enqueued here, in the transaction that caused them, with an idempotency key
-- per cause, so a cause never yields two alerts however often it is seen:
--   a run's status change to needs_user_decision, completed or error  'alert:event:<event id>'
--   a worker found dead by release_dead_worker_leases()              'alert:worker-dead:<worker>:<last heartbeat epoch>'
-- Alert tasks have no run_id on purpose: a run's queued tasks are cancelled when it ends, and only
-- active runs' tasks are claimed, yet "the run completed" must still be sent.
--
-- Each receiver's success is recorded (alert_deliveries) under the task's lease as soon as it
-- answers 2xx, so a retry after a partial failure sends only to the receivers still missing.

-- Retried for about a day: backoff 60 s doubling to 1 h, 36 attempts (35 waits of d/2..d with equal
-- jitter: 15 to 30 hours in all), then failed with every attempt's error kept. One at a time: a
-- receiver that is down gets one request per due alert, not a burst.
insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds, backoff_base_seconds, backoff_max_seconds,
                                    concurrency, function_name)
values ('alert', 'Sends one alert (run needs a decision, completed or failed; dead worker) to the configured receivers.',
        36, 30, 60, 3600, 1, 'monitor');

-- "Buildium; Round Rock, TX; 100-2000 units": the criteria in one line for a human.
create function pm_pipeline.criteria_summary(p_criteria jsonb)
returns text
language sql
security definer
immutable
set search_path = ''
as $$
  select concat_ws('; ',
    case jsonb_typeof(p_criteria->'pms')
      when 'string' then p_criteria->>'pms'
      when 'array' then (select string_agg(p, ' or ') from jsonb_array_elements_text(p_criteria->'pms') p)
      else 'any PMS' end,
    nullif(concat_ws(', ', p_criteria->>'city',
      coalesce(p_criteria->>'state', (select string_agg(s, ', ') from jsonb_array_elements_text(p_criteria->'states') s))), ''),
    case when p_criteria ? 'units_min' and p_criteria ? 'units_max' then format('%s-%s units', p_criteria->>'units_min', p_criteria->>'units_max')
         when p_criteria ? 'units_min' then format('at least %s units', p_criteria->>'units_min')
         when p_criteria ? 'units_max' then format('at most %s units', p_criteria->>'units_max') end)
$$;

comment on function pm_pipeline.criteria_summary(jsonb) is 'Run criteria in one line for alerts: PMS; location; unit range.';

create function pm_pipeline.enqueue_run_alert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run pm_pipeline.runs;
  v_p pm_pipeline.v_run_progress;
begin
  select * into v_run from pm_pipeline.runs r where r.id = new.run_id;
  select * into v_p from pm_pipeline.v_run_progress p where p.run_id = new.run_id;
  perform pm_pipeline.enqueue_tasks('alert', null, jsonb_build_array(jsonb_build_object(
    'key', 'alert:event:' || new.id,
    'payload', jsonb_build_object(
      'type', case new.data->>'to' when 'needs_user_decision' then 'run_needs_decision'
                                   when 'completed' then 'run_completed' else 'run_failed' end,
      'run_id', new.run_id,
      'status', new.data->>'to',
      'message', new.message,
      'criteria', pm_pipeline.criteria_summary(v_run.criteria),
      'counts', jsonb_build_object('target', v_run.target_quantity, 'ready', v_p.ready, 'accepted', v_p.accepted,
                                   'rejected', v_p.rejected, 'review', v_p.review, 'contacts', v_p.contacts,
                                   'tasks_failed', v_p.tasks_failed),
      'event_id', new.id,
      'at', new.created_at))));
  return null;
end
$$;

comment on function pm_pipeline.enqueue_run_alert() is 'Trigger: enqueues the alert of a run status change (needs_user_decision, completed, error), keyed by the event id.';

create trigger events_enqueue_run_alert
  after insert on pm_pipeline.events
  for each row
  when (new.kind = 'status_changed' and new.data->>'to' in ('needs_user_decision', 'completed', 'error'))
  execute function pm_pipeline.enqueue_run_alert();

-- A trigger on the transition rather than a change to release_dead_worker_leases(): the function
-- users call by hand keeps its body and result, and any path that marks a worker dead alerts.
-- It fires before the dead worker's tasks are released, so they are still its running tasks.
create function pm_pipeline.enqueue_dead_worker_alert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pm_pipeline.enqueue_tasks('alert', null, jsonb_build_array(jsonb_build_object(
    -- the last heartbeat tells lives apart: a worker id that comes back and dies again alerts again
    'key', format('alert:worker-dead:%s:%s', new.worker_id, extract(epoch from new.last_heartbeat_at)),
    'payload', jsonb_build_object(
      'type', 'worker_dead',
      'worker_id', new.worker_id,
      'worker_type', new.worker_type,
      'last_heartbeat_at', new.last_heartbeat_at,
      'current_task', new.current_task,
      'current_run_id', new.current_run_id,
      -- the leases it still holds (one that expired first was already taken back; current_task tells)
      'held_tasks', (select coalesce(jsonb_agg(jsonb_build_object('task_id', t.id, 'kind', t.kind, 'run_id', t.run_id) order by t.id), '[]')
                       from pm_pipeline.tasks t where t.state = 'running' and t.locked_by = new.worker_id),
      'at', now()))));
  return null;
end
$$;

comment on function pm_pipeline.enqueue_dead_worker_alert() is 'Trigger: enqueues one alert when a worker is marked dead, keyed by worker id and last heartbeat.';

create trigger worker_heartbeats_enqueue_dead_worker_alert
  after update of status on pm_pipeline.worker_heartbeats
  for each row
  when (new.status = 'dead' and old.status is distinct from 'dead')
  execute function pm_pipeline.enqueue_dead_worker_alert();

create table pm_pipeline.alert_deliveries (
  task_id bigint not null references pm_pipeline.tasks (id) on delete cascade,
  receiver text not null check (receiver ~ '^[a-z][a-z0-9_-]{0,30}$'),
  attempt integer not null,
  delivered_at timestamptz not null default now(),
  response jsonb not null default '{}',
  primary key (task_id, receiver)
);
alter table pm_pipeline.alert_deliveries enable row level security;

comment on table pm_pipeline.alert_deliveries is 'Which receiver (webhook, email) accepted which alert task, in which attempt, with its answer: a retry skips these receivers.';

create function pm_pipeline.record_alert_delivery(p_task_id bigint, p_lease_token uuid, p_receiver text, p_response jsonb default '{}')
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task pm_pipeline.tasks := pm_pipeline.require_lease(p_task_id, p_lease_token);
begin
  if v_task.kind <> 'alert' then
    raise exception 'task % is a % task, not an alert', p_task_id, v_task.kind using errcode = 'invalid_parameter_value';
  end if;
  insert into pm_pipeline.alert_deliveries (task_id, receiver, attempt, response)
  values (p_task_id, p_receiver, v_task.attempts, coalesce(p_response, '{}'))
  on conflict (task_id, receiver) do nothing;
  return found;
end
$$;

comment on function pm_pipeline.record_alert_delivery(bigint, uuid, text, jsonb) is 'Fenced by the lease: records that a receiver accepted an alert; false when it was recorded before.';

create view pm_pipeline.v_alerts
with (security_invoker = true)
as
select t.id as task_id, t.key, t.payload->>'type' as type, t.state, t.attempts, t.max_attempts,
       case when t.state = 'queued' then t.run_after end as next_attempt_at,
       coalesce(array(select d.receiver from pm_pipeline.alert_deliveries d where d.task_id = t.id order by d.receiver), '{}') as delivered_to,
       coalesce((t.result->>'delivered')::boolean, false) as delivered,
       coalesce(t.result->>'reason', t.last_error) as problem,
       t.payload, t.created_at, t.finished_at
  from pm_pipeline.tasks t
 where t.kind = 'alert';

comment on view pm_pipeline.v_alerts is 'Every alert: type, state, attempts, the receivers that accepted it, and why it was not (yet) delivered.';
comment on column pm_pipeline.v_alerts.task_id is 'The alert task.';
comment on column pm_pipeline.v_alerts.key is 'Its unique key (one alert per event).';
comment on column pm_pipeline.v_alerts.type is 'run_completed, run_needs_decision, run_failed or worker_dead.';
comment on column pm_pipeline.v_alerts.state is 'The state of the alert task (queued, running, succeeded, failed).';
comment on column pm_pipeline.v_alerts.attempts is 'Delivery attempts so far.';
comment on column pm_pipeline.v_alerts.max_attempts is 'Attempts allowed.';
comment on column pm_pipeline.v_alerts.next_attempt_at is 'When it is tried again (queued only).';
comment on column pm_pipeline.v_alerts.delivered_to is 'Receivers that accepted it.';
comment on column pm_pipeline.v_alerts.delivered is 'Whether every receiver accepted it.';
comment on column pm_pipeline.v_alerts.problem is 'Why it was not (yet) delivered.';
comment on column pm_pipeline.v_alerts.payload is 'The alert.';
comment on column pm_pipeline.v_alerts.created_at is 'When it was raised.';
comment on column pm_pipeline.v_alerts.finished_at is 'When it was delivered or given up.';
