// Bounded, classified retries: backoff computed in SQL is respected, retry-after is honoured,
// non-retryable errors fail at once, and exhausted attempts end as failed with the reason kept.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue, type TaskRow } from "../../shared/queue/client.ts";
import { connect, createKind, createRun, dropKind, waitFor, workerId, type KindOptions } from "../helpers/db.ts";

describe("retries", () => {
  let sql: Sql;
  const kinds: string[] = [];
  beforeAll(() => {
    sql = connect();
  });
  afterEach(async () => {
    await Promise.all(kinds.splice(0).map((kind) => dropKind(sql, kind)));
  });
  afterAll(() => sql.end());

  async function freshTask(options: KindOptions, runId: string | null = null): Promise<{ kind: string; task: TaskRow }> {
    const kind = await createKind(sql, options);
    kinds.push(kind);
    const [task] = await queue(sql).enqueue(kind, runId, [{ payload: { n: 1 } }]);
    return { kind, task };
  }

  async function waitOf(id: string): Promise<number> {
    const [row] = await sql`select extract(epoch from run_after - now())::float8 as wait from pm_pipeline.tasks where id = ${id}`;
    return row.wait;
  }

  it("backs off exponentially with jitter and does not hand the task out early", async () => {
    const { kind } = await freshTask({ backoff_base_seconds: 1, backoff_max_seconds: 60 });
    const q = queue(sql);
    const me = workerId("backoff");

    const [first] = await q.claim(me, [kind]);
    expect(await q.fail(first, "transient 1")).toBe("queued");
    const wait1 = await waitOf(first.id);
    expect(wait1).toBeGreaterThan(0.45); // attempt 1: between base/2 and base
    expect(wait1).toBeLessThanOrEqual(1);
    expect(await q.claim(me, [kind])).toEqual([]); // not before run_after

    // the backoff itself is what is tested: wait for it (polled often), do not move time
    const second = await waitFor(`task ${first.id} claimable again after its backoff`, async () => (await q.claim(me, [kind]))[0], 10_000, 20);
    const [claimedAt] = await sql`select locked_at >= run_after as on_time from pm_pipeline.tasks where id = ${first.id}`;
    expect(claimedAt.on_time).toBe(true);
    expect(second.attempts).toBe(2);

    expect(await q.fail(second, "transient 2")).toBe("queued");
    const wait2 = await waitOf(first.id);
    expect(wait2).toBeGreaterThan(0.95); // attempt 2: between base and 2 * base
    expect(wait2).toBeLessThanOrEqual(2);
  });

  it("honours a server's retry-after when it is longer than the backoff", async () => {
    const { kind } = await freshTask({ backoff_base_seconds: 1 });
    const q = queue(sql);
    const [task] = await q.claim(workerId(), [kind]);
    expect(await q.fail(task, "429 rate limited", { retryAfterSeconds: 30 })).toBe("queued");
    expect(await waitOf(task.id)).toBeGreaterThan(29);
  });

  it("fails a non-retryable error at once, keeps the reason and logs an event", async () => {
    const run = await createRun(sql);
    const { kind, task } = await freshTask({ max_attempts: 5 }, run);
    const q = queue(sql);
    const [claimed] = await q.claim(workerId(), [kind]);
    expect(await q.fail(claimed, "401 invalid API key", { retryable: false })).toBe("failed");
    const [row] = await sql`select state, attempts, last_error, finished_at is not null as finished from pm_pipeline.tasks where id = ${task.id}`;
    expect(row).toEqual({ state: "failed", attempts: 1, last_error: "401 invalid API key", finished: true });
    const events = await sql`select kind, message from pm_pipeline.events where task_id = ${task.id}`;
    expect(events).toEqual([{ kind: "task_failed", message: expect.stringContaining("401 invalid API key") }]);
  });

  it("ends as failed with every attempt's error once max_attempts are used up", async () => {
    const { kind, task } = await freshTask({ max_attempts: 3, backoff_base_seconds: 0.05, backoff_max_seconds: 0.1 });
    const q = queue(sql);
    const me = workerId("exhaust");
    const states = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = await waitFor(`attempt ${attempt} of task ${task.id} claimable`, async () => (await q.claim(me, [kind]))[0], 10_000, 20);
      expect(claimed.attempts).toBe(attempt);
      states.push(await q.fail(claimed, `error ${attempt}`));
    }
    expect(states).toEqual(["queued", "queued", "failed"]);
    const [row] = await sql`select state, attempts, last_error, errors from pm_pipeline.tasks where id = ${task.id}`;
    expect(row.state).toBe("failed");
    expect(row.last_error).toBe("error 3");
    expect(row.errors.map((e: { attempt: number; error: string }) => [e.attempt, e.error]))
      .toEqual([[1, "error 1"], [2, "error 2"], [3, "error 3"]]);
    // failed for good: never handed out again, not even once any backoff would be over (time moved)
    await sql`update pm_pipeline.tasks set run_after = now() - interval '1 hour' where id = ${task.id}`;
    expect(await q.claim(me, [kind])).toEqual([]);
  });

  it("a released task is claimable at once and its attempt does not count (it was cut short, not tried)", async () => {
    const { kind } = await freshTask({ max_attempts: 2 });
    const q = queue(sql);
    const [first] = await q.claim(workerId(), [kind]);
    expect(await q.release(first, "time budget spent")).toBe("queued");
    const [second] = await q.claim(workerId(), [kind]);
    expect(second.attempts).toBe(1);
    expect(second.last_error_kind).toBe("released");
    // (tests/integration/run-failures.test.ts: a task released again and again still ends failed)
  });
});
