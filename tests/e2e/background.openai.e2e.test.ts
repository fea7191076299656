// Background mode on the real functions host (PM_LEADS_OPENAI_BACKGROUND=on) against the fake
// Responses API: a discovery call that lasts longer than the worker's time budget is created once and
// finished by later invocations; a worker killed mid-poll leaves the response to the next one; a
// cancelled run cancels its responses. Discovery only (it finds nothing, so the run has no research
// tasks): the PMS check's 30 s deadline would not fit the short budgets used here.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { connect, saveQueueSettings, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI, replies } from "../helpers/fake-openai.ts";
import { apiClient, call } from "../helpers/api.ts";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";

const CRITERIA = { pms: "Buildium", state: "TX" };

describe("OpenAI background mode on the functions host", () => {
  let sql: Sql;
  let fake: FakeOpenAI;
  let restore: () => Promise<void>;
  const hosts: Host[] = [];
  const runs: string[] = [];

  /** A host whose workers send every call in the background, with `budget` seconds per invocation. */
  async function host(label: string, budget: number): Promise<Host> {
    const started = await startHost(`bg${label}${Date.now().toString(36)}`, {
      ...FAST_WORKERS, PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-test-local", OPENAI_BASE_URL: fake.baseURL,
      PM_LEADS_OPENAI_BACKGROUND: "on", PM_LEADS_OPENAI_TIMEOUT_MS: "2000",
      WORKER_TIME_BUDGET_SECONDS: String(budget), WORKER_MIN_TASK_SECONDS: "1",
    });
    hosts.push(started);
    return started;
  }

  beforeAll(async () => {
    sql = connect();
    fake = (await FakeOpenAI.start()).respondWith(replies.json({ companies: [], exhausted: true }));
    restore = await saveQueueSettings(sql, ["lead_list"]);
    // a killed worker's lease ends soon
    await sql`update pm_pipeline.task_kinds set lease_seconds = 3 where kind = 'lead_list'`;
  });
  afterEach(async () => {
    // no run of this file stays active: another file's workers would take its tasks
    for (const id of runs.splice(0)) await sql`select pm_pipeline.cancel_run(${id})`.catch(() => {});
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
    fake.reset();
  });
  afterAll(async () => {
    await restore();
    await fake.close();
    await sql.end();
  });

  const creates = () => fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");
  const startRun = async () => {
    const id = (await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, 2)`)[0].id as string;
    runs.push(id);
    return id;
  };
  const discovery = async (runId: string) => (await sql`
    select id, state, attempts, errors, checkpoint from pm_pipeline.tasks where run_id = ${runId} and kind = 'lead_list' order by id limit 1`)[0];
  const openId = async (runId: string) => waitFor("the discovery's response id in its checkpoint", async () =>
    ((await discovery(runId))?.checkpoint?.["openai_response:discovery"]?.id as string | undefined) ?? false, 30_000, 100);
  const usageRows = async (taskId: string) =>
    (await sql`select count(*)::int as rows, coalesce(sum(calls), 0)::int as calls from pm_pipeline.provider_usage where task_id = ${taskId}`)[0];

  it("a call longer than the time budget completes across several invocations, one response billed once", async () => {
    fake.background.durationMs = 8_000; // more than two budgets of 3 s
    await host("a", 3);
    const runId = await startRun();
    const id = await openId(runId);
    const task = await waitFor("the discovery to succeed", async () => {
      const t = await discovery(runId);
      return t.state === "succeeded" && t;
    }, 60_000, 200);

    expect(creates()).toHaveLength(1);
    expect(creates()[0].body).toMatchObject({ background: true, store: true });
    const polls = fake.requests.filter((r) => r.method === "GET");
    expect(polls.length).toBeGreaterThan(1);
    expect(polls.every((p) => p.path.startsWith(`/v1/responses/${id}`))).toBe(true);
    // it took more than one invocation: released by the budget, not failed (the attempts did not count)
    const released = (task.errors as { error: string }[]).filter((e) => /released: time budget spent/.test(e.error));
    expect(released.length).toBeGreaterThanOrEqual(1);
    expect(task.attempts).toBe(1);
    expect(await usageRows(task.id)).toEqual({ rows: 1, calls: 1 });
    expect(fake.background.cancels).toEqual([]);
  });

  it("a worker killed mid-poll (SIGKILL) leaves its response to the next worker: one POST, one usage row", async () => {
    fake.background.durationMs = 6_000;
    const first = await host("k1", 60);
    const runId = await startRun();
    const id = await openId(runId);
    await waitFor("a poll of the response", async () => fake.requests.some((r) => r.method === "GET"), 10_000, 50);
    first.process.kill("SIGKILL");
    await new Promise((resolve) => first.process.once("exit", resolve));

    await host("k2", 60);
    // (the killed worker's lease expires, and its heartbeat row goes stale before the kind's
    // concurrency lets another worker start: up to ~30 s)
    const task = await waitFor("the discovery to succeed on the second host", async () => {
      const t = await discovery(runId);
      return t.state === "succeeded" && t;
    }, 90_000, 200);
    expect(creates()).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method === "GET").every((p) => p.path.startsWith(`/v1/responses/${id}`))).toBe(true);
    expect(await usageRows(task.id)).toEqual({ rows: 1, calls: 1 });
  });

  it("cancelling a run through the API cancels its responses at the provider; the cancelled response is not used", async () => {
    fake.background.durationMs = 120_000;
    const api = await host("c", 60);
    const runId = await startRun();
    const id = await openId(runId);
    // and one the provider no longer knows (its cancel fails): an event says so
    await sql`update pm_pipeline.tasks set checkpoint = checkpoint || ${sql.json({ "openai_response:contact_search": { id: "resp_unknown", created_at: 1 } })}
               where id = ${(await discovery(runId)).id}`;
    const answer = await call(apiClient(api.url, loadStackEnv().SUPABASE_SERVICE_ROLE_KEY), `runs/${runId}/cancel`, { method: "POST" });
    expect(answer.status).toBe(200);
    expect(fake.background.cancels.filter((c) => c === id)).toEqual([id]);
    expect(fake.background.cancels.filter((c) => c === "resp_unknown")).toHaveLength(2); // tried twice
    const [event] = await sql`select kind, data from pm_pipeline.events where run_id = ${runId} and kind = 'provider_responses_cancelled'`;
    expect(event.data).toMatchObject({ cancelled: 1, failed: 1 });
    const [failed] = await sql`select message, data from pm_pipeline.events where run_id = ${runId} and kind = 'provider_cancel_failed'`;
    expect(failed.message).toMatch(/could not cancel OpenAI response resp_unknown .*404/);
    expect(failed.data).toMatchObject({ response_id: "resp_unknown", call: "openai_response:contact_search" });
    // the worker polling it sees it cancelled: the task ends with its run, nothing of it written
    const task = await waitFor("the discovery to end", async () => {
      const t = await discovery(runId);
      return t.state !== "running" && t.state !== "queued" && t;
    }, 30_000, 200);
    expect(task.state).toBe("cancelled");
    expect((await sql`select count(*)::int as n from pm_pipeline.companies where run_id = ${runId}`)[0].n).toBe(0);
    expect(creates()).toHaveLength(1);
  });

  it("a run cancelled where the run API does not see it (cancel_run in SQL): the worker polling its response cancels it", async () => {
    fake.background.durationMs = 120_000;
    await host("w", 60);
    const runId = await startRun();
    const id = await openId(runId);
    await sql`select pm_pipeline.cancel_run(${runId})`;
    await waitFor("the worker to cancel the response", async () => fake.background.cancels.includes(id), 20_000, 100);
    const task = await waitFor("the discovery to end", async () => {
      const t = await discovery(runId);
      return t.state !== "running" && t.state !== "queued" && t;
    }, 20_000, 200);
    expect(task.state).toBe("cancelled");
    expect(task.checkpoint["openai_response:discovery"]).toBeNull();
    expect((await sql`select count(*)::int as n from pm_pipeline.run_open_responses(${runId})`)[0].n).toBe(0);
    expect(creates()).toHaveLength(1);
  });
});
