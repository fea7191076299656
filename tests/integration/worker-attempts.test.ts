// What an attempt cut short leaves behind: the paid call is on record at once (not when the task
// ends), the attempt does not count, and the next attempt starts from the answer already in hand
// instead of paying for it again. The real worker runtime and the offline provider, in process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../../shared/queue/client.ts";
import { NO_FAULTS, OfflineProvider, offlineSiteVerifier } from "../../shared/providers/offline/provider.ts";
import { NO_USAGE, UsageMeter } from "../../shared/providers/openai/usage.ts";
import { workerConfig } from "../../shared/worker/config.ts";
import { PipelineWorker as Worker, type ResearchKind as WorkerKind } from "../../shared/pipeline/worker.ts";
import { connect, createKind, createRun, dropKind, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS } from "../helpers/functions-host.ts";

describe("an attempt cut short", () => {
  let sql: Sql;
  let kind: string;
  beforeAll(async () => {
    sql = connect();
    kind = await createKind(sql, { max_attempts: 3 });
  });
  afterAll(async () => {
    await dropKind(sql, kind);
    await sql.end();
  });

  it("has its paid call on record at once, is released uncounted, and is not paid for again", async () => {
    const run = await createRun(sql);
    const [task] = await queue(sql).enqueue(kind, run, [{ key: "cut-short" }]);
    let providerCalls = 0;
    let holdAfterTheCall = true;

    const worker = () => {
      const meter = new UsageMeter();
      const provider = new OfflineProvider(NO_FAULTS, Math.random, () => (providerCalls++, meter.add({ ...NO_USAGE, calls: 1, cost_usd: 0.25 })));
      // the paid answer, then slow work after it (as the PMS check after the research call)
      const slow: WorkerKind = {
        kind,
        async work(_task, { signal, retry, once }) {
          const answer = await once("discovery", () =>
            retry(() => provider.discoverCompanies({ criteria: { pms: "Buildium", state: "TX" }, count: 2, exclude: [], signal })));
          // the first attempt is still at it when the shutdown comes
          if (holdAfterTheCall) await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
          return { found: (answer as { companies: unknown[] }).companies.length };
        },
        commit: async (db, t, result) => {
          if (!(await queue(db).complete(t, result))) throw Object.assign(new Error("lease lost"), { code: "PM001" });
        },
      };
      return new Worker({
        sql, kind: slow, tools: { provider, verifier: offlineSiteVerifier },
        config: workerConfig({ ...FAST_WORKERS, WORKER_MIN_TASK_SECONDS: "1", WORKER_IDLE_WAIT_SECONDS: "0" }),
        workerId: `attempts-${Date.now().toString(36)}`,
        usage: { take: () => ({ ...meter.take(), provider: "offline", model: "offline" }) },
      });
    };

    const first = worker();
    const running = first.run();
    // the call's usage is in the database while the task still runs
    const usage = await waitFor("the first call's usage", async () => {
      const [used] = await sql`select sum(calls)::int as calls, sum(cost_usd)::float8 as cost from pm_pipeline.provider_usage where task_id = ${task.id}`;
      return used.calls ? used : null;
    });
    expect(usage).toEqual({ calls: 1, cost: 0.25 });
    expect((await sql`select state from pm_pipeline.tasks where id = ${task.id}`)[0].state).toBe("running");

    // the platform shuts the isolate down mid-task
    await first.shutdown("termination");
    await running;
    const [released] = await sql`select state, attempts, last_error_kind, checkpoint ? 'discovery' as kept from pm_pipeline.tasks where id = ${task.id}`;
    expect(released).toEqual({ state: "queued", attempts: 0, last_error_kind: "released", kept: true });

    // the next attempt goes on from the answer in hand: no second call
    holdAfterTheCall = false;
    const summary = await worker().run();
    expect(summary.completed).toBe(1);
    const [done] = await sql`select state, attempts, result->>'found' as found from pm_pipeline.tasks where id = ${task.id}`;
    expect(done).toEqual({ state: "succeeded", attempts: 1, found: "2" });
    expect(providerCalls).toBe(1);
    const [total] = await sql`select sum(calls)::int as calls from pm_pipeline.provider_usage where task_id = ${task.id}`;
    expect(total.calls).toBe(1);
    await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'done with the test')`;
  });
});
