// Connections and isolated fixtures for integration tests. Each test gets task kinds and runs of
// its own, so test files can run side by side against one database.
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll } from "vitest";
import { randomUUID } from "node:crypto";
import { databaseUrl } from "../../scripts/lib/stack-env.ts";

export function connect(max = 4): Sql {
  return postgres(databaseUrl(), { max, onnotice: () => {}, prepare: true });
}

export interface KindOptions {
  max_attempts?: number;
  lease_seconds?: number;
  backoff_base_seconds?: number;
  backoff_max_seconds?: number;
}

/** Creates a task kind used by this test only; returns its name. */
export async function createKind(sql: Sql, options: KindOptions = {}): Promise<string> {
  const kind = `test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await sql`
    insert into pm_pipeline.task_kinds (kind, description, max_attempts, lease_seconds, backoff_base_seconds, backoff_max_seconds)
    values (${kind}, 'test kind', ${options.max_attempts ?? 5}, ${options.lease_seconds ?? 30},
            ${options.backoff_base_seconds ?? 2}, ${options.backoff_max_seconds ?? 300})`;
  return kind;
}

/** Deletes a test kind and its tasks. */
export async function dropKind(sql: Sql, kind: string): Promise<void> {
  await sql`delete from pm_pipeline.tasks where kind = ${kind}`;
  await sql`delete from pm_pipeline.task_kinds where kind = ${kind}`;
}

export async function createRun(sql: Sql, quantity = 10): Promise<string> {
  const [run] = await sql`select id from pm_pipeline.create_run(${sql.json({ pms: "Buildium", state: "TX" })}, ${quantity})`;
  return run.id as string;
}

export const workerId = (label = "w") => `${label}-${randomUUID().slice(0, 8)}`;

// the tests' one wait (a condition with a deadline), also from here where the database tests import it
export { waitFor } from "./wait.ts";

/**
 * Moves time instead of sleeping through a lease: the running task's lease ends now, as if its
 * worker had missed every heartbeat since. Returns whether it was running.
 */
export async function expireLease(sql: Sql, taskId: string | number): Promise<boolean> {
  const rows = await sql`
    update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second'
     where id = ${taskId} and state = 'running' returning id`;
  return rows.length > 0;
}

/**
 * Saves the settings row and the task_kinds rows of `kinds`; the function it returns puts them back
 * as they were, for tests that change queue timings (never a copy of the migration's defaults).
 */
export async function saveQueueSettings(sql: Sql, kinds: string[]): Promise<() => Promise<void>> {
  const [settings] = await sql`select * from pm_pipeline.settings`;
  const rows = await sql`select * from pm_pipeline.task_kinds where kind = any(${kinds})`;
  if (rows.length !== kinds.length) throw new Error(`no such task kind among ${kinds.join(", ")}`);
  return async () => {
    await sql`update pm_pipeline.settings set ${sql(settings, Object.keys(settings).filter((c) => c !== "id"))}`;
    for (const row of rows) {
      await sql`update pm_pipeline.task_kinds set ${sql(row, Object.keys(row).filter((c) => c !== "kind"))} where kind = ${row.kind}`;
    }
  };
}

/** A connection and a task kind of its own for the tests of a describe block (made and dropped around them). */
export function useKind(options: KindOptions = {}): { sql: Sql; kind: string } {
  const context = {} as { sql: Sql; kind: string };
  beforeAll(async () => {
    context.sql = connect();
    context.kind = await createKind(context.sql, options);
  });
  afterAll(async () => {
    await dropKind(context.sql, context.kind);
    await context.sql.end();
  });
  return context;
}
