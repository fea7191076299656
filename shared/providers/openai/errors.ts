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

/** The API's own message, without the SDK's "429 " prefix (secrets are redacted by ProviderError). */
function apiMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  const text = typeof body?.message === "string" && body.message ? body.message : error.message;
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * The ProviderError for an error thrown by the OpenAI SDK, or null for anything else (a bug: the
 * caller rethrows it as it is). Each message says first what happened and what to do, then the API's
 * own words and the request id (x-request-id) OpenAI support asks for.
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
  const said = ` — OpenAI said: ${apiMessage(error)}${error.requestID ? ` [request ${error.requestID}]` : ""}`;
  const what = `${status}${code ? ` ${code}` : ""}`;
  const shouldRetry = error.headers?.get("x-should-retry");

  if (status === 429 && (isQuota(error.code) || isQuota(error.type) || shouldRetry === "false")) {
    return new ProviderError("quota", `OpenAI quota exhausted (${what}): add credit or raise the project's spend limit, or use another key (OPENAI_API_KEY); not retried${said}`);
  }
  if (status === 401) return new ProviderError("auth", `OpenAI rejected the API key (${what}): set OPENAI_API_KEY to a valid key${said}`);
  if (status === 403) {
    return new ProviderError("auth", `OpenAI refused access (${what}): the key's project may lack access to this model or endpoint; check OPENAI_MODEL and the project's permissions${said}`);
  }
  if (status === 429) {
    const wait = retryAfterMs(error.headers, now);
    return new ProviderError("rate_limit", `OpenAI rate limit (${what})${wait !== undefined ? `: retry after ${wait} ms` : ""}${said}`, wait);
  }
  if (status === 408) return new ProviderError("timeout", `OpenAI timed out (${what})${said}`, retryAfterMs(error.headers, now));
  if (status === 409 || status >= 500 || shouldRetry === "true") {
    return new ProviderError("server", `OpenAI server error (${what}); retryable${said}`, retryAfterMs(error.headers, now));
  }
  if (status === 404) return new ProviderError("invalid_input", `OpenAI found no such model or endpoint (${what}): check OPENAI_MODEL and OPENAI_BASE_URL${said}`);
  return new ProviderError("invalid_input", `OpenAI refused the request as invalid (${what}): check OPENAI_MODEL and the PM_LEADS_OPENAI_* settings${said}`);
}
