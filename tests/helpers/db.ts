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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy, and returns that; fails naming `what` after `timeoutMs`. */
type Falsy = null | undefined | false;
export async function waitFor<T>(what: string, check: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
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
