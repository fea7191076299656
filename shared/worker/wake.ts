// How an idle worker learns that a task of its kind is ready without polling: the insert trigger
// (pm_pipeline.dispatch_inserted_tasks) sends NOTIFY pm_pipeline_task_ready with the kind as its
// payload, and a worker LISTENs on a connection of its own (postgres.js sql.listen). A NOTIFY can
// be missed (the listening connection dropped, a task that became ready without an insert: a
// retry falling due, a released lease), so workers poll as well; this only makes them earlier.
import type { Sql } from "postgres";

export const TASK_READY_CHANNEL = "pm_pipeline_task_ready";

/** Supabase's transaction-mode pooler (Supavisor or PgBouncer): LISTEN is not supported through it. */
const TRANSACTION_POOLER_PORT = 6543;

/**
 * Whether a worker on this connection should LISTEN: WORKER_LISTEN=on or off says so; auto listens
 * unless the connection goes through the transaction-mode pooler, where a LISTEN may even succeed
 * but its notifications never reach the client (its server connection goes back to the pool).
 * The direct connection (SUPABASE_DB_URL) and the session pooler (port 5432) support it.
 */
export function listenDecision(setting: "auto" | "on" | "off", sql: Pick<Sql, "options">): { listen: boolean; why: string } {
  if (setting === "off") return { listen: false, why: "WORKER_LISTEN=off" };
  if (setting === "on") return { listen: true, why: "WORKER_LISTEN=on" };
  const ports = sql.options?.port ?? [];
  if (ports.includes(TRANSACTION_POOLER_PORT)) {
    return { listen: false, why: `the database URL is the transaction-mode pooler (port ${TRANSACTION_POOLER_PORT}), which does not support LISTEN` };
  }
  return { listen: true, why: "WORKER_LISTEN=auto" };
}
