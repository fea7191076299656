// What an alert says. The payload is written by SQL (supabase/schemas/07_alerts.sql) and parsed
// here; the words are made here, once, for the webhook's text and the e-mail alike.
import { z } from "zod";

const count = z.number().int().nullable();

export const RunAlert = z.object({
  type: z.enum(["run_needs_decision", "run_completed", "run_failed"]),
  run_id: z.string(),
  status: z.string(),
  message: z.string(),
  criteria: z.string(),
  counts: z.object({ target: count, ready: count, accepted: count, rejected: count, review: count, contacts: count, tasks_failed: count }),
  event_id: z.number().int(),
  at: z.string(),
});

export const WorkerDeadAlert = z.object({
  type: z.literal("worker_dead"),
  worker_id: z.string(),
  worker_type: z.string(),
  last_heartbeat_at: z.string(),
  current_task: z.string().nullable(),
  current_run_id: z.string().nullable(),
  held_tasks: z.array(z.object({ task_id: z.number().int(), kind: z.string(), run_id: z.string().nullable() })),
  at: z.string(),
});

export const Alert = z.discriminatedUnion("type", [RunAlert, WorkerDeadAlert]);
export type Alert = z.infer<typeof Alert>;

export interface AlertMessage {
  subject: string;
  text: string;
}

const short = (id: string) => id.slice(0, 8);

function runMessage(alert: z.infer<typeof RunAlert>): AlertMessage {
  const c = alert.counts;
  const what = {
    run_needs_decision: ["needs a decision", `Decide: pm-leads decide ${alert.run_id} accept-partial | expand-location | loosen-pms`],
    run_completed: ["completed", `Export: pm-leads export ${alert.run_id}`],
    run_failed: ["failed", `Details: pm-leads status ${alert.run_id}`],
  }[alert.type];
  return {
    subject: `pm-leads: run ${short(alert.run_id)} ${what[0]} (${alert.criteria})`,
    text: [
      `Run ${alert.run_id} ${what[0]}: ${alert.message}`,
      `Criteria: ${alert.criteria}`,
      `Companies: ${c.ready ?? 0} of ${c.target ?? "?"} ready, ${c.accepted ?? 0} accepted, ${c.rejected ?? 0} rejected` +
        `${c.review ? `, ${c.review} to review` : ""}; ${c.contacts ?? 0} contacts${c.tasks_failed ? `; ${c.tasks_failed} task(s) failed` : ""}`,
      what[1],
      `At: ${alert.at}`,
    ].join("\n"),
  };
}

function workerMessage(alert: z.infer<typeof WorkerDeadAlert>): AlertMessage {
  const held = alert.held_tasks.map((t) => `${t.kind} #${t.task_id}`).join(", ");
  return {
    subject: `pm-leads: worker ${alert.worker_id} (${alert.worker_type}) died`,
    text: [
      `Worker ${alert.worker_id} (${alert.worker_type}) stopped heartbeating without stopping; last heartbeat ${alert.last_heartbeat_at}.`,
      `Working on: ${alert.current_task ?? "nothing"}${alert.current_run_id ? ` (run ${alert.current_run_id})` : ""}`,
      held ? `Its tasks (${held}) went back to the queue or, out of attempts, failed.` : "It held no task.",
      `At: ${alert.at}`,
    ].join("\n"),
  };
}

export function formatAlert(alert: Alert): AlertMessage {
  return alert.type === "worker_dead" ? workerMessage(alert) : runMessage(alert);
}
