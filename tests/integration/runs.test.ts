// A run's stage and status move only forward, through compare-and-set functions; bad input gets
// a clear error and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../../shared/queue/client.ts";
import { connect, createKind, createRun, dropKind, workerId } from "../helpers/db.ts";

describe("run lifecycle", () => {
  let sql: Sql;
  beforeAll(() => {
    sql = connect();
  });
  afterAll(() => sql.end());

  const runRow = async (id: string) =>
    (await sql`select stage, status from pm_pipeline.runs where id = ${id}`)[0];

  it("stage moves forward only, and a late worker cannot drag it back", async () => {
    const run = await createRun(sql);
    const advance = async (stage: string) =>
      (await sql`select pm_pipeline.advance_run_stage(${run}, ${stage}) as moved`)[0].moved;
    expect(await advance("company_research")).toBe(true);
    expect(await advance("contact_discovery")).toBe(true);
    expect(await advance("company_research")).toBe(false); // the late worker
    expect(await advance("contact_discovery")).toBe(false);
    expect(await runRow(run)).toEqual({ stage: "contact_discovery", status: "active" });
    // not even a direct UPDATE (Studio, psql) can move it back
    await expect(sql`update pm_pipeline.runs set stage = 'company_discovery' where id = ${run}`)
      .rejects.toThrow(/stage cannot move backwards from contact_discovery to company_discovery/);
    await expect(sql`select pm_pipeline.advance_run_stage(${run}, 'done')`).rejects.toThrow(/only by completing/);
  });

  it("completed is final: no status or stage change afterwards", async () => {
    const run = await createRun(sql);
    const [r] = await sql`select pm_pipeline.set_run_status(${run}, 'completed', 'target met') as changed`;
    expect(r.changed).toBe(true);
    expect(await runRow(run)).toEqual({ stage: "done", status: "completed" });
    await expect(sql`select pm_pipeline.set_run_status(${run}, 'active', 'again')`)
      .rejects.toThrow(/status cannot move from completed to active/);
    await expect(sql`update pm_pipeline.runs set status = 'error' where id = ${run}`)
      .rejects.toThrow(/status cannot move from completed to error/);
    const [moved] = await sql`select pm_pipeline.advance_run_stage(${run}, 'company_research') as moved`;
    expect(moved.moved).toBe(false);
    expect(await runRow(run)).toEqual({ stage: "done", status: "completed" });
  });

  it("set_run_status is compare-and-set: a stale expectation changes nothing", async () => {
    const run = await createRun(sql);
    await sql`select pm_pipeline.set_run_status(${run}, 'needs_user_decision', 'only 3 of 10 found')`;
    const [stale] = await sql`select pm_pipeline.set_run_status(${run}, 'error', 'stale', 'active') as changed`;
    expect(stale.changed).toBe(false);
    expect(await runRow(run)).toEqual({ stage: "company_discovery", status: "needs_user_decision" });
    const [resumed] = await sql`select pm_pipeline.resume_run(${run}, 'company_discovery', 'expand location: TX, OK') as ok`;
    expect(resumed.ok).toBe(true);
    expect((await runRow(run)).status).toBe("active");
    const events = await sql`select kind from pm_pipeline.events where run_id = ${run} order by id`;
    expect(events.map((e) => e.kind)).toEqual(["run_created", "status_changed", "run_resumed"]);
  });

  it("cancelling a run cancels its queued tasks, and nothing new is enqueued for it", async () => {
    const kind = await createKind(sql);
    try {
      const run = await createRun(sql);
      const q = queue(sql);
      await q.enqueue(kind, run, [{}, {}, {}]);
      const [running] = await q.claim(workerId(), [kind]);
      await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'user cancelled')`;
      const states = await sql`select state, count(*)::int as n from pm_pipeline.tasks where run_id = ${run} group by state order by state`;
      expect(states).toEqual([{ state: "running", n: 1 }, { state: "cancelled", n: 2 }]);
      expect(await q.enqueue(kind, run, [{ key: "late" }])).toEqual([]);
      expect(await q.complete(running)).toBe(true); // the running one may still finish; its writes are its own
    } finally {
      await dropKind(sql, kind);
    }
  });

  it("an idempotency key returns the same run", async () => {
    const key = `key-${Date.now()}-${Math.random()}`;
    const create = () => sql`select id from pm_pipeline.create_run(${sql.json({ pms: "AppFolio", state: "CO" })}, 5, 1, 3, ${key})`;
    const [a] = await create();
    const [b] = await create();
    expect(b.id).toBe(a.id);
    const [count] = await sql`select count(*)::int as n from pm_pipeline.runs where idempotency_key = ${key}`;
    expect(count.n).toBe(1);
  });

  it.each([
    [{ pms: "Buildium", state: "TX", colour: "red" }, 10, /unknown criteria field "colour"/],
    [{ state: 48 }, 10, /state must be a string/],
    [{ units_min: 500, units_max: 100 }, 10, /units_min \(500\) is greater than units_max \(100\)/],
    [{ units_min: -1 }, 10, /units_min must be a whole number/],
    [{ units_min: 1.5 }, 10, /units_min must be a whole number/],
    [{ pms: ["Buildium", 7] }, 10, /pms must be a string, a list of strings or null/],
    [{ city: "" }, 10, /1 to 100 characters/],
    [[], 10, /criteria must be a JSON object/],
    [{ state: "TX" }, 0, /invalid quantity 0/],
    [{ state: "TX" }, 1001, /invalid quantity 1001/],
  ])("rejects criteria %j with quantity %i clearly and writes nothing", async (criteria, quantity, message) => {
    const note = `rejected-${Math.random()}`;
    const attempt = sql`select pm_pipeline.create_run(${sql.json(criteria)}, ${quantity}, 1, 3, null, ${note})`;
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: "22023" });
    const [written] = await sql`select count(*)::int as n from pm_pipeline.runs where notes = ${note}`;
    expect(written.n).toBe(0);
  });
});
