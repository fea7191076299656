// Racing workers: many connections claim from one queue at once; no task may be claimed twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../../shared/queue/client.ts";
import { connect, createKind, dropKind, workerId } from "../helpers/db.ts";

const TASKS = 600;
const WORKERS = 8;

describe("concurrent claimers", () => {
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

  it(`${WORKERS} connections drain ${TASKS} tasks and never claim the same task twice`, async () => {
    await queue(admin).enqueue(kind, null, Array.from({ length: TASKS }, (_, i) => ({ payload: { i } })));

    const claims: string[] = [];
    const perWorker = await Promise.all(workers.map(async (sql, w) => {
      const q = queue(sql);
      const me = workerId(`race${w}`);
      let mine = 0;
      for (;;) {
        // mixed batch sizes so single and batch claims race each other
        const batch = await q.claim(me, [kind], 1 + ((mine + w) % 7));
        if (batch.length === 0) return mine;
        claims.push(...batch.map((t) => t.id));
        mine += batch.length;
        if (batch.length === 1) expect(await q.complete(batch[0])).toBe(true);
        else expect(await q.completeMany(batch)).toHaveLength(batch.length);
      }
    }));

    expect(claims).toHaveLength(TASKS);
    expect(new Set(claims).size).toBe(TASKS);
    // every worker got some of the work: the claims really raced
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1);
    const [done] = await admin`
      select count(*) filter (where state = 'succeeded' and attempts = 1)::int as once,
             count(*)::int as total
        from pm_pipeline.tasks where kind = ${kind}`;
    expect(done).toEqual({ once: TASKS, total: TASKS });
  });

  // Found by a CI run: `pm-leads cancel` right after `pm-leads run` answered 500 (deadlock). The
  // user's call locked the run and waited for the task row a worker had just claimed, while the
  // claim's heartbeat (it names the run) waited for the run's lock. This replays that order.
  it("a user's action on a run and a worker's claim of the run's task never deadlock", async () => {
    const [{ id: run }] = await admin`select (pm_pipeline.start_run(${admin.json({ pms: "AppFolio", state: "FL" })}, 5)).id`;
    await queue(admin).enqueue(kind, run, [{ payload: {} }]);
    const user = await admin.reserve();
    const worker = await admin.reserve();
    try {
      await user`begin`;
      await user`select pm_pipeline.decide_run(${run}, ${admin.json({ decision: "set_budget", budget_usd: 5 })})`; // holds the run
      await worker`begin`;
      await worker`set local lock_timeout = '5s'`;
      const claimed = await worker`select * from pm_pipeline.claim_tasks(${workerId("deadlock")}, ${[kind]}, 1)`;
      expect(claimed).toHaveLength(1);
      const cancelling = user`select pm_pipeline.cancel_run(${run})`; // may wait for the claimed row, not the other way round
      await worker`commit`;
      await cancelling;
      await user`commit`;
    } finally {
      await user`rollback`.catch(() => {});
      await worker`rollback`.catch(() => {});
      user.release();
      worker.release();
    }
    const [after] = await admin`
      select r.status::text, t.state::text as task from pm_pipeline.runs r join pm_pipeline.tasks t on t.run_id = r.id and t.kind = ${kind}
       where r.id = ${run}`;
    expect(after).toEqual({ status: "cancelled", task: "running" }); // the claim stands; its result will be refused
  });
});

