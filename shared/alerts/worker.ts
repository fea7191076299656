// The alert worker kind: sends one alert task to every configured receiver that does not have it
// yet. Each receiver's 2xx is recorded at once, under the lease (record_alert_delivery), so a retry
// after a partial failure sends only to the others; the task completes when all have it.
import type { Sql } from "postgres";
import { z } from "zod";
import { queue, type Task } from "../queue/client.ts";
import { LeaseLost, type WorkerKind } from "../worker/runtime.ts";
import { DeliveryError, type Receiver } from "./deliver.ts";
import { Alert } from "./message.ts";

export const NOT_DELIVERED = "no receiver configured (ALERT_WEBHOOK_URL, ALERT_EMAIL_*): not delivered";

async function deliveredBefore(sql: Sql, task: Task): Promise<Set<string>> {
  const rows = await sql`select receiver from pm_pipeline.alert_deliveries where task_id = ${task.id}`;
  return new Set(rows.map((r) => r.receiver as string));
}

export function alertWorker(receivers: Receiver[]): WorkerKind<object> {
  return {
    kind: "alert",
    async work(task, { sql, signal }) {
      const alert = Alert.parse(task.payload);
      // completed, not left waiting: configuring a receiver later must not replay old alerts
      if (receivers.length === 0) return { delivered: false, reason: NOT_DELIVERED };
      const key = task.key ?? `alert:task:${task.id}`;
      const before = await deliveredBefore(sql, task);
      const answers: Record<string, unknown> = {};
      const failures: DeliveryError[] = [];
      for (const receiver of receivers) {
        if (before.has(receiver.name)) {
          answers[receiver.name] = "delivered in an earlier attempt";
          continue;
        }
        if (!receiver.takes(alert)) {
          answers[receiver.name] = `no recipients for ${alert.type} alerts`;
          continue;
        }
        // a fresh lease (30 s) right before sending outlasts the request (10 s), so the record of a
        // 2xx lands while this worker still holds the task
        if (!(await queue(sql).heartbeat(task))) throw new LeaseLost(task.id);
        try {
          const answer = await receiver.send(alert, key, signal);
          await sql`select pm_pipeline.record_alert_delivery(${task.id}, ${task.lease_token}, ${receiver.name}, ${sql.json({ ...answer })})`;
          answers[receiver.name] = answer;
        } catch (error) {
          if (!(error instanceof DeliveryError)) throw error;
          failures.push(error);
        }
      }
      if (failures.length) throw DeliveryError.of(failures);
      return { delivered: true, receivers: answers };
    },
    async commit(sql, task, result) {
      if (!(await queue(sql).complete(task, result))) throw new LeaseLost(task.id);
    },
    classify(error) {
      if (error instanceof DeliveryError) return { retryable: error.retryable, retryAfterSeconds: error.retryAfterSeconds };
      // a payload the formatter cannot read will not read better later
      return { retryable: !(error instanceof z.ZodError) };
    },
  };
}
