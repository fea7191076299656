// The local functions host reads the function secrets from an env file as `supabase functions serve`
// does (supabase/functions/.env, or the file PM_LEADS_FUNCTIONS_ENV_FILE names): a run then calls
// the provider with the file's key. What the host's own environment has wins; SUPABASE_ names in the
// file are skipped. And a host started by a test never reads the developer's file.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI, replies } from "../helpers/fake-openai.ts";
import { apiClient, call } from "../helpers/api.ts";

describe("the functions host's env file", () => {
  const stack = loadStackEnv();
  const dir = mkdtempSync(join(tmpdir(), "pm-leads-env-file-"));
  const envFile = join(dir, ".env");
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
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a host on `file` (the provider's settings not set by the test), runs a run, returns the key the provider was called with. */
  async function keyOfARun(file: string, env: Record<string, string | undefined> = {}): Promise<string | undefined> {
    fake.reset();
    fake.respondWith(() => replies.unauthorized()); // one call, then the run ends in error
    host = await startHost(`envfile${Date.now().toString(36)}`, {
      ...FAST_WORKERS, PM_LEADS_FUNCTIONS_ENV_FILE: file, PM_LEADS_PROVIDER: undefined, OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, ...env,
    });
    const api = apiClient(host.url, stack.SUPABASE_SERVICE_ROLE_KEY);
    const created = await call(api, "runs", { method: "POST", body: { criteria: { pms: "Buildium", state: "TX" }, quantity: 1 } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [run] = await waitFor(`run ${created.body.id} to end`, async () => {
      const rows = await sql`select status from pm_pipeline.runs where id = ${created.body.id} and status <> 'active'`;
      return rows.length ? rows : null;
    });
    expect(run.status).toBe("error");
    expect(fake.requests.length).toBe(1);
    return fake.requests[0].headers.authorization?.replace(/^Bearer /, "");
  }

  it("a host started with an env file calls the provider with the file's key; SUPABASE_ names in it are skipped", async () => {
    writeFileSync(envFile, [
      "# as a developer keeps it in supabase/functions/.env",
      "PM_LEADS_PROVIDER=openai",
      "OPENAI_API_KEY=sk-test-from-env-file",
      `OPENAI_BASE_URL="${fake.baseURL}"`,
      "SUPABASE_DB_URL=postgresql://nobody@127.0.0.1:1/elsewhere", // the stack's own URL stays
    ].join("\n"));
    expect(await keyOfARun(envFile)).toBe("sk-test-from-env-file");
    expect(host!.output()).toContain('"secretsFromFile":["PM_LEADS_PROVIDER","OPENAI_API_KEY","OPENAI_BASE_URL"]');
    expect(host!.output()).toContain("skipping: SUPABASE_DB_URL");
    expect(host!.output()).not.toContain("sk-test-from-env-file"); // names are logged, never values
  });

  it("the host's environment wins over the file", async () => {
    writeFileSync(envFile, `PM_LEADS_PROVIDER=openai\nOPENAI_API_KEY=sk-test-from-env-file\nOPENAI_BASE_URL=${fake.baseURL}\n`);
    expect(await keyOfARun(envFile, { OPENAI_API_KEY: "sk-test-from-shell" })).toBe("sk-test-from-shell");
  });

  it("a file named on purpose must exist (as --env-file)", async () => {
    await expect(startHost("envfile-missing", { PM_LEADS_FUNCTIONS_ENV_FILE: join(dir, "missing.env") }))
      .rejects.toThrow(/cannot read the env file .*missing\.env/);
  });

  it("a test's host reads no env file: not the developer's supabase/functions/.env", async () => {
    host = await startHost(`envfile-default${Date.now().toString(36)}`);
    expect(host.output()).toContain('"envFile":"/dev/null","secretsFromFile":[]');
    // and the test stack gives every other host (scripts/stack.sh start) the same empty file
    expect(process.env.PM_LEADS_FUNCTIONS_ENV_FILE).toBe("/dev/null");
  });
});
