// Claims are fair across runs and enqueue is idempotent by key.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../../shared/queue/client.ts";
import { connect, createKind, createRun, dropKind, useKind, workerId } from "../helpers/db.ts";

describe("fair claims across runs", () => {
  let sql: Sql;
  let kind: string;
  beforeAll(() => {
    sql = connect();
  });
  beforeEach(async () => {
    kind = await createKind(sql); // a queue of its own for each case
  });
  afterEach(() => dropKind(sql, kind));
  afterAll(() => sql.end());

  it("a small run enqueued after a big one is served within the first claims", async () => {
    const q = queue(sql);
    const big = await createRun(sql, 500);
    const small = await createRun(sql, 5);
    await q.enqueue(kind, big, Array.from({ length: 200 }, (_, i) => ({ payload: { i } })));
    await q.enqueue(kind, small, Array.from({ length: 5 }, (_, i) => ({ payload: { i } })));

    const me = workerId("fair");
    const order: string[] = [];
    for (let i = 0; i < 10; i++) {
      const [task] = await q.claim(me, [kind]);
      order.push(task.run_id === small ? "small" : "big");
      await q.complete(task);
    }
    // strict alternation until the small run is drained: big, small, big, small, ...
    expect(order.filter((r) => r === "small")).toHaveLength(5);
    expect(order.slice(0, 10)).toEqual(["big", "small", "big", "small", "big", "small", "big", "small", "big", "small"]);
  });

  it("a run that comes back after its earlier tasks were served joins at the head of the queue", async () => {
    const q = queue(sql);
    const early = await createRun(sql, 50);
    const late = await createRun(sql, 50);
    const me = workerId("fair2");
    await q.enqueue(kind, early, Array.from({ length: 30 }, () => ({})));
    for (let i = 0; i < 20; i++) await q.complete((await q.claim(me, [kind]))[0]);
    await q.enqueue(kind, late, Array.from({ length: 3 }, () => ({})));
    const next = [];
    for (let i = 0; i < 6; i++) {
      const [task] = await q.claim(me, [kind]);
      next.push(task.run_id === late ? "late" : "early");
      await q.complete(task);
    }
    expect(next.filter((r) => r === "late")).toHaveLength(3);
  });
});

describe("idempotent enqueue", () => {
  const fixture = useKind();

  it("the same key returns the same task and adds no row, also inside one batch", async () => {
    const { sql, kind } = fixture;
    const q = queue(sql);
    const [first] = await q.enqueue(kind, null, [{ key: "company:1", payload: { n: 1 } }]);
    const again = await q.enqueue(kind, null, [{ key: "company:1", payload: { n: 2 } }, { key: "company:2" }, { key: "company:2" }]);
    expect(again.find((t) => t.key === "company:1")?.id).toBe(first.id);
    expect(again.find((t) => t.key === "company:1")?.payload).toEqual({ n: 1 });
    const [count] = await sql`select count(*)::int as n from pm_pipeline.tasks where kind = ${kind}`;
    expect(count.n).toBe(2);
  });

  it("rejects an unknown kind with a clear error and writes nothing", async () => {
    const { sql } = fixture;
    await expect(queue(sql).enqueue("no_such_kind", null, [{}])).rejects.toThrow(/unknown task kind "no_such_kind"/);
  });
});
