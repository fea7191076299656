// The monitor function: what the old heartbeat-monitor daemon was meant to do, as one call that
// pg_cron (or an operator) can make: release dead workers' leases, dispatch waiting work, report;
// then, after the response, send the queued alerts (the `alert` tasks) with the worker runtime.
// It bundles the worker runtime and the alerts, nothing of the research (no provider, no crawler).
import { Worker } from "../worker/runtime.ts";
import { workerConfig } from "../worker/config.ts";
import { alertConfig } from "../alerts/config.ts";
import { alertReceivers } from "../alerts/deliver.ts";
import { alertWorker } from "../alerts/worker.ts";
import { checkWorkerSecret, json } from "../edge/http.ts";
import { database, env, serve } from "../edge/runtime.ts";
import { logFor, newWorkerId, runInBackground } from "../edge/worker-host.ts";
import { redact } from "../secrets/redact.ts";

export function serveMonitor(): void {
  serve(async (request) => {
    const vars = env();
    const denied = checkWorkerSecret(request, vars.PM_LEADS_WORKER_SECRET);
    if (denied) return denied;
    let worker: Worker<object>;
    let receivers: string[];
    try {
      // a half-configured receiver is an error now, not alerts that silently go nowhere
      const configured = alertReceivers(alertConfig(vars));
      receivers = configured.map((r) => r.name);
      const workerId = newWorkerId("alert", "monitor", vars);
      worker = new Worker({
        sql: database(), kind: alertWorker(configured), tools: {}, config: workerConfig(vars), workerId, log: logFor(workerId),
        metadata: { receivers },
      });
    } catch (error) {
      return json(500, { error: redact((error as Error).message) });
    }
    const sql = database();
    const released = await sql`select * from pm_pipeline.release_dead_worker_leases()`;
    const [dispatched] = await sql`select pm_pipeline.dispatch_waiting_work() as workers`;
    const stats = await sql`select * from pm_pipeline.get_worker_stats()`;
    const queues = await sql`select * from pm_pipeline.v_queue_stats`;
    runInBackground(worker);
    return json(200, { released, dispatched: dispatched.workers, workers: stats, queues, alerts: { worker_id: worker.workerId, receivers } });
  });
}
