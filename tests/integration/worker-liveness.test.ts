// Worker liveness with the names and queries users know from the old system's Phase 2 report, and
// dead-worker lease release with a real killed worker process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { execFileSync } from "node:child_process";
import { queue } from "../../shared/queue/client.ts";
import { databaseUrl } from "../../scripts/lib/stack-env.ts";
import { connect, createKind, dropKind, workerId } from "../helpers/db.ts";
import { spawnFixture } from "../helpers/process.ts";

// The seed report's "Database Queries", "Verify", "Troubleshooting" and "Health Check Commands"
// statements, exactly as users type them.
const SEED_SQL = [
  "SELECT * FROM pm_pipeline.v_active_workers;",
  "SELECT * FROM pm_pipeline.v_dead_workers;",
  "SELECT * FROM pm_pipeline.get_worker_stats();",
  "SELECT * FROM pm_pipeline.cleanup_stale_workers(60);",
  "SELECT * FROM pm_pipeline.worker_heartbeats LIMIT 1;",
  "SELECT * FROM pm_pipeline.worker_heartbeats;",
  "SELECT pm_pipeline.release_dead_worker_leases();",
];
const SEED_SHELL = [
  `psql $POSTGRES_URL -c "SELECT * FROM pm_pipeline.get_worker_stats();"`,
  `psql $POSTGRES_URL -c "SELECT * FROM pm_pipeline.v_dead_workers;"`,
  `psql $POSTGRES_URL -c "SELECT pm_pipeline.release_dead_worker_leases();"`,
  `psql $POSTGRES_URL -c "SELECT * FROM pm_pipeline.v_active_workers;"`,
];

describe("worker liveness", () => {
  let sql: Sql;
  beforeAll(() => {
    sql = connect();
  });
  afterAll(() => sql.end());

  /** Makes a worker look silent for the given seconds (the clock is not ours to move). */
  const silence = (worker: string, seconds: number) =>
    sql`update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - make_interval(secs => ${seconds}) where worker_id = ${worker}`;

  it("the seed report's health-check SQL runs verbatim and shows a dead worker", async () => {
    const type = `type_${Date.now()}`;
    const dead = workerId("seed-dead");
    await sql`select from pm_pipeline.upsert_worker_heartbeat(${dead}, ${type}, 'processing')`;
    await silence(dead, 45);

    for (const statement of SEED_SQL) await sql.unsafe(statement);
    for (const command of SEED_SHELL) {
      const output = execFileSync("bash", ["-c", command], { env: { ...process.env, POSTGRES_URL: databaseUrl() } }).toString();
      expect(output).toMatch(/\(\d+ rows?\)/);
    }
    const [stats] = await sql.unsafe(`SELECT * FROM pm_pipeline.get_worker_stats() WHERE worker_type = '${type}';`);
    expect(stats).toMatchObject({ worker_type: type, total: "1", dead: "1", active: "0" });
    const deadRows = await sql`SELECT * FROM pm_pipeline.v_dead_workers WHERE worker_id = ${dead}`;
    expect(deadRows).toMatchObject([{ worker_id: dead, status: "dead" }]);
    const shown = execFileSync("bash", ["-c", SEED_SHELL[1]], { env: { ...process.env, POSTGRES_URL: databaseUrl() } }).toString();
    expect(shown).toContain(dead);
  });

  it("release_dead_worker_leases gives a killed worker's task to the next claimer", async () => {
    const kind = await createKind(sql, { lease_seconds: 600 }); // long lease: only the dead-worker check frees it
    try {
      const [task] = await queue(sql).enqueue(kind, null, [{}]);
      const worker = spawnFixture("lease-holder.ts", [kind, "200"]);
      const claimed = await worker.next("claimed");
      worker.process.kill("SIGKILL");
      expect(await queue(sql).claim(workerId(), [kind])).toEqual([]); // lease still valid for minutes

      await silence(claimed.worker as string, 31); // default threshold: dead after 30 s
      const released = await sql`select * from pm_pipeline.release_dead_worker_leases() where task_id = ${task.id}`;
      expect(released).toEqual([{
        task_id: task.id, kind, run_id: null, worker_id: claimed.worker, new_state: "queued",
        reason: expect.stringMatching(/worker died/),
      }]);
      const [row] = await sql`select status from pm_pipeline.worker_heartbeats where worker_id = ${claimed.worker as string}`;
      expect(row.status).toBe("dead");
      // idempotent: a second run releases nothing more
      expect(await sql`select * from pm_pipeline.release_dead_worker_leases() where task_id = ${task.id}`).toEqual([]);

      const [again] = await queue(sql).claim(workerId("rescuer"), [kind]);
      expect(again).toMatchObject({ id: task.id, attempts: 2 });
      expect(await queue(sql).complete({ id: task.id, lease_token: claimed.token as string })).toBe(false);
      expect(await queue(sql).complete(again)).toBe(true);
    } finally {
      await dropKind(sql, kind);
    }
  });

  it("a stopped worker's leases go back to the queue and it claims nothing more", async () => {
    const kind = await createKind(sql);
    try {
      const q = queue(sql);
      const me = workerId("stopping");
      await q.enqueue(kind, null, [{}, {}]);
      const [mine] = await q.claim(me, [kind]);
      expect(await q.stopWorker(me, "SIGTERM")).toBe(1);
      expect(await q.claim(me, [kind])).toEqual([]); // the old system kept claiming after SIGTERM
      expect(await q.complete(mine)).toBe(false);
      const [row] = await sql`select state, last_error from pm_pipeline.tasks where id = ${mine.id}`;
      expect(row).toEqual({ state: "queued", last_error: "SIGTERM" });
      await q.workerHeartbeat({ workerId: me, workerType: kind }); // a new life under the same id
      expect(await q.claim(me, [kind])).toHaveLength(1);
    } finally {
      await dropKind(sql, kind);
    }
  });

  it("cleanup_stale_workers deletes only workers silent for longer than the minutes given", async () => {
    const type = `type_${Date.now()}`;
    const old = workerId("old");
    const recent = workerId("recent");
    await sql`select from pm_pipeline.upsert_worker_heartbeat(${old}, ${type}, 'idle')`;
    await sql`select from pm_pipeline.upsert_worker_heartbeat(${recent}, ${type}, 'idle')`;
    await silence(old, 2 * 3600);
    await silence(recent, 10 * 60);
    const deleted = await sql`select worker_id from pm_pipeline.cleanup_stale_workers(60) where worker_type = ${type}`;
    expect(deleted.map((d) => d.worker_id)).toEqual([old]);
    await expect(sql`select * from pm_pipeline.cleanup_stale_workers(0)`).rejects.toThrow(/minutes must be at least 1/);
  });

  it("the pg_cron jobs are scheduled and their commands run", async () => {
    const jobs = await sql`select jobname, schedule, command from cron.job where jobname like 'pm_pipeline_%' order by jobname`;
    expect(jobs.map((j) => j.jobname)).toEqual([
      "pm_pipeline_dispatch_waiting_work", "pm_pipeline_purge_cron_history", "pm_pipeline_purge_old_rows",
      "pm_pipeline_purge_stale_workers", "pm_pipeline_release_dead_leases",
    ]);
    for (const job of jobs) await sql.unsafe(job.command);
  });
});
