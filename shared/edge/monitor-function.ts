// The monitor function: what the old heartbeat-monitor daemon was meant to do, as one call that
// pg_cron (or an operator) can make: release dead workers' leases, dispatch waiting work, report.
import { checkWorkerSecret, json } from "./http.ts";
import { database, env, serve } from "./runtime.ts";

export function serveMonitor(): void {
  serve(async (request) => {
    const denied = checkWorkerSecret(request, env().PM_LEADS_WORKER_SECRET);
    if (denied) return denied;
    const sql = database();
    const released = await sql`select * from pm_pipeline.release_dead_worker_leases()`;
    const [dispatched] = await sql`select pm_pipeline.dispatch_waiting_work() as workers`;
    const stats = await sql`select * from pm_pipeline.get_worker_stats()`;
    const queues = await sql`select * from pm_pipeline.v_queue_stats`;
    return json(200, { released, dispatched: dispatched.workers, workers: stats, queues });
  });
}
