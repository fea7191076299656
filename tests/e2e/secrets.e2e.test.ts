// Secrets stay where they belong: a run whose provider rejects its key (quoting it, as OpenAI's 401
// does in masked form) and whose alert receivers fail (an unreachable webhook, whose URL Deno's fetch
// quotes; an e-mail API that echoes its Authorization header), all configured with marker strings.
// Afterwards no table of pm_pipeline, no line of the functions host's log and no API answer holds a marker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, saveQueueSettings, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, freePort, startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI } from "../helpers/fake-openai.ts";
import { startAlertReceiver, type AlertReceiver } from "../helpers/alert-receiver.ts";
import { apiClient, call } from "../helpers/api.ts";

const MARKER = "zq9MARK";
const OPENAI_KEY = `sk-${MARKER}key0123456789abcdef`;
const EMAIL_KEY = `re_${MARKER}-emailkey`;
const WORKER_SECRET = `${MARKER}-worker-secret-0123456789`;

describe("no secret in what is stored, returned or logged", () => {
  let sql: Sql;
  let fake: FakeOpenAI;
  let email: AlertReceiver;
  let host: Host;
  const stack = loadStackEnv();

  let restoreSettings: () => Promise<void>;

  beforeAll(async () => {
    sql = connect();
    fake = (await FakeOpenAI.start()).respondWith((request) => ({
      status: 401,
      // OpenAI quotes the key masked; this quotes it whole, so that only redaction keeps it out
      body: { error: { message: `Incorrect API key provided: ${String(request.headers.authorization).replace(/^Bearer /, "")}.`,
        type: "invalid_request_error", param: null, code: "invalid_api_key" } },
    }));
    email = await startAlertReceiver();
    // the e-mail API answers 500 and echoes what it was sent, credentials included
    email.plan("", Array.from({ length: 50 }, () => ({ status: 500, body: `rejected Authorization: Bearer ${EMAIL_KEY}` })));
    restoreSettings = await saveQueueSettings(sql, ["alert"]);
    await sql`update pm_pipeline.task_kinds set backoff_base_seconds = 0.2, backoff_max_seconds = 1 where kind = 'alert'`;
    host = await startHost(`secrets${Date.now().toString(36)}`, {
      ...FAST_WORKERS,
      PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseURL,
      PM_LEADS_WORKER_SECRET: WORKER_SECRET,
      // nothing listens there: the fetch error names the whole URL
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/hooks/${MARKER}-path?token=${MARKER}-q`,
      ALERT_EMAIL_API_URL: `${email.url}emails/${MARKER}-epath?key=${MARKER}-eq`,
      ALERT_EMAIL_API_KEY: EMAIL_KEY,
      ALERT_EMAIL_FROM: "pm-leads <alerts@example.test>",
      ALERT_EMAIL_TO: "ops@example.test",
    });
  });
  afterAll(async () => {
    await restoreSettings();
    await host.stop();
    await Promise.all([fake.close(), email.close(), sql.end()]);
  });

  it("a rejected key and failing receivers leave no marker in the tables, the log or the API's answers", async () => {
    const api = apiClient(host.url, stack.SUPABASE_SERVICE_ROLE_KEY);
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    const [failed] = await waitFor("a discovery task failed for good", () =>
      sql`select last_error as error from pm_pipeline.tasks where run_id = ${run.id} and state = 'failed' limit 1`.then((r) => r.length ? r : null));
    expect(failed.error).toMatch(/401|API key/);
    // the run stops with the provider's message in its notes and events (and an alert about it)
    await sql`select pm_pipeline.set_run_status(${run.id}, 'error', ${failed.error})`;
    const [alert] = await waitFor("both receivers failed", () =>
      sql`select problem from pm_pipeline.v_alerts where payload->>'run_id' = ${run.id} and problem like '%webhook%' and problem like '%email%'`
        .then((r) => r.length ? r : null));
    expect(email.received.length).toBeGreaterThan(0);
    expect(fake.requests.length).toBeGreaterThan(0);

    const answers = await Promise.all([
      call(api, `runs/${run.id}`), call(api, "runs"), call(api, "runs/00000000-0000-0000-0000-000000000000"),
      call(api, "runs", { method: "POST", body: { criteria: { pms: `Bearer ${MARKER}x`, state: OPENAI_KEY } } }),
    ]);
    const tables = await sql<{ name: string }[]>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'pm_pipeline' and c.relkind = 'r'`;
    const dump: Record<string, string> = {};
    for (const { name } of tables) {
      const [row] = await sql`select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text as rows from ${sql("pm_pipeline")}.${sql(name)} t`;
      dump[name] = row.rows;
    }
    expect(dump.runs).toContain(run.id); // the dump is real
    const holding = (text: string) => text.includes(MARKER);
    expect(Object.entries(dump).filter(([, rows]) => holding(rows)).map(([name, rows]) => `${name}: ${rows.slice(rows.indexOf(MARKER) - 200, rows.indexOf(MARKER) + 100)}`)).toEqual([]);
    expect(answers.map((a) => JSON.stringify(a.body)).filter(holding)).toEqual([]);
    expect(host.output().split("\n").filter(holding)).toEqual([]);
    expect(alert.problem).toMatch(/webhook: .*127\.0\.0\.1/);
    // the functions did all this as the role that may only execute the SQL API
    const [worker] = await sql`select count(*)::int as connections from pg_stat_activity where usename = 'pm_pipeline_worker'`;
    expect(worker.connections).toBeGreaterThan(0);
  }, 90_000);
});
