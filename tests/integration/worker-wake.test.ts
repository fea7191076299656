// How an idle worker finds new work: woken by the insert's NOTIFY (pm_pipeline_task_ready) without
// waiting out its poll interval, lingering for the next task when its queue is empty; polling when
// LISTEN is off or fails; and the poll still finds a task whose NOTIFY it never got. The real worker
// runtime, in process, on the test stack's database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../../shared/queue/client.ts";
import { workerConfig } from "../../shared/worker/config.ts";
import { Worker, type WorkerEvent, type WorkerKind } from "../../shared/worker/runtime.ts";
import { connect, createKind, dropKind, waitFor, workerId } from "../helpers/db.ts";

// far longer than any wait below: a task claimed within these waits was not found by a poll
const NEVER_POLLS = { WORKER_POLL_MS: "60000" };
const WAIT_MS = 15_000;

describe("waking idle workers", () => {
  let sql: Sql;
  let kind: string;
  beforeAll(async () => {
    sql = connect();
    kind = await createKind(sql);
  });
  afterAll(async () => {
    await dropKind(sql, kind);
    await sql.end();
  });

  /** A worker of the test's kind whose work does nothing; `db` is the client it runs on. */
  function startWorker(env: Record<string, string>, db: Sql = sql) {
    const events: WorkerEvent[] = [];
    const noop: WorkerKind = {
      kind,
      work: async () => ({}),
      commit: async (tx, task, result) => {
        if (!(await queue(tx).complete(task, result))) throw Object.assign(new Error("lease lost"), { code: "PM001" });
      },
    };
    const worker = new Worker({
      sql: db, kind: noop, tools: {}, workerId: workerId("wake"), log: (e) => events.push(e),
      config: workerConfig({ WORKER_MIN_TASK_SECONDS: "1", WORKER_TIME_BUDGET_SECONDS: "300", WORKER_HEARTBEAT_INTERVAL: "1", ...env }),
    });
    const running = worker.run();
    return {
      worker, events, running,
      async stop() {
        await worker.shutdown("test over");
        return await running;
      },
    };
  }

  const statusOf = async (id: string) =>
    (await sql`select status from pm_pipeline.worker_heartbeats where worker_id = ${id}`)[0]?.status as string | undefined;
  const untilIdle = (id: string) => waitFor(`worker ${id} idle`, async () => (await statusOf(id)) === "idle", WAIT_MS, 20);
  const untilSucceeded = (taskId: string) => waitFor(`task ${taskId} done`, async () => {
    const [row] = await sql`select state from pm_pipeline.tasks where id = ${taskId}`;
    return row.state === "succeeded";
  }, WAIT_MS, 20);

  /** A task of the kind claimed by a worker that is not the one under test: "running elsewhere". */
  async function runningElsewhere() {
    const [task] = await queue(sql).enqueue(kind, null, [{ payload: { elsewhere: true } }]);
    const [claimed] = await queue(sql).claim(workerId("elsewhere"), [kind]);
    expect(claimed.id).toBe(task.id);
    return claimed;
  }

  it("an idle worker with an empty queue lingers and claims a new task at once, without waiting out its poll", async () => {
    const w = startWorker({ ...NEVER_POLLS, WORKER_LINGER_SECONDS: "120" });
    try {
      await untilIdle(w.worker.workerId); // nothing queued or running: today it would have stopped
      const [task] = await queue(sql).enqueue(kind, null, [{}]);
      await untilSucceeded(task.id);
      expect(w.worker.summary.completed).toBe(1);
      expect(w.events.map((e) => e.event)).not.toContain("listen failed");
    } finally {
      expect((await w.stop()).stoppedBecause).toBe("shutdown");
    }
  });

  it("a worker waiting for a task running elsewhere is woken by a new task's NOTIFY", async () => {
    const elsewhere = await runningElsewhere();
    const w = startWorker({ ...NEVER_POLLS, WORKER_LINGER_SECONDS: "0" });
    try {
      await untilIdle(w.worker.workerId);
      const [task] = await queue(sql).enqueue(kind, null, [{}]);
      await untilSucceeded(task.id);
    } finally {
      await w.stop();
      await queue(sql).complete(elsewhere);
    }
  });

  it("with its queue empty and lingering over, the worker stops (and one that only polls does not linger)", async () => {
    const lingering = startWorker({ WORKER_LINGER_SECONDS: "0.3", WORKER_POLL_MS: "50" });
    expect((await lingering.running).stoppedBecause).toBe("queue empty");
    expect(await statusOf(lingering.worker.workerId)).toBe("stopped");

    const polling = startWorker({ WORKER_LISTEN: "off", WORKER_LINGER_SECONDS: "600" });
    expect((await polling.running).stoppedBecause).toBe("queue empty"); // not after 600 s: it never waited
    expect(polling.events).toContainEqual({ event: "polling", detail: "WORKER_LISTEN=off" });
  });

  it("with LISTEN off, an idle worker finds a new task by polling", async () => {
    const elsewhere = await runningElsewhere();
    const w = startWorker({ WORKER_LISTEN: "off", WORKER_POLL_MS: "100" });
    try {
      await untilIdle(w.worker.workerId);
      const [task] = await queue(sql).enqueue(kind, null, [{}]);
      await untilSucceeded(task.id);
      expect(w.events.map((e) => e.event)).toContain("polling");
    } finally {
      await w.stop();
      await queue(sql).complete(elsewhere);
    }
  });

  it("when LISTEN fails, the worker says so and polls", async () => {
    // a connection on which LISTEN is refused (as a pooler may refuse it): everything else works
    const refusing = new Proxy(sql, {
      get: (target, property, receiver) =>
        property === "listen" ? () => Promise.reject(new Error("LISTEN is not supported")) : Reflect.get(target, property, receiver),
    });
    const elsewhere = await runningElsewhere();
    const w = startWorker({ WORKER_POLL_MS: "100" }, refusing);
    try {
      await untilIdle(w.worker.workerId);
      const [task] = await queue(sql).enqueue(kind, null, [{}]);
      await untilSucceeded(task.id);
      expect(w.events).toContainEqual({ event: "listen failed", detail: "LISTEN is not supported; polling" });
    } finally {
      await w.stop();
      await queue(sql).complete(elsewhere);
    }
  });

  it("a task whose NOTIFY never came is found by the poll", async () => {
    const notified: string[] = [];
    const listener = await sql.listen("pm_pipeline_task_ready", (payload) => notified.push(payload));
    const w = startWorker({ WORKER_LINGER_SECONDS: "120", WORKER_POLL_MS: "200" });
    try {
      await untilIdle(w.worker.workerId);
      // inserted with the triggers off: no NOTIFY, no dispatch (a lost notification)
      const [task] = await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        return await queue(tx).enqueue(kind, null, [{}]);
      });
      await untilSucceeded(task.id);
      // notifications arrive in commit order: once this one is in, none for the task came before it
      await sql`select pg_notify('pm_pipeline_task_ready', 'sentinel')`;
      await waitFor("the sentinel notification", () => notified.includes("sentinel"), WAIT_MS, 20);
      expect(notified).not.toContain(kind);
    } finally {
      await listener.unlisten();
      await w.stop();
    }
  });
});
