import { describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { alertConfig, DEFAULT_EMAIL_API_URL } from "../../shared/alerts/config.ts";
import { alertReceivers, classifyStatus, DeliveryError, parseRetryAfter } from "../../shared/alerts/deliver.ts";
import { Alert, formatAlert } from "../../shared/alerts/message.ts";
import { classifyFailure as classifyProviderError } from "../../shared/worker/failure.ts";
import { ProviderError } from "../../shared/providers/types.ts";

const EMAIL = { ALERT_EMAIL_API_KEY: "re_x", ALERT_EMAIL_FROM: "pm-leads <alerts@example.com>", ALERT_EMAIL_TO: "a@example.com, b@example.com" };

describe("alert settings", () => {
  it("nothing set: no receiver; empty values count as unset", () => {
    expect(alertConfig({})).toEqual({});
    expect(alertConfig({ ALERT_WEBHOOK_URL: "", ALERT_EMAIL_TO: " " })).toEqual({});
  });

  it("a webhook, e-mail with the Resend URL by default, or both", () => {
    expect(alertConfig({ ALERT_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x" })).toEqual({ webhook: { url: "https://hooks.slack.com/services/T/B/x" } });
    expect(alertConfig(EMAIL)).toEqual({
      email: { apiUrl: DEFAULT_EMAIL_API_URL, apiKey: "re_x", from: "pm-leads <alerts@example.com>",
        to: { worker: ["a@example.com", "b@example.com"], run: ["a@example.com", "b@example.com"] } },
    });
    expect(Object.keys(alertConfig({ ...EMAIL, ALERT_WEBHOOK_URL: "http://127.0.0.1:9/x" }))).toEqual(["webhook", "email"]);
  });

  it("the old system's names: HEARTBEAT_MONITOR_ALERT_EMAIL gets dead workers, NOTIFICATION_EMAIL runs, ALERT_EMAIL_TO both", () => {
    const { ALERT_EMAIL_TO: _, ...sender } = EMAIL;
    const config = alertConfig({ ...sender, HEARTBEAT_MONITOR_ALERT_EMAIL: "ops@example.com", NOTIFICATION_EMAIL: "sales@example.com, ops@example.com" });
    expect(config.email?.to).toEqual({ worker: ["ops@example.com"], run: ["sales@example.com", "ops@example.com"] });
    expect(alertConfig({ ...EMAIL, HEARTBEAT_MONITOR_ALERT_EMAIL: "a@example.com, ops@example.com" }).email?.to.worker)
      .toEqual(["a@example.com", "b@example.com", "ops@example.com"]);

    // only dead-worker recipients: the e-mail receiver takes worker alerts, not run alerts
    const [email] = alertReceivers(alertConfig({ ...sender, HEARTBEAT_MONITOR_ALERT_EMAIL: "ops@example.com" }));
    const worker = Alert.parse({ type: "worker_dead", worker_id: "w-1", worker_type: "lead_list", last_heartbeat_at: "2026-11-28T05:00:00Z", current_task: null, current_run_id: null, held_tasks: [], at: "2026-11-28T05:01:00Z" });
    const run = Alert.parse({ type: "run_completed", run_id: "6a20a632-5b89-49f3-877c-34e177bae5a9", status: "completed", message: "done", criteria: "Buildium; TX",
      counts: { target: 1, ready: 1, accepted: 1, rejected: 0, review: 0, contacts: 1, tasks_failed: 0 }, event_id: 1, at: "2026-11-28T05:01:00Z" });
    expect([email.takes(worker), email.takes(run)]).toEqual([true, false]);
  });

  it.each([
    [{ ALERT_EMAIL_TO: "a@example.com" }, /half configured: ALERT_EMAIL_API_KEY, ALERT_EMAIL_FROM are missing/],
    [{ ALERT_EMAIL_API_KEY: "re_x", ALERT_EMAIL_FROM: "a@example.com" }, /half configured: ALERT_EMAIL_TO \(or HEARTBEAT_MONITOR_ALERT_EMAIL \/ NOTIFICATION_EMAIL\) is missing/],
    [{ NOTIFICATION_EMAIL: "a@example.com" }, /half configured: ALERT_EMAIL_API_KEY, ALERT_EMAIL_FROM are missing/],
    [{ ...EMAIL, ALERT_EMAIL_API_KEY: "" }, /half configured: ALERT_EMAIL_API_KEY is missing/],
    [{ ALERT_EMAIL_API_URL: "https://api.resend.com/emails" }, /half configured/],
    [{ ALERT_WEBHOOK_URL: "hooks.slack.com/x" }, /bad alert setting ALERT_WEBHOOK_URL/],
    [{ ALERT_WEBHOOK_URL: "ftp://example.com/x" }, /bad alert setting ALERT_WEBHOOK_URL: must be an http\(s\) URL/],
    [{ ...EMAIL, ALERT_EMAIL_TO: "a@example.com, not-an-address" }, /bad alert setting ALERT_EMAIL_TO/],
    [{ ...EMAIL, ALERT_EMAIL_TO: " , " }, /bad alert setting ALERT_EMAIL_TO: must name at least one address/],
    [{ ...EMAIL, ALERT_EMAIL_FROM: "pm-leads" }, /bad alert setting ALERT_EMAIL_FROM/],
  ])("refuses %j", (env, message) => {
    expect(() => alertConfig(env)).toThrow(message);
  });
});

describe("what a receiver's answer means", () => {
  it.each([[200, "delivered"], [202, "delivered"], [204, "delivered"], [408, "retry"], [429, "retry"], [500, "retry"], [502, "retry"],
           [503, "retry"], [301, "permanent"], [400, "permanent"], [401, "permanent"], [403, "permanent"], [404, "permanent"],
           [410, "permanent"], [422, "permanent"]] as const)("%i: %s", (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });

  it("Retry-After in seconds or as a date, capped at 6 hours, ignored when unreadable", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Sat, 28 Nov 2026 12:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Sat, 28 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("99999999", now)).toBe(6 * 3600);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("several receivers failing: retried if any may accept later, after the longest Retry-After", () => {
    const both = DeliveryError.of([new DeliveryError("webhook answered 400: no", false), new DeliveryError("email answered 429: later", true, 30)]);
    expect(both).toMatchObject({ message: "webhook answered 400: no; email answered 429: later", retryable: true, retryAfterSeconds: 30 });
    expect(DeliveryError.of([new DeliveryError("webhook answered 404", false)])).toMatchObject({ retryable: false, retryAfterSeconds: undefined });
  });

  it("the research kinds keep their classes: permanent provider errors fail for good, a malformed answer is retried", () => {
    expect(classifyProviderError(new ProviderError("rate_limit", "429", 1500))).toEqual({ retryable: true, retryAfterSeconds: 1.5, kind: "rate_limit" });
    expect(classifyProviderError(new ProviderError("auth", "401"))).toEqual({ retryable: false, retryAfterSeconds: undefined, kind: "auth" });
    expect(classifyProviderError(new ProviderError("invalid_output", "bad json")).retryable).toBe(true);
    expect(classifyProviderError(new Error("connection reset")).retryable).toBe(true);
  });
});

describe("a receiver that never answers", () => {
  it("is given up after the timeout as retryable; the worker's own abort passes through", { timeout: 20_000 }, async () => {
    const server = createServer(() => {}); // accepts and stays silent
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const [webhook] = alertReceivers({ webhook: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` } });
    const alert = Alert.parse(RUN_ALERT);
    try {
      const started = Date.now();
      const error = await webhook.send(alert, "k", new AbortController().signal).catch((e) => e);
      expect(error).toMatchObject({ name: "DeliveryError", retryable: true, message: "webhook: no answer within 10 s" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);

      const controller = new AbortController();
      const sent = webhook.send(alert, "k", controller.signal).catch((e) => e);
      controller.abort(new Error("lease lost"));
      expect(await sent).toMatchObject({ message: "lease lost" });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

const RUN_ALERT = {
  type: "run_needs_decision", run_id: "0b7f9a52-5a8e-4a43-9f7e-0d5b4b8e2a11", status: "needs_user_decision",
  message: "found 7 of 40 companies with at least 1 contact(s); discovery found no more companies matching the criteria. Options: accept_partial, expand_location, loosen_pms.",
  criteria: "Buildium; Round Rock, TX; 100-2000 units",
  counts: { target: 40, ready: 7, accepted: 7, rejected: 12, review: 0, contacts: 15, tasks_failed: 1 },
  event_id: 42, at: "2026-11-28T05:40:00+00:00",
};

describe("the words of an alert", () => {
  it("a run that needs a decision: what was found, the criteria, how to decide", () => {
    expect(formatAlert(Alert.parse(RUN_ALERT))).toEqual({
      subject: "pm-leads: run 0b7f9a52 needs a decision (Buildium; Round Rock, TX; 100-2000 units)",
      text: [
        `Run ${RUN_ALERT.run_id} needs a decision: ${RUN_ALERT.message}`,
        "Criteria: Buildium; Round Rock, TX; 100-2000 units",
        "Companies: 7 of 40 ready, 7 accepted, 12 rejected; 15 contacts; 1 task(s) failed",
        `Decide: pm-leads decide ${RUN_ALERT.run_id} accept-partial | expand-location | loosen-pms`,
        "At: 2026-11-28T05:40:00+00:00",
      ].join("\n"),
    });
  });

  it("a dead worker: when it was last heard of and what it held", () => {
    const { subject, text } = formatAlert(Alert.parse({
      type: "worker_dead", worker_id: "lead-list-1a2b3c4d-9f00", worker_type: "lead_list", last_heartbeat_at: "2026-11-28T05:39:00+00:00",
      current_task: "lead_list #17", current_run_id: RUN_ALERT.run_id, held_tasks: [{ task_id: 17, kind: "lead_list", run_id: RUN_ALERT.run_id }],
      at: "2026-11-28T05:39:31+00:00",
    }));
    expect(subject).toBe("pm-leads: worker lead-list-1a2b3c4d-9f00 (lead_list) died");
    expect(text).toContain("last heartbeat 2026-11-28T05:39:00+00:00");
    expect(text).toContain(`Working on: lead_list #17 (run ${RUN_ALERT.run_id})`);
    expect(text).toContain("Its tasks (lead_list #17) went back to the queue");
  });

  it("a payload it cannot read is refused (the task then fails for good)", () => {
    expect(Alert.safeParse({ ...RUN_ALERT, type: "run_paused" }).success).toBe(false);
    expect(Alert.safeParse({ ...RUN_ALERT, counts: undefined }).success).toBe(false);
  });
});
