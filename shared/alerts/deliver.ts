// Sends an alert to a receiver over HTTP and says what its answer means: delivered, try again later
// (the queue's backoff), or never (failed for good, with the answer kept in the task's errors).
import type { AlertConfig } from "./config.ts";
import { formatAlert, type Alert } from "./message.ts";
import { redactUrlPaths } from "../secrets/redact.ts";

/** Every request to a receiver ends after this long, the answer's body included. */
export const RECEIVER_TIMEOUT_MS = 10_000;
/** A receiver's Retry-After is honoured up to this (a year-long one would outlast every attempt). */
const MAX_RETRY_AFTER_SECONDS = 6 * 3600;
const BODY_KEPT = 500;

export class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly retryAfterSeconds?: number) {
    super(redactUrlPaths(message));
    this.name = "DeliveryError";
  }

  /** Several receivers failed: retried when any of them may accept later, after the longest Retry-After. */
  static of(failures: DeliveryError[]): DeliveryError {
    const after = failures.map((f) => f.retryAfterSeconds ?? 0);
    return new DeliveryError(failures.map((f) => f.message).join("; "), failures.some((f) => f.retryable),
      Math.max(...after) || undefined);
  }
}

export type Outcome = "delivered" | "retry" | "permanent";

/** 2xx delivered; 408, 429 and 5xx may work later; anything else (4xx, a redirect) will not by itself. */
export function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  return "permanent";
}

/** Retry-After as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header?.trim()) return undefined;
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : (Date.parse(header) - now) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_SECONDS);
}

export interface Delivered {
  status: number;
  body: string;
}

export interface Receiver {
  name: "webhook" | "email";
  /** false when this receiver has no one for this kind of alert (e-mail recipients are per kind) */
  takes(alert: Alert): boolean;
  /** `key` is the alert's idempotency key, sent as Idempotency-Key so that a resend can be dropped */
  send(alert: Alert, key: string, signal: AbortSignal): Promise<Delivered>;
}

async function post(receiver: string, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): Promise<Delivered> {
  const timeout = AbortSignal.timeout(RECEIVER_TIMEOUT_MS);
  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      // a POST that is redirected turns into a GET: the receiver's URL is wrong, say so
      redirect: "manual",
      signal: AbortSignal.any([signal, timeout]),
    });
    status = response.status;
    retryAfter = response.headers.get("retry-after");
    text = (await response.text()).slice(0, BODY_KEPT);
  } catch (error) {
    if (signal.aborted) throw error; // the worker's own abort (lease lost, shutdown): not the receiver's fault
    const why = timeout.aborted ? `no answer within ${RECEIVER_TIMEOUT_MS / 1000} s` : String((error as Error).cause ?? error);
    throw new DeliveryError(`${receiver}: ${why}`, true);
  }
  const outcome = classifyStatus(status);
  if (outcome === "delivered") return { status, body: text };
  throw new DeliveryError(`${receiver} answered ${status}: ${text || "(empty body)"}`, outcome === "retry",
    outcome === "retry" ? parseRetryAfter(retryAfter) : undefined);
}

/** The configured receivers, webhook first; none when nothing is configured. */
export function alertReceivers(config: AlertConfig): Receiver[] {
  const receivers: Receiver[] = [];
  const { webhook, email } = config;
  if (webhook) {
    receivers.push({
      name: "webhook",
      takes: () => true,
      send(alert, key, signal) {
        const { subject, text } = formatAlert(alert);
        // Slack shows `text`; other receivers read the structured `alert`
        return post("webhook", webhook.url, { "idempotency-key": key }, { text: `${subject}\n${text}`, alert: { key, ...alert } }, signal);
      },
    });
  }
  if (email) {
    const recipients = (alert: Alert) => (alert.type === "worker_dead" ? email.to.worker : email.to.run);
    receivers.push({
      name: "email",
      takes: (alert) => recipients(alert).length > 0,
      send(alert, key, signal) {
        const { subject, text } = formatAlert(alert);
        return post("email", email.apiUrl, { authorization: `Bearer ${email.apiKey}`, "idempotency-key": key },
          { from: email.from, to: recipients(alert), subject, text }, signal);
      },
    });
  }
  return receivers;
}
