// A provider that refuses everything for good, as a new user meets it: the real CLI starts a run,
// the real functions call a local server speaking the Responses API, and the run must end after
// exactly one provider call with the cause named (the old code made 10,984 calls in 4 minutes).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Sql } from "postgres";
import { loadStackEnv, repoRoot } from "../../scripts/lib/stack-env.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI, replies, type FakeReply } from "../helpers/fake-openai.ts";

const BIN = join(repoRoot, "bin/pm-leads.mjs");

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("a provider that refuses every call for good", () => {
  const stack = loadStackEnv();
  let sql: Sql;
  let fake: FakeOpenAI;
  let host: Host | null = null;

  beforeAll(async () => {
    sql = connect();
    fake = await FakeOpenAI.start();
  });
  afterEach(async () => {
    await host?.stop();
    host = null;
  });
  afterAll(async () => {
    await fake.close();
    await sql.end();
  });

  async function runAgainst(reply: FakeReply) {
    fake.reset();
    fake.respondWith(() => reply);
    host = await startHost(`refusal${Date.now().toString(36)}`, {
      ...FAST_WORKERS, PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-test-refused", OPENAI_BASE_URL: fake.baseURL,
    });
    const api = { SUPABASE_URL: host.url.replace(/\/functions\/v1$/, ""), SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY };
    const result = await cli(["run", "--criteria", JSON.stringify({ pms: "Buildium", state: "TX" }), "--quantity", "3", "--json"], api);
    const run = JSON.parse(result.stdout);
    const calls = fake.requests.length;
    // nothing more happens: every worker of the host stops, with no further call
    await waitFor("the host's workers to stop", async () => (await sql`
      select count(*)::int as n from pm_pipeline.worker_heartbeats
       where worker_id like ${host!.name + "-%"} and status in ('active', 'idle', 'processing')`)[0].n === 0);
    return { result, run, calls, callsLater: fake.requests.length };
  }

  it("a rejected key (401): the run ends in error after one call, and the CLI says to set OPENAI_API_KEY (exit 1)", async () => {
    const { result, run, calls, callsLater } = await runAgainst(replies.unauthorized());
    expect(result.code).toBe(1);
    expect(run.status).toBe("error");
    expect(run.notes).toMatch(/401/);
    expect(run.notes).toMatch(/OPENAI_API_KEY/);
    expect(run.notes).not.toContain("sk-test-refused");
    expect(result.stderr).toMatch(/OPENAI_API_KEY/);
    expect(calls).toBe(1);
    expect(callsLater).toBe(1);
  });

  it("an exhausted quota (429 insufficient_quota): the run asks for a decision after one call, naming the cause (exit 3)", async () => {
    const { result, run, calls, callsLater } = await runAgainst(replies.insufficientQuota());
    expect(result.code).toBe(3);
    expect(run.status).toBe("needs_user_decision");
    expect(run.notes).toMatch(/discovery stopped: .*insufficient_quota/);
    expect(result.stderr).toMatch(/insufficient_quota/);
    expect(calls).toBe(1);
    expect(callsLater).toBe(1);
    const [tasks] = await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${run.id}`;
    expect(tasks.n).toBe(1);
  });
});
