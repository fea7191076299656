// The single-task worker's fast path (complete_and_claim): one call completes the task held and
// claims the next. Racing workers on it never run a task twice; a stale completion writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue, type Task } from "../../shared/queue/client.ts";
import { workerConfig } from "../../shared/worker/config.ts";
import { Worker, type WorkerKind } from "../../shared/worker/runtime.ts";
import { connect, createKind, dropKind, workerId } from "../helpers/db.ts";
import { FAST_WORKERS } from "../helpers/functions-host.ts";

const TASKS = 400;
const WORKERS = 8;

describe("complete_and_claim", () => {
  let admin: Sql;
  let kind: string;
  const workers: Sql[] = [];

  beforeAll(async () => {
    admin = connect();
    kind = await createKind(admin, { lease_seconds: 120 });
    for (let i = 0; i < WORKERS; i++) workers.push(connect(1));
  });
  afterAll(async () => {
    await dropKind(admin, kind);
    await Promise.all([admin, ...workers].map((sql) => sql.end()));
  });

  it(`${WORKERS} workers racing on complete_and_claim drain ${TASKS} tasks, each run once`, async () => {
    await queue(admin).enqueue(kind, null, Array.from({ length: TASKS }, (_, i) => ({ payload: { i } })));
    const runs: number[] = [];
    const perWorker = await Promise.all(workers.map(async (sql, w) => {
      const q = queue(sql);
      const me = workerId(`cc${w}`);
      let mine = 0;
      let [task] = await q.claim<{ i: number }>(me, [kind]);
      while (task) {
        runs.push(task.payload.i);
        mine++;
        const { completed, next } = await q.completeAndClaim<{ i: number }>(task, { by: me }, me, [kind]);
        expect(completed).toBe(true);
        expect(next.length).toBeLessThanOrEqual(1);
        [task] = next;
      }
      return mine;
    }));

    expect(runs).toHaveLength(TASKS);
    expect(new Set(runs).size).toBe(TASKS);
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1); // the workers really raced
    const [done] = await admin`
      select count(*) filter (where state = 'succeeded' and attempts = 1 and result ? 'by')::int as once,
             count(*)::int as total
        from pm_pipeline.tasks where kind = ${kind}`;
    expect(done).toEqual({ once: TASKS, total: TASKS });
  });

  it("a stale completion writes nothing and claims nothing; the new holder completes", async () => {
    const [slow, fast] = [queue(workers[0]), queue(workers[1])];
    const [slowId, fastId] = [workerId("cc-slow"), workerId("cc-fast")];
    const enqueued = await queue(admin).enqueue(kind, null, [{ payload: { n: 1 } }, { payload: { n: 2 } }]);
    const [held] = await slow.claim(slowId, [kind]);
    expect(held.id).toBe(enqueued[0].id);
    // the slow worker stops heartbeating: its lease runs out, and with nothing else ready the next
    // claim takes the task over (after the other task)
    await admin`update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second' where id = ${held.id}`;
    const [other] = await fast.claim(fastId, [kind]);
    expect(other.id).toBe(enqueued[1].id);
    const { completed, next: [takenOver] } = await fast.completeAndClaim(other, null, fastId, [kind]);
    expect(completed).toBe(true);
    expect(takenOver.id).toBe(held.id);
    expect(takenOver.lease_token).not.toBe(held.lease_token);

    const late = await slow.completeAndClaim(held, { zombie: true }, slowId, [kind]);
    expect(late).toEqual({ completed: false, next: [] });
    const [row] = await admin<Pick<Task, "state" | "locked_by" | "attempts">[]>`
      select state, locked_by, attempts, result from pm_pipeline.tasks where id = ${held.id}`;
    expect(row).toMatchObject({ state: "running", locked_by: fastId, attempts: 2, result: null });

    const mine = await fast.completeAndClaim(takenOver, { n: 1 }, fastId, [kind]);
    expect(mine).toEqual({ completed: true, next: [] });
    const [after] = await admin`select state, result from pm_pipeline.tasks where id = ${held.id}`;
    expect(after).toEqual({ state: "succeeded", result: { n: 1 } });
  });

  it("the worker runtime claims the next task with its commit; a lost lease rolls that claim back", async () => {
    // a kind of its own: the racing workers above still count against the other one's concurrency
    const kind = await createKind(admin, { lease_seconds: 120 });
    const tasks = await queue(admin).enqueue(kind, null, ["a", "b", "c"].map((name) => ({ payload: { name } })));
    const ids = Object.fromEntries(tasks.map((t) => [t.payload.name as string, t.id]));
    let expired = false;
    let inTransaction = 0;
    const noop: WorkerKind = {
      kind,
      async work(task) {
        // the first attempt of a outlives its lease (a paused worker): its commit must write nothing
        if (task.id === ids.a && !expired) {
          expired = true;
          await admin`update pm_pipeline.tasks set lease_expires_at = now() - interval '1 second' where id = ${task.id}`;
        }
        return { name: task.payload.name };
      },
      async commit(db, task, result) {
        if ("savepoint" in db) inTransaction++; // a transaction of the runtime's: the claim rides along
        if (!(await queue(db).complete(task, result))) throw Object.assign(new Error("lease lost"), { code: "PM001" });
      },
    };
    const worker = new Worker({
      sql: workers[2], kind: noop, tools: {}, workerId: workerId("cc-runtime"),
      config: workerConfig({ ...FAST_WORKERS, WORKER_MIN_TASK_SECONDS: "1", WORKER_IDLE_WAIT_SECONDS: "0" }),
    });
    const summary = await worker.run();

    // a (lease lost), b, c, a again: the claim that rode along with a's stale commit was rolled back
    expect(summary).toMatchObject({ claimed: 4, completed: 3, lost: 1, failed: 0, stoppedBecause: "queue empty" });
    expect(inTransaction).toBeGreaterThanOrEqual(3);
    const rows = await admin`select payload->>'name' as name, state, attempts from pm_pipeline.tasks where kind = ${kind} order by id`;
    expect(rows).toEqual([
      { name: "a", state: "succeeded", attempts: 2 },
      { name: "b", state: "succeeded", attempts: 1 }, // not 2: the rolled-back claim did not count
      { name: "c", state: "succeeded", attempts: 1 },
    ]);
    await dropKind(admin, kind);
  });

  it("a shutdown while a commit brings the next task along gives that task straight back", async () => {
    const kind = await createKind(admin, { lease_seconds: 120 });
    const tasks = await queue(admin).enqueue(kind, null, ["a", "b"].map((name) => ({ payload: { name } })));
    let worker: Worker | undefined;
    const kindOf: WorkerKind = {
      kind,
      work: async () => ({}),
      async commit(db, task, result) {
        if (!(await queue(db).complete(task, result))) throw Object.assign(new Error("lease lost"), { code: "PM001" });
        // the platform's shutdown arrives while the transaction with the next claim is open
        if (task.id === tasks[0].id) void worker!.shutdown("termination");
      },
    };
    worker = new Worker({
      sql: workers[3], kind: kindOf, tools: {}, workerId: workerId("cc-shutdown"),
      config: workerConfig({ ...FAST_WORKERS, WORKER_MIN_TASK_SECONDS: "1", WORKER_IDLE_WAIT_SECONDS: "0" }),
    });
    const summary = await worker.run();

    expect(summary).toMatchObject({ claimed: 1, completed: 1, released: 1, stoppedBecause: "shutdown" });
    const rows = await admin`select payload->>'name' as name, state, attempts, last_error_kind from pm_pipeline.tasks where kind = ${kind} order by id`;
    expect(rows).toEqual([
      { name: "a", state: "succeeded", attempts: 1, last_error_kind: null },
      { name: "b", state: "queued", attempts: 0, last_error_kind: "released" }, // claimed with a's commit, released uncounted
    ]);
    await dropKind(admin, kind);
  });
});
