// Every failure ends: a task that fails for good tells its run why, and the run stops waiting.
// (The old code enqueued the next discovery batch after every failed one, forever: 10,984 calls
// in 4 minutes against a provider that answered 429 insufficient_quota.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { queue, type Task } from "../../shared/queue/client.ts";
import { connect, createKind, createRun, dropKind, workerId } from "../helpers/db.ts";

const CRITERIA = { pms: "Buildium", state: "TX" };

describe("permanent failures end the run's waiting", () => {
  let sql: Sql;
  const runs: string[] = [];
  beforeAll(() => {
    sql = connect();
  });
  afterAll(async () => {
    // runs left active would hand their discovery to the next test file's workers
    for (const run of runs) await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'end of the test')`.catch(() => {});
    await sql.end();
  });

  const startRun = async (quantity = 3): Promise<string> => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, ${quantity})`;
    runs.push(run.id);
    return run.id as string;
  };
  /** Claims this run's ready task of a pipeline kind, whatever else is queued (other files' leftovers). */
  const claimOf = async (run: string, kind: string): Promise<Task> => {
    await sql`update pm_pipeline.tasks set fair_tag = -1, run_after = now()
               where run_id = ${run} and kind = ${kind} and state = 'queued'`;
    const [task] = await queue(sql).claim(workerId(), [kind]);
    expect(task).toMatchObject({ run_id: run, kind });
    return task;
  };
  const fail = async (task: Task, error: string, retryable: boolean, kind: string) =>
    (await sql`select pm_pipeline.fail_task(${task.id}, ${task.lease_token}, ${error}, ${retryable}, null, ${kind}) as state`)[0].state;
  const runOf = async (run: string) =>
    (await sql`select status, notes, discovery_failures, discovery_stopped from pm_pipeline.runs where id = ${run}`)[0];
  const tasksOf = (run: string, kind: string) =>
    sql`select state, run_after > now() as later from pm_pipeline.tasks where run_id = ${run} and kind = ${kind} order by id`;

  it("a rejected key ends the run in error after its one discovery task, with the cause and what to do", async () => {
    const run = await startRun();
    const task = await claimOf(run, "lead_list");
    const message = "OpenAI rejected the API key (401): set OPENAI_API_KEY to a valid key";
    expect(await fail(task, message, false, "auth")).toBe("failed");
    const r = await runOf(run);
    expect(r.status).toBe("error");
    expect(r.notes).toContain(message);
    expect(await tasksOf(run, "lead_list")).toEqual([{ state: "failed", later: false }]);
  });

  it("an exhausted quota stops discovery: the run asks for a decision naming the cause, and a decision resumes it", async () => {
    const run = await startRun();
    const task = await claimOf(run, "lead_list");
    const message = "OpenAI quota exhausted (429 insufficient_quota): add credit to the account or use another key";
    expect(await fail(task, message, false, "quota")).toBe("failed");
    const r = await runOf(run);
    expect(r.status).toBe("needs_user_decision");
    expect(r.notes).toContain(`discovery stopped: ${message}`);
    expect(r.discovery_stopped).toBe(message);
    expect(await tasksOf(run, "lead_list")).toHaveLength(1); // no next batch

    await sql`select pm_pipeline.decide_run(${run}, ${sql.json({ decision: "expand_location", states: ["TX", "OK"] })})`;
    expect(await runOf(run)).toMatchObject({ status: "active", discovery_failures: 0, discovery_stopped: null });
    expect((await tasksOf(run, "lead_list")).map((t) => t.state)).toEqual(["failed", "queued"]);
  });

  it("failed batches are bounded: each next batch waits a backoff, and the setting's count stops discovery", async () => {
    const [{ max }] = await sql`select max_failed_discovery_batches as max from pm_pipeline.settings`;
    const run = await startRun();
    for (let batch = 1; batch <= max; batch++) {
      const task = await claimOf(run, "lead_list");
      await sql`update pm_pipeline.tasks set max_attempts = ${task.attempts} where id = ${task.id}`; // its last attempt
      expect(await fail(task, `HTTP 500 number ${batch}`, true, "server")).toBe("failed");
      const tasks = await tasksOf(run, "lead_list");
      if (batch < max) {
        expect(tasks).toHaveLength(batch + 1);
        expect(tasks.at(-1)).toEqual({ state: "queued", later: true }); // after a backoff, not at once
        expect((await runOf(run)).status).toBe("active");
      } else {
        expect(tasks).toHaveLength(max);
      }
    }
    const r = await runOf(run);
    expect(r).toMatchObject({ status: "needs_user_decision", discovery_failures: max });
    expect(r.notes).toContain(`discovery stopped: ${max} discovery batches failed, last: HTTP 500 number ${max}`);
  });

  it("a company whose research fails for good goes to review with the error and no longer holds the run", async () => {
    const run = await startRun(1);
    const discovery = await claimOf(run, "lead_list");
    await sql`select pm_pipeline.complete_lead_list(${discovery.id}, ${discovery.lease_token},
                ${sql.json({ companies: [{ name: "Failing PM", domain: `failing-${run.slice(0, 8)}.example` }] })})`;
    const research = await claimOf(run, "company_research");
    expect(await fail(research, "company abc no longer exists", false, "invalid_input")).toBe("failed");
    const [company] = await sql`select status, rejection_reason from pm_pipeline.companies where run_id = ${run}`;
    expect(company).toEqual({ status: "review", rejection_reason: "company research failed: company abc no longer exists" });
    // the run goes on looking for a company instead of waiting for the failed one
    expect((await runOf(run)).status).toBe("active");
    expect((await tasksOf(run, "lead_list")).map((t) => t.state)).toEqual(["succeeded", "queued"]);
  });
});

describe("suppressed domains in discovery", () => {
  let sql: Sql;
  const runs: string[] = [];
  const domains: string[] = [];
  beforeAll(() => {
    sql = connect();
  });
  afterAll(async () => {
    for (const run of runs) await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'end of the test')`.catch(() => {});
    await sql`delete from pm_pipeline.suppression where domain = any(${domains})`;
    await sql.end();
  });

  const claimDiscovery = async (run: string): Promise<Task> => {
    await sql`update pm_pipeline.tasks set fair_tag = -1, run_after = now() where run_id = ${run} and kind = 'lead_list' and state = 'queued'`;
    const [task] = await queue(sql).claim(workerId(), ["lead_list"]);
    expect(task).toMatchObject({ run_id: run, kind: "lead_list" });
    return task;
  };
  const exclusions = async (task: Task) =>
    (await sql`select d from pm_pipeline.discovery_exclusions(${task.id}, ${task.lease_token}) d`).map((r) => r.d).sort();

  it("a batch emptied by a suppressed domain offered for the first time is not the end; the next batch excludes it", async () => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, 2)`;
    runs.push(run.id);
    const tag = run.id.slice(0, 8);
    const [customer, fresh] = [`customer-${tag}.example`, `fresh-${tag}.example`];
    domains.push(customer);
    await sql`insert into pm_pipeline.suppression (domain, reason) values (${customer}, 'customer')`;

    const first = await claimDiscovery(run.id);
    expect(await exclusions(first)).toEqual([]);
    await sql`select pm_pipeline.complete_lead_list(${first.id}, ${first.lease_token},
                ${sql.json({ companies: [{ name: "Customer", domain: `https://www.${customer}/` }] })})`;
    const [after] = await sql`select status, discovery_exhausted from pm_pipeline.runs where id = ${run.id}`;
    expect(after).toEqual({ status: "active", discovery_exhausted: false });
    const [{ result }] = await sql`select result from pm_pipeline.tasks where id = ${first.id}`;
    expect(result).toMatchObject({ new_companies: 0, returned: 1, suppressed: [customer] });

    // the suppressed domain is now excluded (the rest of the list never is); offered again, it ends discovery
    const second = await claimDiscovery(run.id);
    expect(await exclusions(second)).toEqual([customer]);
    await sql`select pm_pipeline.complete_lead_list(${second.id}, ${second.lease_token},
                ${sql.json({ companies: [{ name: "Fresh", domain: fresh }, { name: "Customer", domain: customer }] })})`;
    const third = await claimDiscovery(run.id);
    expect(await exclusions(third)).toEqual([customer, fresh].sort());
    await sql`select pm_pipeline.complete_lead_list(${third.id}, ${third.lease_token},
                ${sql.json({ companies: [{ name: "Customer", domain: customer }] })})`;
    expect((await sql`select discovery_exhausted from pm_pipeline.runs where id = ${run.id}`)[0].discovery_exhausted).toBe(true);
    expect((await sql`select domain from pm_pipeline.companies where run_id = ${run.id}`).map((c) => c.domain)).toEqual([fresh]);
  });

  it("discovery_exclusions is fenced: a stale lease token reads nothing", async () => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, 1)`;
    runs.push(run.id);
    const task = await claimDiscovery(run.id);
    await expect(sql`select * from pm_pipeline.discovery_exclusions(${task.id}, ${crypto.randomUUID()})`).rejects.toMatchObject({ code: "PM001" });
  });
});

describe("the queue under failure", () => {
  let sql: Sql;
  let kind: string;
  beforeAll(async () => {
    sql = connect();
    kind = await createKind(sql, { max_attempts: 2 });
  });
  afterAll(async () => {
    await dropKind(sql, kind);
    await sql.end();
  });

  it("dispatch_workers wakes nobody for the tasks of a paused run", async () => {
    await sql`update pm_pipeline.task_kinds set function_name = 'test-fn' where kind = ${kind}`;
    const run = await createRun(sql);
    await queue(sql).enqueue(kind, run, [{ key: "paused" }]);
    await sql`select pm_pipeline.set_run_status(${run}, 'needs_user_decision', 'waiting for the user')`;
    expect((await sql`select pm_pipeline.dispatch_workers(${kind}) as n`)[0].n).toBe(0);
    await sql`select pm_pipeline.resume_run(${run}, 'company_discovery', 'resumed')`;
    expect((await sql`select pm_pipeline.dispatch_workers(${kind}) as n`)[0].n).toBe(1);
    await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'done with the test')`;
    await sql`update pm_pipeline.task_kinds set function_name = null where kind = ${kind}`;
  });

  it("a released attempt does not count, but a task released again and again still ends failed", async () => {
    const q = queue(sql);
    const [task] = await q.enqueue(kind, null, [{ key: "released" }]);
    const states: string[] = [];
    const attempts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [claimed] = await q.claim(workerId(), [kind]);
      expect(claimed.id).toBe(task.id);
      states.push((await q.release(claimed, "released: time budget spent"))!);
      attempts.push((await sql`select attempts from pm_pipeline.tasks where id = ${task.id}`)[0].attempts);
    }
    // max_attempts (2) releases go uncounted; after them releases count like failures
    expect(attempts).toEqual([0, 0, 1, 2]);
    expect(states).toEqual(["queued", "queued", "queued", "failed"]);
  });

  it("a checkpoint is saved under the lease and handed to the next attempt", async () => {
    const q = queue(sql);
    const [task] = await q.enqueue(kind, null, [{ key: "checkpoint" }]);
    const [first] = await q.claim(workerId(), [kind]);
    expect(first.checkpoint).toEqual({});
    const save = async (lease: Task, value: unknown) =>
      (await sql`select pm_pipeline.save_checkpoint(${lease.id}, ${lease.lease_token}, 'answer', ${sql.json(value as never)}) as ok`)[0].ok;
    expect(await save(first, { paid: 1 })).toBe(true);
    await q.release(first, "released: shutdown");
    expect(await save(first, { zombie: true })).toBe(false); // a stale lease writes nothing
    const [second] = await q.claim(workerId(), [kind]);
    expect(second).toMatchObject({ id: task.id, checkpoint: { answer: { paid: 1 } } });
    expect(await q.complete(second)).toBe(true);
  });

  it("reservations keep concurrent workers of one run within its budget, one call each at most", async () => {
    const q = queue(sql);
    const run = await createRun(sql);
    await sql`select pm_pipeline.set_run_budget(${run}, 1.00)`;
    const [done] = await q.enqueue(kind, run, [{ key: "paid" }]);
    const [paid] = await q.claim(workerId(), [kind]);
    expect(paid.id).toBe(done.id);
    await sql`select pm_pipeline.record_usage(${paid.id}, ${sql.json({ provider: "test", calls: 1, cost_usd: 0.3 })})`;
    await q.complete(paid);
    // four workers claim at once; each reserves the average ($0.30) before its call
    await q.enqueue(kind, run, [{ key: "w1" }, { key: "w2" }, { key: "w3" }, { key: "w4" }]);
    const claimed = (await Promise.all([1, 2, 3, 4].map(() => q.claim(workerId(), [kind])))).flat();
    expect(claimed).toHaveLength(4);
    const reserved = await Promise.all(claimed.map(async (t) =>
      (await sql`select pm_pipeline.reserve_budget_or_defer(${t.id}, ${t.lease_token}) as ok`)[0].ok as boolean));
    // $0.30 spent + two reservations of $0.30 fit in $1.00; a third would not
    expect(reserved.filter(Boolean)).toHaveLength(2);
    const [r] = await sql`select status, notes from pm_pipeline.runs where id = ${run}`;
    expect(r.status).toBe("needs_user_decision");
    expect(r.notes).toMatch(/^budget reached/);
    const [costs] = await sql`select reserved_usd::float8 as reserved from pm_pipeline.v_run_costs where run_id = ${run}`;
    expect(costs.reserved).toBeCloseTo(0.6);
    await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'done with the test')`;
  });
});
