// Leases under failure, with real worker processes: a SIGKILLed worker's task is re-claimed once
// its lease expires, a paused (zombie) worker can write nothing after its lease was taken, and a
// stale token can neither complete, fail, heartbeat nor release.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue, type Task } from "../../shared/queue/client.ts";
import { connect, createKind, createRun, dropKind, expireLease, waitFor, workerId } from "../helpers/db.ts";
import { spawnFixture } from "../helpers/process.ts";

const LEASE_SECONDS = 2;

const claimWhenReady = (sql: Sql, worker: string, kind: string, timeoutMs = 30_000): Promise<Task> =>
  waitFor(`a task of ${kind} to become claimable by ${worker}`, async () => (await queue(sql).claim(worker, [kind]))[0], timeoutMs);

describe("leases", () => {
  let sql: Sql;
  let kind: string;
  beforeAll(async () => {
    sql = connect();
    kind = await createKind(sql, { lease_seconds: LEASE_SECONDS, max_attempts: 5 });
  });
  afterAll(async () => {
    await dropKind(sql, kind);
    await sql.end();
  });

  it("heartbeats keep a lease alive; after SIGKILL the task is re-claimed with a new token", async () => {
    const [task] = await queue(sql).enqueue(kind, null, [{ payload: { case: "sigkill" } }]);
    const worker = spawnFixture("lease-holder.ts", [kind, "300"]);
    const claimed = await worker.next("claimed");
    expect(claimed.claimed).toBe(task.id);

    // outlive the lease twice over: only the heartbeats keep it. Heartbeats are real time, so this
    // waits (with a deadline) until the database's clock is a whole lease past the first expiry.
    const [first] = await sql`select lease_expires_at from pm_pipeline.tasks where id = ${task.id}`;
    await waitFor(`the database's clock a lease past task ${task.id}'s first expiry`, async () =>
      (await sql`select now() > ${first.lease_expires_at}::timestamptz + make_interval(secs => ${LEASE_SECONDS}) as past`)[0].past, 20_000);
    const [held] = await sql`select state, lease_token, lease_expires_at > now() as leased from pm_pipeline.tasks where id = ${task.id}`;
    expect(held).toEqual({ state: "running", lease_token: claimed.token, leased: true });
    expect(await queue(sql).claim(workerId("thief"), [kind])).toEqual([]);

    worker.process.kill("SIGKILL");
    const again = await claimWhenReady(sql, workerId("rescuer"), kind);
    expect(again.id).toBe(task.id);
    expect(again.attempts).toBe(2);
    expect(again.lease_token).not.toBe(claimed.token);
    const [row] = await sql`select errors from pm_pipeline.tasks where id = ${task.id}`;
    expect(row.errors[0]).toMatchObject({ attempt: 1, worker: claimed.worker, error: expect.stringMatching(/lease expired/) });
    expect(await queue(sql).complete(again)).toBe(true);
  });

  it("a zombie worker that wakes after its lease was taken writes nothing", async () => {
    const run = await createRun(sql);
    const [task] = await queue(sql).enqueue(kind, run, [{ payload: { case: "zombie" } }]);
    const zombie = spawnFixture("lease-holder.ts", [kind, "300"]);
    const claimed = await zombie.next("claimed");
    expect(claimed.claimed).toBe(task.id);

    zombie.process.kill("SIGSTOP"); // frozen: no heartbeats, like a stuck isolate
    // its lease ends now instead of in LEASE_SECONDS (again, if a heartbeat sent before the stop renews it)
    const rescuerId = workerId("rescuer");
    const rescuer = await waitFor(`task ${task.id} claimable by the rescuer once the zombie's lease is over`, async () =>
      (await expireLease(sql, task.id)) && (await queue(sql).claim(rescuerId, [kind]))[0]);
    expect(rescuer.id).toBe(task.id);
    await sql.begin(async (tx) => {
      await tx`select from pm_pipeline.add_companies(${rescuer.id}, ${rescuer.lease_token}, ${tx.json([{ name: "Rescued", domain: "rescued.example" }])})`;
      expect(await queue(tx).complete(rescuer, { by: "rescuer" })).toBe(true);
    });

    zombie.process.kill("SIGCONT");
    expect(await zombie.next("lost")).toEqual({ lost: task.id });
    zombie.send("finish zombie.example");
    expect(await zombie.next("error")).toEqual({ error: "PM001" });

    const companies = await sql`select domain from pm_pipeline.companies where run_id = ${run}`;
    expect(companies.map((c) => c.domain)).toEqual(["rescued.example"]);
    const [row] = await sql`select state, result, attempts from pm_pipeline.tasks where id = ${task.id}`;
    expect(row).toEqual({ state: "succeeded", result: { by: "rescuer" }, attempts: 2 });
  });

  it("a stale token can neither complete, fail, heartbeat nor release", async () => {
    const q = queue(sql);
    await q.enqueue(kind, null, [{}]);
    const first = await claimWhenReady(sql, workerId("first"), kind);
    expect(await expireLease(sql, first.id)).toBe(true); // its lease runs out with no heartbeat
    expect(await q.heartbeat(first)).toBeNull(); // expired: cannot be renewed
    const second = await claimWhenReady(sql, workerId("second"), kind);
    expect(second.id).toBe(first.id);

    const before = await sql`select * from pm_pipeline.tasks where id = ${first.id}`;
    expect(await q.complete(first, { stale: true })).toBe(false);
    expect(await q.fail(first, "stale failure")).toBeNull();
    expect(await q.heartbeat(first)).toBeNull();
    expect(await q.release(first, "stale release")).toBeNull();
    const after = await sql`select * from pm_pipeline.tasks where id = ${first.id}`;
    expect(after).toEqual(before);

    expect(await q.complete(second)).toBe(true);
  });
});
