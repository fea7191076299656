// Where alerts go, from the monitor function's environment (`supabase secrets set ...`): a webhook
// (Slack-compatible JSON) and/or e-mail through an HTTP e-mail API (Resend-compatible; Edge
// Functions cannot open SMTP ports). Parsed from a plain record so that tests can pass objects.
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
});

const EMAIL_REQUIRED = ["ALERT_EMAIL_API_KEY", "ALERT_EMAIL_FROM", "ALERT_EMAIL_TO"] as const;
export const DEFAULT_EMAIL_API_URL = "https://api.resend.com/emails";

export interface AlertConfig {
  webhook?: { url: string };
  email?: { apiUrl: string; apiKey: string; from: string; to: string[] };
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
  // e-mail is wanted as soon as one of its settings is there; then it needs all three, or alerts
  // would silently go nowhere
  if (Object.keys(given).some((k) => k.startsWith("ALERT_EMAIL_") && given[k] !== undefined)) {
    const missing = EMAIL_REQUIRED.filter((k) => !e[k]);
    if (missing.length) {
      throw new Error(`e-mail alerts are half configured: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing ` +
        `(set ${EMAIL_REQUIRED.join(", ")}, or none of the ALERT_EMAIL_* settings)`);
    }
    config.email = { apiUrl: e.ALERT_EMAIL_API_URL ?? DEFAULT_EMAIL_API_URL, apiKey: e.ALERT_EMAIL_API_KEY!, from: e.ALERT_EMAIL_FROM!, to: e.ALERT_EMAIL_TO! };
  }
  return config;
}
