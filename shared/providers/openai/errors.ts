// OpenAI SDK errors as the project's ProviderError kinds, which decide retries (shared/worker/retry.ts
// and the task-level retry in SQL). The SDK itself never retries (maxRetries: 0).
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { ProviderError } from "../types.ts";

/** 429s that more waiting does not cure: the account or project is out of credit or over its limit. */
const QUOTA_CODES = new Set([
  "insufficient_quota", "project_spend_limit_exceeded", "organization_spend_limit_exceeded",
  "billing_hard_limit_reached", "billing_not_active",
]);
const isQuota = (code: string | null | undefined) => !!code && (QUOTA_CODES.has(code) || /quota|spend_limit|billing/i.test(code));

/**
 * How long the server asks us to wait: `retry-after-ms` (milliseconds), else `retry-after` (seconds,
 * or an HTTP date). undefined when neither says anything usable.
 */
export function retryAfterMs(headers: Headers | undefined | null, now: number = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.round(Number(ms));
  const after = headers?.get("retry-after")?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.round(Number(after) * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The API's own message, without the SDK's "429 " prefix. */
function apiMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  const text = typeof body?.message === "string" && body.message ? body.message : error.message;
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * The ProviderError for an error thrown by the OpenAI SDK, or null for anything else (a bug: the
 * caller rethrows it as it is). Messages name the status, the API's code, what to do, and the
 * request id (x-request-id) OpenAI support asks for.
 */
export function classifyOpenAIError(error: unknown, context: { now?: number; timeoutMs?: number } = {}): ProviderError | null {
  const now = context.now ?? Date.now();
  if (error instanceof ProviderError) return error;
  if (error instanceof APIConnectionTimeoutError) {
    const within = context.timeoutMs ? ` within ${context.timeoutMs} ms` : "";
    return new ProviderError("timeout", `no answer from OpenAI${within} (the request timeout, PM_LEADS_OPENAI_TIMEOUT_MS)`);
  }
  if (error instanceof APIUserAbortError) return new ProviderError("timeout", "OpenAI request aborted before an answer");
  if (error instanceof APIConnectionError) {
    const cause = (error as { cause?: unknown }).cause;
    return new ProviderError("server", `cannot reach OpenAI: ${error.message}${cause ? ` (${String(cause)})` : ""}`);
  }
  if (!(error instanceof APIError) || error.status === undefined) return null;

  const status = error.status;
  const code = error.code ?? error.type ?? null;
  const request = error.requestID ? ` [request ${error.requestID}]` : "";
  const what = `OpenAI ${status}${code ? ` ${code}` : ""}: ${apiMessage(error)}`;
  const shouldRetry = error.headers?.get("x-should-retry");

  if (status === 429 && (isQuota(error.code) || isQuota(error.type) || shouldRetry === "false")) {
    return new ProviderError("quota", `${what} — out of credit or over the spend limit: add credit or raise the project's limit; not retried${request}`);
  }
  if (status === 401) return new ProviderError("auth", `${what} — check OPENAI_API_KEY${request}`);
  if (status === 403) return new ProviderError("auth", `${what} — the key's project may lack access to this model or endpoint${request}`);
  if (status === 429) {
    const wait = retryAfterMs(error.headers, now);
    return new ProviderError("rate_limit", `${what}${wait !== undefined ? ` — retry after ${wait} ms` : ""}${request}`, wait);
  }
  if (status === 408) return new ProviderError("timeout", `${what}${request}`, retryAfterMs(error.headers, now));
  if (status === 409 || status >= 500 || shouldRetry === "true") {
    return new ProviderError("server", `${what}${request}`, retryAfterMs(error.headers, now));
  }
  if (status === 404) return new ProviderError("invalid_input", `${what} — check OPENAI_MODEL and OPENAI_BASE_URL${request}`);
  return new ProviderError("invalid_input", `${what} — the request was refused; check OPENAI_MODEL and the PM_LEADS_OPENAI_* settings${request}`);
}
