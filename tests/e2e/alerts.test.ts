// Alerts through the real pieces: the trigger and the cron job enqueue `alert` tasks, NOTIFY
// dispatches the real monitor function on the functions host, which POSTs to a local webhook and a
// local e-mail API (node:http servers here). Other tests leave alerts too: every check looks only
// at its own run or worker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JSONValue, Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, createKind, createRun, dropKind, saveQueueSettings, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { startAlertReceiver, type AlertReceiver } from "../helpers/alert-receiver.ts";
import { spawnFixture } from "../helpers/process.ts";

interface AlertRow {
  task_id: string;
  key: string;
  state: string;
  attempts: number;
  delivered_to: string[];
  delivered: boolean;
  problem: string | null;
}

let sql: Sql;
let webhook: AlertReceiver;
let email: AlertReceiver;
let restoreSettings: () => Promise<void>;

beforeAll(async () => {
  sql = connect();
  [webhook, email] = await Promise.all([startAlertReceiver(), startAlertReceiver()]);
  restoreSettings = await saveQueueSettings(sql, ["alert"]);
  // retries in about a second instead of a minute; workers dead after 3 s instead of 30 s
  await sql`update pm_pipeline.task_kinds set backoff_base_seconds = 0.2, backoff_max_seconds = 1 where kind = 'alert'`;
  await sql`update pm_pipeline.settings set heartbeat_interval_seconds = 1, dead_worker_after_seconds = 3`;
});
afterAll(async () => {
  await restoreSettings();
  await Promise.all([webhook.close(), email.close(), sql.end()]);
});

/** The alerts whose payload mentions `text` (a run id, a worker id), oldest first. */
const alertsOf = (text: string) => sql<AlertRow[]>`
  select task_id, key, state::text, attempts, delivered_to, delivered, problem
    from pm_pipeline.v_alerts where payload::text like ${`%${text}%`} order by task_id`;

async function settledAlert(text: string, state = "succeeded"): Promise<AlertRow> {
  const [alert] = await waitFor(`an alert about ${text} in state ${state}`, async () => {
    const rows = await alertsOf(text);
    return rows.length > 0 && rows.every((r) => r.state === state) ? rows : null;
  });
  return alert;
}

/** Both receivers hold the alert about `text` exactly once (requests they answered 2xx). */
function expectOneEach(text: string) {
  expect(webhook.requests(text).filter((r) => r.status === 200)).toHaveLength(1);
  expect(email.requests(text).filter((r) => r.status === 200)).toHaveLength(1);
}

describe("alerts to a webhook and an e-mail API", () => {
  let host: Host;
  const env = loadStackEnv();
  const monitor = () => fetch(`${host.url}/monitor`, { method: "POST", headers: { authorization: `Bearer ${env.PM_LEADS_WORKER_SECRET}` } });

  beforeAll(async () => {
    host = await startHost("alerts", {
      ...FAST_WORKERS,
      ALERT_WEBHOOK_URL: `${webhook.url}hooks/pm-leads`,
      ALERT_EMAIL_API_URL: `${email.url}emails`,
      ALERT_EMAIL_API_KEY: "re_test_key",
      ALERT_EMAIL_FROM: "pm-leads <alerts@example.test>",
      ALERT_EMAIL_TO: "ops@example.test, sales@example.test",
    });
  });
  afterAll(async () => {
    await host.stop();
  });

  /**
   * More monitor calls than it takes to send an alert (each looks for dead workers and dispatches),
   * then, instead of sleeping through cron ticks, waits until no alert about `text` is left to send
   * (an alert enqueued twice would be sent by then): afterwards nothing may have been sent twice.
   */
  async function moreTicks(text: string) {
    for (let i = 0; i < 3; i++) expect((await monitor()).status).toBe(200);
    await waitFor(`every alert about ${text} sent or given up after three more monitor calls`, async () => {
      const [open] = await sql`
        select count(*)::int as n from pm_pipeline.tasks
         where kind = 'alert' and state in ('queued', 'running') and payload::text like ${`%${text}%`}`;
      return open.n === 0;
    }, 15_000);
  }

  async function startRun(criteria: object, quantity: number): Promise<string> {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(criteria as JSONValue)}, ${quantity})`;
    return run.id;
  }

  it("a completed run: one alert at each receiver, in their formats, still one after more ticks", async () => {
    const run = await startRun({ pms: "Buildium", state: "TX" }, 3);
    const alert = await settledAlert(run);
    const [event] = await sql`select id from pm_pipeline.events where run_id = ${run} and kind = 'status_changed' and data->>'to' = 'completed'`;
    expect(alert).toMatchObject({ key: `alert:event:${event.id}`, attempts: 1, delivered: true, delivered_to: ["email", "webhook"] });
    expectOneEach(run);

    const [hook] = webhook.requests(run);
    expect(hook.headers["idempotency-key"]).toBe(alert.key);
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.body.text).toMatch(new RegExp(`^pm-leads: run ${run.slice(0, 8)} completed \\(Buildium; TX\\)\\nRun ${run} completed: 3 companies`));
    expect(hook.body.alert).toMatchObject({
      key: alert.key, type: "run_completed", run_id: run, status: "completed", criteria: "Buildium; TX",
      counts: { target: 3, ready: 3, accepted: 3 }, event_id: Number(event.id),
    });
    const [mail] = email.requests(run);
    expect(mail.headers.authorization).toBe("Bearer re_test_key");
    expect(mail.headers["idempotency-key"]).toBe(alert.key);
    expect(mail.body).toMatchObject({
      from: "pm-leads <alerts@example.test>", to: ["ops@example.test", "sales@example.test"],
      subject: `pm-leads: run ${run.slice(0, 8)} completed (Buildium; TX)`, text: expect.stringContaining(`Export: pm-leads export ${run}`),
    });

    await moreTicks(run);
    expectOneEach(run);
    expect(await alertsOf(run)).toHaveLength(1);
  });

  it("a run that needs a decision: one alert at each receiver with what is missing", async () => {
    // a small market: the offline world cannot fill it (see pipeline.e2e.test.ts)
    const run = await startRun({ pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 }, 40);
    const alert = await settledAlert(run, "succeeded");
    expect(alert.delivered_to).toEqual(["email", "webhook"]);
    const [hook] = webhook.requests(run);
    expect(hook.body.alert).toMatchObject({ type: "run_needs_decision", criteria: "Buildium; Round Rock, TX; 100-2000 units" });
    expect(hook.body.text).toMatch(/needs a decision: found \d+ of 40 companies.*Options: accept_partial/);
    expect(email.requests(run)[0].body.text).toMatch(/Decide: pm-leads decide \S+ accept-partial/);

    await moreTicks(run);
    expectOneEach(run);
    await sql`select pm_pipeline.set_run_status(${run}, 'cancelled', 'test over')`; // cancelling is the user's doing: no alert
    await moreTicks(run);
    expectOneEach(run);
  });

  it("a SIGKILLed worker: one dead-worker alert naming the task it held, once however often the cron job looks", async () => {
    // a lease (30 s) longer than the dead-worker threshold (3 s here): found dead while still holding it
    const kind = await createKind(sql);
    try {
      const [task] = await sql`select id from pm_pipeline.enqueue_tasks(${kind}, null, '[{}]')`;
      const holder = spawnFixture("lease-holder.ts", [kind, "300"]);
      const { worker } = (await holder.next("claimed")) as { worker: string };
      holder.process.kill("SIGKILL");

      const alert = await settledAlert(worker);
      expect(alert.key).toMatch(new RegExp(`^alert:worker-dead:${worker}:\\d+(\\.\\d+)?$`));
      expectOneEach(worker);
      expect(webhook.requests(worker)[0].body.alert).toMatchObject({
        type: "worker_dead", worker_id: worker, worker_type: kind, current_task: `${kind} #${task.id}`,
        held_tasks: [{ task_id: Number(task.id), kind, run_id: null }],
      });
      expect(email.requests(worker)[0].body.subject).toBe(`pm-leads: worker ${worker} (${kind}) died`);

      await moreTicks(worker);
      expectOneEach(worker);
      expect(await alertsOf(worker)).toHaveLength(1);
    } finally {
      await dropKind(sql, kind);
    }
  });

  it("a webhook that answers 500, then 429 with Retry-After, gets the alert on the third attempt; the e-mail is sent once", async () => {
    const run = await createRun(sql);
    webhook.plan(run, [{ status: 500, body: "upstream broke" }, { status: 429, headers: { "retry-after": "2" }, body: "slow down" }]);
    await sql`select pm_pipeline.set_run_status(${run}, 'error', 'test: the provider key was revoked')`;

    const alert = await settledAlert(run);
    expect(alert).toMatchObject({ attempts: 3, delivered: true, delivered_to: ["email", "webhook"] });
    expect(webhook.requests(run).map((r) => r.status)).toEqual([500, 429, 200]);
    expect(email.requests(run).map((r) => r.status)).toEqual([200]);
    const hooks = webhook.requests(run);
    expect(hooks[2].at - hooks[1].at).toBeGreaterThanOrEqual(2000); // Retry-After wins over the 1 s backoff

    const [task] = await sql`select errors from pm_pipeline.tasks where id = ${alert.task_id}`;
    expect(task.errors).toMatchObject([
      { attempt: 1, retryable: true, error: "webhook answered 500: upstream broke" },
      { attempt: 2, retryable: true, error: "webhook answered 429: slow down" },
    ]);
    const deliveries = await sql`select receiver, attempt from pm_pipeline.alert_deliveries where task_id = ${alert.task_id} order by receiver`;
    expect(deliveries).toEqual([{ receiver: "email", attempt: 1 }, { receiver: "webhook", attempt: 3 }]);
  });

  it("webhook delivered, e-mail API failing: the retry sends only the e-mail", async () => {
    const run = await createRun(sql);
    email.plan(run, [{ status: 503, body: "maintenance" }]);
    await sql`select pm_pipeline.set_run_status(${run}, 'error', 'test: e-mail API down once')`;

    const alert = await settledAlert(run);
    expect(alert.attempts).toBe(2);
    expect(webhook.requests(run).map((r) => r.status)).toEqual([200]);
    expect(email.requests(run).map((r) => r.status)).toEqual([503, 200]);
    await moreTicks(run);
    expectOneEach(run);
  });

  it("a receiver that answers 400 fails the alert for good with its answer, and is not retried", async () => {
    const run = await createRun(sql);
    email.plan(run, [{ status: 400, body: '{"message":"The from address is not verified"}' }]);
    await sql`select pm_pipeline.set_run_status(${run}, 'error', 'test: bad e-mail settings')`;

    const alert = await settledAlert(run, "failed");
    expect(alert).toMatchObject({
      attempts: 1, delivered: false, delivered_to: ["webhook"],
      problem: 'email answered 400: {"message":"The from address is not verified"}',
    });
    await moreTicks(run);
    expect(webhook.requests(run).map((r) => r.status)).toEqual([200]);
    expect(email.requests(run).map((r) => r.status)).toEqual([400]);
    expect((await alertsOf(run))[0]).toMatchObject({ state: "failed", attempts: 1 });
  });
});

describe("alerts without receivers", () => {
  const env = loadStackEnv();
  const hosts: Host[] = [];
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it("with no receiver configured an alert completes as not delivered (configuring one later replays nothing)", async () => {
    hosts.push(await startHost("no-alerts", FAST_WORKERS));
    const run = await createRun(sql);
    await sql`select pm_pipeline.set_run_status(${run}, 'error', 'test: nobody listens')`;
    const alert = await settledAlert(run);
    expect(alert).toMatchObject({ attempts: 1, delivered: false, delivered_to: [], problem: expect.stringMatching(/^no receiver configured/) });
    expect(webhook.requests(run)).toEqual([]);
  });

  it("a half-configured e-mail makes the monitor fail, naming what is missing", async () => {
    const host = await startHost("half-alerts", { ALERT_EMAIL_TO: "ops@example.test" });
    hosts.push(host);
    const response = await fetch(`${host.url}/monitor`, { method: "POST", headers: { authorization: `Bearer ${env.PM_LEADS_WORKER_SECRET}` } });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: "e-mail alerts are half configured: ALERT_EMAIL_API_KEY, ALERT_EMAIL_FROM are missing " +
        "(set ALERT_EMAIL_API_KEY, ALERT_EMAIL_FROM and ALERT_EMAIL_TO, or none of these settings)",
    });
  });
});
