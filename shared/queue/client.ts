// Typed access to the queue's SQL API (supabase/schemas/02_queue.sql). The SQL functions are
// the contract; this file only names their arguments and results. No Deno or Node APIs here: the
// Edge Functions, the CLI, the tests and the benchmarks all use it with a postgres.js client.
import type { Sql, TransactionSql } from "postgres";
import type { TaskState } from "../domain/states.ts";

export type { TaskState };

/** A row of pm_pipeline.tasks (what enqueue returns). */
export interface TaskRow<P = Record<string, unknown>> {
  id: string; // bigint, kept as a string by postgres.js
  kind: string;
  run_id: string | null;
  key: string | null;
  payload: P;
  state: TaskState;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  lease_expires_at: Date | null;
  locked_by: string | null;
  last_error: string | null;
  last_error_kind: string | null;
  /** what earlier attempts saved under their lease (save_checkpoint), by name */
  checkpoint: Record<string, unknown>;
}

/** A claimed task: it carries the lease token that every later call needs. */
export interface Task<P = Record<string, unknown>> extends TaskRow<P> {
  lease_token: string;
  lease_expires_at: Date;
}

/** The SQLSTATE of a write whose lease token is stale (require_lease, complete_and_claim). */
export const LEASE_LOST = "PM001";

export interface EnqueueItem<P = Record<string, unknown>> {
  key?: string;
  payload?: P;
  delay_seconds?: number;
}

export interface Lease {
  id: string;
  lease_token: string;
}

export interface FailOptions {
  /** false for errors that will not go away by retrying (bad input, auth, quota): fail for good now. */
  retryable?: boolean;
  /** a server's retry-after, in seconds: the next attempt waits at least this long. */
  retryAfterSeconds?: number;
  /** the error's class (auth, quota, invalid_output, ...), stored with the task: the pipeline acts on it */
  kind?: string;
}

/** The SQL API of the queue, bound to one postgres.js client (or transaction). */
export function queue(sql: Sql | TransactionSql) {
  return {
    enqueue<P = Record<string, unknown>>(kind: string, runId: string | null, items: EnqueueItem<P>[]): Promise<TaskRow<P>[]> {
      return sql<TaskRow<P>[]>`
        select * from pm_pipeline.enqueue_tasks(${kind}, ${runId}, ${sql.json(items as never)})`;
    },

    claim<P = Record<string, unknown>>(workerId: string, kinds: string[], limit = 1): Promise<Task<P>[]> {
      return sql<Task<P>[]>`
        select * from pm_pipeline.claim_tasks(${workerId}, ${kinds}::text[], ${limit})`;
    },

    /** The new lease expiry, or null when the lease is lost and the work must stop. */
    async heartbeat(lease: Lease): Promise<Date | null> {
      const [row] = await sql`select pm_pipeline.heartbeat_task(${lease.id}, ${lease.lease_token}) as expires`;
      return row.expires as Date | null;
    },

    /** true when completed; false when the lease was lost (nothing was written). */
    async complete(lease: Lease, result: unknown = null): Promise<boolean> {
      const [row] = await sql`
        select pm_pipeline.complete_task(${lease.id}, ${lease.lease_token}, ${result === null ? null : sql.json(result as never)}) as ok`;
      return row.ok as boolean;
    },

    /**
     * Completes a claimed task and claims the worker's next ones in one round trip and one commit
     * (complete_and_claim). completed false: the lease was lost, nothing was written or claimed.
     */
    async completeAndClaim<P = Record<string, unknown>>(
      lease: Lease, result: unknown, workerId: string, kinds: string[], limit = 1,
    ): Promise<{ completed: boolean; next: Task<P>[] }> {
      try {
        const next = await sql<Task<P>[]>`
          select * from pm_pipeline.complete_and_claim(${lease.id}, ${lease.lease_token},
            ${result === null ? null : sql.json(result as never)}, ${workerId}, ${kinds}::text[], ${limit})`;
        return { completed: true, next };
      } catch (error) {
        if ((error as { code?: string })?.code === LEASE_LOST) return { completed: false, next: [] };
        throw error;
      }
    },

    /** Completes many claimed tasks in one statement; returns the ids that were completed. */
    async completeMany(leases: Lease[]): Promise<string[]> {
      const rows = await sql`
        select pm_pipeline.complete_tasks(${leases.map((l) => l.id)}::bigint[], ${leases.map((l) => l.lease_token)}::uuid[]) as id`;
      return rows.map((r) => String(r.id));
    },

    /** The task's new state ('queued' for a retry, 'failed' for good), or null when the lease was lost. */
    async fail(lease: Lease, error: string, options: FailOptions = {}): Promise<TaskState | null> {
      const [row] = await sql`
        select pm_pipeline.fail_task(${lease.id}, ${lease.lease_token}, ${error},
          ${options.retryable ?? true}, ${options.retryAfterSeconds ?? null}, ${options.kind ?? null}) as state`;
      return row.state as TaskState | null;
    },

    /** Gives the task back to the queue at once (the attempt does not count); null when the lease was lost. */
    async release(lease: Lease, reason: string): Promise<TaskState | null> {
      const [row] = await sql`select pm_pipeline.release_task(${lease.id}, ${lease.lease_token}, ${reason}) as state`;
      return row.state as TaskState | null;
    },

    /** Registers the worker or records its heartbeat (upsert_worker_heartbeat). */
    async workerHeartbeat(worker: WorkerBeat): Promise<void> {
      await sql`
        select from pm_pipeline.upsert_worker_heartbeat(${worker.workerId}, ${worker.workerType}, ${worker.status ?? "active"},
          ${worker.currentRunId ?? null}, ${worker.currentTask ?? null}, ${worker.leaseExpiresAt ?? null},
          ${worker.metadata ? sql.json(worker.metadata as never) : null})`;
    },

    /** Marks the worker stopped: it claims nothing more; returns how many leases went back to the queue. */
    async stopWorker(workerId: string, reason = "worker stopped"): Promise<number> {
      const [row] = await sql`select pm_pipeline.stop_worker(${workerId}, ${reason}) as released`;
      return row.released as number;
    },
  };
}

export interface WorkerBeat {
  workerId: string;
  workerType: string;
  status?: "active" | "idle" | "processing";
  currentRunId?: string | null;
  currentTask?: string | null;
  leaseExpiresAt?: Date | null;
  metadata?: Record<string, unknown>;
}

export type Queue = ReturnType<typeof queue>;
