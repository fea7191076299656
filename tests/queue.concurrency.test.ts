// Racing workers: many connections claim from one queue at once; no task may be claimed twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue } from "../shared/queue/client.ts";
import { connect, createKind, dropKind, workerId } from "./helpers/db.ts";

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
});
