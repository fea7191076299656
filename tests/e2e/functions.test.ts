// The Edge Functions over real HTTP on the local functions host: reachable with supabase-js
// functions.invoke, guarded by the worker secret, dispatched by NOTIFY from the queue, and giving
// their lease back when the platform shuts them down (beforeunload).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, createKind, dropKind, waitFor } from "../helpers/db.ts";
import { startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient } from "../helpers/api.ts";

describe("edge functions on the local host", () => {
  let sql: Sql;
  let host: Host;
  const env = loadStackEnv();
  const prefix = `fn${Date.now().toString(36)}`; // this run's workers, whatever earlier runs left

  beforeAll(async () => {
    sql = connect();
    host = await startHost(prefix, { WORKER_HEARTBEAT_INTERVAL: "1", PM_LEADS_OFFLINE_LATENCY_MS: "5000" });
  });
  afterAll(async () => {
    await host.stop();
    await sql.end();
  });

  const client = (key: string) => apiClient(host.url, key);

  it("answers supabase-js functions.invoke with the worker secret, and 401 without it", async () => {
    const { data, error } = await client(env.SUPABASE_SERVICE_ROLE_KEY).functions.invoke("monitor", {
      headers: { Authorization: `Bearer ${env.PM_LEADS_WORKER_SECRET}` },
    });
    expect(error).toBeNull();
    expect(data).toMatchObject({ released: expect.any(Array), workers: expect.any(Array), queues: expect.any(Array) });

    const denied = await client(env.SUPABASE_SERVICE_ROLE_KEY).functions.invoke("lead-list", { body: {} });
    expect(denied.error).not.toBeNull();
    expect((denied.error as { context?: Response }).context?.status).toBe(401);
  });

  it("a queued task is dispatched by NOTIFY to its kind's function, up to the kind's concurrency", async () => {
    const kind = await createKind(sql);
    const received: { function: string; kind: string }[] = [];
    let sentinels = 0;
    const listener = await sql.listen("pm_pipeline_dispatch", (payload) => {
      const message = JSON.parse(payload);
      if (message.kind !== kind) return;
      if (message.function === "sentinel") sentinels++;
      else received.push({ function: message.function, kind: message.kind });
    });
    // NOTIFYs reach a listener in commit order: once a notification sent after `statement` has
    // arrived, every one its transaction sent has too (no sleeping to see whether more come)
    const dispatchesOf = async (statement: () => Promise<unknown>) => {
      received.length = 0;
      await statement();
      const seen = sentinels;
      await sql`select pg_notify('pm_pipeline_dispatch', ${JSON.stringify({ function: "sentinel", kind })})`;
      await waitFor("the sentinel notification after the statement", () => sentinels > seen, 10_000, 20);
      return [...received];
    };
    try {
      // a function the host does not have: the dispatch is observed, the invocation is a harmless 404
      await sql`update pm_pipeline.task_kinds set function_name = 'no-such-function', concurrency = 2 where kind = ${kind}`;
      expect(await dispatchesOf(() => sql`select from pm_pipeline.enqueue_tasks(${kind}, null, '[{}, {}, {}]')`))
        .toEqual([{ function: "no-such-function", kind }, { function: "no-such-function", kind }]); // 3 ready, 2 allowed

      await sql`select from pm_pipeline.upsert_worker_heartbeat(${`busy-${kind}-1`}, ${kind}, 'processing')`;
      await sql`select from pm_pipeline.upsert_worker_heartbeat(${`busy-${kind}-2`}, ${kind}, 'processing')`;
      expect(await dispatchesOf(() => sql`select from pm_pipeline.enqueue_tasks(${kind}, null, '[{}]')`)).toEqual([]); // both slots taken by live workers
    } finally {
      await listener.unlisten();
      await sql`delete from pm_pipeline.worker_heartbeats where worker_id like ${`busy-${kind}-%`}`;
      await dropKind(sql, kind);
    }
  });

  it("on shutdown (SIGTERM -> beforeunload) a worker gives its lease back at once", async () => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "DoorLoop", state: "CO" })}, 3)`;
    const [held] = await waitFor(`a task of run ${run.id} held by this host's workers`, async () => {
      const rows = await sql`select id from pm_pipeline.tasks where run_id = ${run.id} and state = 'running' and locked_by like ${`${prefix}-%`}`;
      return rows.length ? rows : null;
    }, 30_000, 20);
    await host.stop(); // SIGTERM: the provider call (5 s) is still under way
    const [task] = await sql`select state, lease_token, last_error from pm_pipeline.tasks where id = ${held.id}`;
    expect(task).toEqual({ state: "queued", lease_token: null, last_error: "released: termination" });
    const workers = await sql`select worker_id, status from pm_pipeline.worker_heartbeats where worker_id like ${`${prefix}-%`} and status <> 'stopped'`;
    expect(workers, `${JSON.stringify(workers)}\n${host.output()}`).toEqual([]);
    await sql`select pm_pipeline.set_run_status(${run.id}, 'cancelled', 'test over')`;
  });
});
