// A run's budget: usage is recorded per call and summed per run; when the next call would exceed
// the budget the run stops for a decision, its tasks wait untried, and raising the budget resumes it.
import { describe, expect, it } from "vitest";
import { queue } from "../../shared/queue/client.ts";
import { createRun, useKind, workerId } from "../helpers/db.ts";

describe("run budget", () => {
  const fixture = useKind();

  it("stops the run before a call that would exceed it, keeps its work, and resumes when raised", async () => {
    const { sql, kind } = fixture;
    const run = await createRun(sql);
    const q = queue(sql);
    await q.enqueue(kind, run, [{ key: "a" }, { key: "b" }]);
    await sql`select pm_pipeline.set_run_budget(${run}, 1.00)`;

    const [first] = await q.claim(workerId(), [kind]);
    await sql`select pm_pipeline.record_usage(${first.id}, ${sql.json({ provider: "openai", model: "gpt-5-mini", calls: 1, input_tokens: 1200, output_tokens: 300, web_searches: 2, cost_usd: 0.6 })})`;
    expect(await q.complete(first)).toBe(true);
    const [cost] = await sql`select calls, web_searches, cost_usd::float8 as cost, budget_usd::float8 as budget from pm_pipeline.v_run_costs where run_id = ${run}`;
    expect(cost).toEqual({ calls: 1, web_searches: 2, cost: 0.6, budget: 1 });

    // the next call is estimated at $0.60: 0.60 + 0.60 > 1.00
    const [second] = await q.claim(workerId(), [kind]);
    const [reserved] = await sql`select pm_pipeline.reserve_budget_or_defer(${second.id}, ${second.lease_token}) as ok`;
    expect(reserved.ok).toBe(false); // one call: the run stops and the task goes back
    const [paused] = await sql`select status, decision_reason, notes from pm_pipeline.runs where id = ${run}`;
    expect(paused).toMatchObject({ status: "needs_user_decision", decision_reason: "budget_reached" });
    expect(paused.notes).toMatch(/^budget reached: spent \$0\.6000? of \$1\.0+/);
    const [row] = await sql`select state, attempts from pm_pipeline.tasks where id = ${second.id}`;
    expect(row).toEqual({ state: "queued", attempts: 0 }); // untried: the attempt does not count
    expect(await q.claim(workerId(), [kind])).toEqual([]); // a paused run hands out no work

    const [status] = await sql`select pm_pipeline.set_run_budget(${run}, 5) as status`;
    expect(status.status).toBe("active");
    const [again] = await q.claim(workerId(), [kind]);
    expect(again).toMatchObject({ id: second.id, attempts: 1 });
    const events = await sql`select kind from pm_pipeline.events where run_id = ${run} order by id`;
    expect(events.map((e) => e.kind)).toEqual(["run_created", "budget_changed", "status_changed", "budget_changed", "run_resumed"]);
  });

  it("refuses a negative budget and writes nothing", async () => {
    const { sql } = fixture;
    const run = await createRun(sql);
    await expect(sql`select pm_pipeline.set_run_budget(${run}, -1)`).rejects.toMatchObject({ code: "22023" });
    const [r] = await sql`select budget_usd from pm_pipeline.runs where id = ${run}`;
    expect(r.budget_usd).toBeNull();
  });
});
