// A run from criteria to contacts through the real pieces: PostgreSQL with the migrations, the
// functions host running the real Edge Function files under the pinned Deno, NOTIFY dispatch and
// HTTP between them, the offline provider. Workers are killed, paused and fed faults.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JSONValue, Sql } from "postgres";
import type { Criteria } from "../../shared/domain/schemas.ts";
import { connect, saveQueueSettings, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";

const KINDS = ["lead_list", "company_research", "contact_research"];
// With FAST_WORKERS: leases 2 s (30 s), dead after 3 s (30 s), so a crashed worker's task comes back in seconds.
const LEASE_SECONDS = 2;

interface Progress {
  status: string;
  stage: string;
  ready: number;
  accepted: number;
  notes: string | null;
}

describe("pipeline end to end", () => {
  let sql: Sql;
  const hosts: Host[] = [];
  let restoreSettings: () => Promise<void>;

  beforeAll(async () => {
    sql = connect();
    restoreSettings = await saveQueueSettings(sql, KINDS);
    await sql`update pm_pipeline.task_kinds set lease_seconds = ${LEASE_SECONDS}, backoff_base_seconds = 0.2 where kind = any(${KINDS})`;
    await sql`update pm_pipeline.settings set heartbeat_interval_seconds = 1, dead_worker_after_seconds = 3`;
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
  });
  afterAll(async () => {
    await restoreSettings();
    await sql.end();
  });

  async function host(name: string, env: Record<string, string> = {}) {
    const started = await startHost(name, { ...FAST_WORKERS, ...env });
    hosts.push(started);
    return started;
  }

  async function startRun(criteria: Criteria, quantity: number): Promise<string> {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(criteria as JSONValue)}, ${quantity})`;
    return run.id;
  }

  async function waitForEnd(runId: string, timeoutMs = 60_000): Promise<Progress> {
    let last: Progress | undefined;
    return waitFor(() => `run ${runId} to end (last seen: ${JSON.stringify(last)})`, async () => {
      [last] = await sql<Progress[]>`select * from pm_pipeline.v_run_progress where run_id = ${runId}`;
      return last.status !== "active" && last;
    }, timeoutMs);
  }

  /** The first task of the run that a worker of `prefix` holds (polled often: tasks are short). */
  const heldBy = (runId: string, prefix: string) =>
    waitFor(`a task of run ${runId} held by a ${prefix} worker`, async () => {
      const [task] = await sql<{ id: string; kind: string }[]>`select id, kind from pm_pipeline.tasks
                          where run_id = ${runId} and state = 'running' and locked_by like ${`${prefix}-%`} limit 1`;
      return task;
    }, 30_000, 20);

  /** The run's leads are whole and have no duplicates of any kind. */
  async function expectCleanLeads(runId: string, quantity: number) {
    const [c] = await sql`
      select count(*)::int as companies, count(distinct domain)::int as domains
        from pm_pipeline.companies where run_id = ${runId} and status = 'accepted'`;
    expect(c).toEqual({ companies: quantity, domains: quantity });
    const [r] = await sql`
      select count(*)::int as rows, count(distinct company_id)::int as companies
        from pm_pipeline.company_research where run_id = ${runId}`;
    expect(r.rows).toBe(r.companies);
    const perCompany = await sql`
      select c.domain, count(ct.id)::int as contacts, count(distinct lower(ct.email))::int as emails
        from pm_pipeline.companies c left join pm_pipeline.contacts ct on ct.company_id = c.id
       where c.run_id = ${runId} and c.status = 'accepted' group by c.domain`;
    for (const row of perCompany) {
      expect(row.contacts).toBeGreaterThanOrEqual(1);
      expect(row.contacts).toBeLessThanOrEqual(3);
      expect(row.emails).toBe(row.contacts);
    }
    const [t] = await sql`select count(*)::int as open from pm_pipeline.tasks where run_id = ${runId} and state in ('queued', 'running')`;
    expect(t.open).toBe(0);
  }

  it("a 10-company run reaches completed with 10 companies and 1-3 contacts each", async () => {
    await host("plain");
    const run = await startRun({ pms: "Buildium", state: "TX" }, 10);
    const end = await waitForEnd(run);
    expect(end).toMatchObject({ status: "completed", stage: "done", ready: 10, accepted: 10 });
    await expectCleanLeads(run, 10);
    const [pms] = await sql`
      select array_agg(distinct r.pms) as pms, array_agg(distinct r.pms_confidence) as confidence
        from pm_pipeline.companies c join pm_pipeline.company_research r on r.company_id = c.id
       where c.run_id = ${run} and c.status = 'accepted'`;
    expect(pms).toEqual({ pms: ["Buildium"], confidence: ["high"] }); // verified in code, not trusted
  });

  it("completes with 20% injected transient faults, and records the retried attempts", async () => {
    await host("faulty", {
      PM_LEADS_OFFLINE_FAULTS: "rate_limit=0.07,server_error=0.07,timeout=0.06,timeout_ms=200,retry_after_ms=50",
    });
    const run = await startRun({ pms: "AppFolio", state: "CO" }, 10);
    expect(await waitForEnd(run, 90_000)).toMatchObject({ status: "completed", ready: 10 });
    await expectCleanLeads(run, 10);
    const [retried] = await sql`
      select count(*)::int as tasks from pm_pipeline.tasks
       where run_id = ${run} and (jsonb_array_length(coalesce(result->'attempts', '[]')) > 0 or attempts > 1)`;
    expect(retried.tasks).toBeGreaterThan(0);
  });

  it("a SIGKILLed worker's task is re-claimed after its lease expires; the run completes without duplicates", async () => {
    const victim = await host("victim", { PM_LEADS_OFFLINE_LATENCY_MS: "300" });
    await host("survivor", { PM_LEADS_OFFLINE_LATENCY_MS: "300" });
    const run = await startRun({ pms: "Buildium", state: "FL" }, 10);
    const held = await heldBy(run, "victim");
    victim.process.kill("SIGKILL");

    expect(await waitForEnd(run, 90_000)).toMatchObject({ status: "completed", ready: 10 });
    await expectCleanLeads(run, 10);
    const [task] = await sql`select state, attempts, errors from pm_pipeline.tasks where id = ${held.id}`;
    expect(task.state).toBe("succeeded");
    expect(task.attempts).toBeGreaterThanOrEqual(2);
    expect(task.errors[0]).toMatchObject({ worker: expect.stringMatching(/^victim-/), error: expect.stringMatching(/lease expired|worker died/) });
  });

  it("a paused (zombie) worker that wakes after its lease was taken writes nothing", async () => {
    const zombie = await host("zombie", { PM_LEADS_OFFLINE_LATENCY_MS: "300" });
    await host("rescuer", { PM_LEADS_OFFLINE_LATENCY_MS: "300" });
    const run = await startRun({ pms: "Buildium", state: "AZ" }, 10);
    await heldBy(run, "zombie");
    zombie.process.kill("SIGSTOP");
    expect(await waitForEnd(run, 90_000)).toMatchObject({ status: "completed", ready: 10 });
    const before = await sql`select count(*)::int as n from pm_pipeline.companies where run_id = ${run}
                             union all select count(*)::int from pm_pipeline.contacts where run_id = ${run}
                             union all select count(*)::int from pm_pipeline.company_research where run_id = ${run}`;
    zombie.process.kill("SIGCONT"); // it finishes its provider call and tries to commit
    await waitFor("the zombie to log that it lost its lease", () => /lease lost/.test(zombie.output()), 20_000);
    expect(zombie.output()).toMatch(/"event":"lease lost","task":"\d+"/);
    const after = await sql`select count(*)::int as n from pm_pipeline.companies where run_id = ${run}
                            union all select count(*)::int from pm_pipeline.contacts where run_id = ${run}
                            union all select count(*)::int from pm_pipeline.company_research where run_id = ${run}`;
    expect(after).toEqual(before);
    await expectCleanLeads(run, 10);
  });

  it("a run that cannot be filled ends in needs_user_decision with what is missing and why", async () => {
    await host("small-market");
    // a city is a small market: far fewer Buildium companies with 100-2,000 units than asked for
    const run = await startRun({ pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 }, 40);
    const end = await waitForEnd(run);
    expect(end.status).toBe("needs_user_decision");
    expect(end.ready).toBeLessThan(40);
    expect(end.notes).toMatch(new RegExp(`found ${end.ready} of 40 companies`));
    expect(end.notes).toMatch(/discovery found no more companies/);
    expect(end.notes).toMatch(/rejected \(.*(uses|outside|disqualified)/);
    expect(end.notes).toMatch(/Options: accept_partial, expand_location, loosen_pms/);
  });
});
