// Where alerts go, from the monitor function's environment (`supabase secrets set ...`): a webhook
// (Slack-compatible JSON) and/or e-mail through an HTTP e-mail API (Resend-compatible; Edge
// Functions cannot open SMTP ports). Parsed from a plain record so that tests can pass objects.
// The old system's names keep their meaning: HEARTBEAT_MONITOR_ALERT_EMAIL receives the dead-worker
// alerts (its monitor daemon's e-mails), NOTIFICATION_EMAIL the run alerts; ALERT_EMAIL_TO all.
import { z } from "zod";

const httpUrl = z.string().trim().url().refine((url) => /^https?:\/\//i.test(url), "must be an http(s) URL");
// "alerts@example.com" or "pm-leads <alerts@example.com>"
const sender = z.string().trim().max(300).regex(/^([^<>]*<)?[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>?$/, "must be an e-mail address, optionally as Name <address>");
const recipients = z.string().transform((list) => list.split(",").map((a) => a.trim()).filter(Boolean))
  .pipe(z.array(z.email("must be comma-separated e-mail addresses")).min(1, "must name at least one address").max(50));

const Env = z.object({
  ALERT_WEBHOOK_URL: httpUrl.optional(),
  ALERT_EMAIL_API_URL: httpUrl.optional(),
  ALERT_EMAIL_API_KEY: z.string().trim().min(1).optional(),
  ALERT_EMAIL_FROM: sender.optional(),
  ALERT_EMAIL_TO: recipients.optional(),
  HEARTBEAT_MONITOR_ALERT_EMAIL: recipients.optional(),
  NOTIFICATION_EMAIL: recipients.optional(),
});

const RECIPIENTS = ["ALERT_EMAIL_TO", "HEARTBEAT_MONITOR_ALERT_EMAIL", "NOTIFICATION_EMAIL"] as const;
const EMAIL_REQUIRED = ["ALERT_EMAIL_API_KEY", "ALERT_EMAIL_FROM"] as const;
export const DEFAULT_EMAIL_API_URL = "https://api.resend.com/emails";

export interface AlertConfig {
  webhook?: { url: string };
  /** recipients per kind of alert: dead workers, and runs (needs a decision, completed, failed) */
  email?: { apiUrl: string; apiKey: string; from: string; to: { worker: string[]; run: string[] } };
}

/** Throws a sentence naming the variable when a setting is malformed or e-mail is half configured. */
export function alertConfig(env: Record<string, string | undefined>): AlertConfig {
  const given = Object.fromEntries(Object.keys(Env.shape).map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
  const parsed = Env.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`bad alert setting ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const config: AlertConfig = {};
  if (e.ALERT_WEBHOOK_URL) config.webhook = { url: e.ALERT_WEBHOOK_URL };
  // e-mail is wanted as soon as one of its settings is there; then it needs a key, a sender and
  // recipients, or alerts would silently go nowhere
  const wanted = [...EMAIL_REQUIRED, "ALERT_EMAIL_API_URL", ...RECIPIENTS] as const;
  if (wanted.some((k) => given[k] !== undefined)) {
    const missing: string[] = EMAIL_REQUIRED.filter((k) => !e[k]);
    if (!RECIPIENTS.some((k) => e[k])) missing.push(`ALERT_EMAIL_TO (or ${RECIPIENTS.slice(1).join(" / ")})`);
    if (missing.length) {
      throw new Error(`e-mail alerts are half configured: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing ` +
        `(set ${EMAIL_REQUIRED.join(", ")} and ALERT_EMAIL_TO, or none of these settings)`);
    }
    const all = e.ALERT_EMAIL_TO ?? [];
    const unique = (list: string[]) => [...new Set(list)];
    config.email = {
      apiUrl: e.ALERT_EMAIL_API_URL ?? DEFAULT_EMAIL_API_URL, apiKey: e.ALERT_EMAIL_API_KEY!, from: e.ALERT_EMAIL_FROM!,
      to: { worker: unique([...all, ...(e.HEARTBEAT_MONITOR_ALERT_EMAIL ?? [])]), run: unique([...all, ...(e.NOTIFICATION_EMAIL ?? [])]) },
    };
  }
  return config;
}
