// The run API (the `runs` Edge Function) through supabase-js functions.invoke: the CLI's only way
// to the data. Failures become CliErrors whose exit code says whose fault they were.
import { createClient, FunctionsFetchError, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import type { WebSocketLikeConstructor } from "@supabase/realtime-js";
import ws from "ws";
import { setTimeout as sleep } from "node:timers/promises";
import { CliError, EXIT } from "./errors.ts";
import { readStackEnv, stackEnvFile } from "./stack-env.ts";

export interface ApiConfig {
  url: string;
  key: string;
}

/** SUPABASE_URL and the service key from the environment, else from the local stack's stack.env. */
export function apiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  // a URL from the environment never gets the local stack's key: both come from one place
  const source = env.SUPABASE_URL ? env : readStackEnv(stackEnvFile(env));
  const url = source.SUPABASE_URL;
  const key = source.SUPABASE_SERVICE_ROLE_KEY || source.SUPABASE_SECRET_KEY;
  if (!url) {
    throw new CliError(
      `SUPABASE_URL is not set and ${stackEnvFile(env)} does not exist: start the local stack (npm run stack:start) ` +
        "or set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY",
    );
  }
  if (!key) throw new CliError("SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY) is not set: the run API needs the project's service key");
  return { url: url.replace(/\/+$/, ""), key };
}

/** A supabase-js client for Node (`url` is the project URL, without /functions/v1). */
export function supabaseClient(url: string, key: string): SupabaseClient {
  // Node 20 has no global WebSocket: supabase-js wants one for realtime, which is never opened here
  // (ws's types differ from realtime-js's structural ones in details realtime does not use)
  return createClient(url, key, { auth: { persistSession: false }, realtime: { transport: ws as unknown as WebSocketLikeConstructor } });
}

/** The API client of the configured project (environment or local stack). */
export const connect = () => new Api(apiConfig());

/** The error object of every non-2xx answer of the run API (docs/api.md). */
interface ApiErrorBody {
  code?: string;
  message?: string;
  field?: string | null;
  issues?: { field?: string | null; message: string }[];
}

// the caller's input was wrong (an unknown id included): exit 2; anything else is an error (exit 1)
const BAD_INPUT_STATUS = new Set([400, 404, 409, 413, 415, 422]);

export class ApiError extends CliError {
  constructor(message: string, readonly status: number, readonly body: ApiErrorBody, readonly retryAfterSeconds?: number) {
    super(message, BAD_INPUT_STATUS.has(status) ? EXIT.badInput : EXIT.error);
  }
}

/** The API could not be reached, or answered 5xx: it may well answer the same request a moment later. */
export class UnreachableError extends CliError {
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

export const isTransient = (error: unknown): error is UnreachableError | ApiError =>
  error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500);

const withField = (field: string | null | undefined, message: string) =>
  field && !message.startsWith(field) ? `${field}: ${message}` : message;

/** "criteria.state: ..." plus one line per further issue. */
function describe(body: ApiErrorBody, status: number): string {
  const first = withField(body.field, body.message ?? `HTTP ${status}`);
  const more = (body.issues ?? []).map((i) => withField(i.field, i.message)).filter((line) => line !== first);
  return [first, ...more].join("\n  ");
}

// a hung API must not hang a script: no single call takes this long when the API is well
const REQUEST_TIMEOUT_MS = 60_000;

/** fetch's "fetch failed" hides the reason in its cause (ECONNREFUSED, ENOTFOUND...). */
function networkReason(error: Error & { cause?: Error & { code?: string } }): string {
  const cause = error?.cause;
  return cause ? cause.code ?? cause.message : error?.message ?? String(error);
}

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class Api {
  private readonly client: SupabaseClient;

  constructor(readonly config: ApiConfig) {
    this.client = supabaseClient(config.url, config.key);
  }

  /** `path` is below the function's name, query string included: "runs/<id>", "runs?status=active". */
  async request<T>(path: string, options: RequestOptions = {}): Promise<{ data: T; status: number }> {
    // one controller per request for the timeout and the caller's signal: handing the caller's
    // long-lived signal to functions.invoke with a timeout adds an abort listener to it at every call
    const { signal, ...rest } = options;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) controller.abort(signal.reason);
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const { data, error, response } = await this.client.functions.invoke(path, { method: "GET", ...rest, signal: controller.signal });
      if (!error) return { data: data as T, status: response?.status ?? 200 };
      if (error instanceof FunctionsHttpError) throw await this.httpError(path, error.context as Response);
      if (signal?.aborted) throw signal.reason;
      const failure = error instanceof FunctionsFetchError ? (error.context as Error & { cause?: Error }) : error;
      const reason = failure?.name === "AbortError" ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : networkReason(failure);
      throw new UnreachableError(`cannot reach the run API at ${this.config.url}: ${reason}`);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  get = <T>(path: string, signal?: AbortSignal) => this.request<T>(path, { signal }).then((r) => r.data);
  post = <T>(path: string, body?: Record<string, unknown>, headers?: Record<string, string>, signal?: AbortSignal) =>
    this.request<T>(path, { method: "POST", body, headers, signal });
  delete = <T>(path: string, body: Record<string, unknown>) => this.request<T>(path, { method: "DELETE", body }).then((r) => r.data);

  private async httpError(path: string, response: Response): Promise<CliError> {
    const text = await response.text().catch(() => "");
    let body: { error?: ApiErrorBody | string } = {};
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: a proxy's or the platform's page */ }
    const error = body.error;
    if (response.status === 401) {
      return new ApiError(`the run API at ${this.config.url} refused the key (401): check SUPABASE_SERVICE_ROLE_KEY`, 401, {});
    }
    const retryAfter = Number(response.headers.get("retry-after")) || undefined;
    if (typeof error === "object" && error !== null) return new ApiError(describe(error, response.status), response.status, error, retryAfter);
    // no error object of ours: the function itself is missing or crashed
    const detail = typeof error === "string" ? error : text.slice(0, 200) || response.statusText;
    if (response.status === 404) {
      return new CliError(`the run API is not deployed at ${this.config.url} (${path}: ${detail}); ` +
        "on the local stack, restart its functions host: npm run stack:stop && npm run stack:start");
    }
    const message = `the run API answered ${response.status} for ${path}: ${detail}`;
    return response.status >= 500 ? new UnreachableError(message, retryAfter) : new CliError(message);
  }
}

/** How long run, status --wait and decide ride out an unreachable API: --retry-window, else PM_LEADS_RETRY_WINDOW_SECONDS, else 2 minutes. */
export function retryWindowSeconds(flag: number | undefined, env: Record<string, string | undefined> = process.env): number {
  const fromEnv = env.PM_LEADS_RETRY_WINDOW_SECONDS;
  const seconds = flag ?? (fromEnv !== undefined && fromEnv.trim() !== "" ? Number(fromEnv) : 120);
  if (!Number.isFinite(seconds) || seconds < 0) throw new CliError(`the retry window must be a number of seconds >= 0 (got ${flag ?? fromEnv})`, EXIT.badInput);
  return seconds;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * `work` until it succeeds, riding out 5xx answers and network errors with backoff (the server's
 * Retry-After when it sends one) for `windowSeconds` after the first failure in a row; then the
 * last error. Other errors, and Ctrl-C (`signal`), end it at once.
 */
export async function keepTrying<T>(work: () => Promise<T>, windowSeconds: number, signal?: AbortSignal): Promise<T> {
  let failingSince: number | null = null;
  let backoffMs = 1000;
  for (;;) {
    try {
      const result = await work();
      if (failingSince !== null) process.stderr.write("pm-leads: API reachable again\n");
      return result;
    } catch (error) {
      if (!isTransient(error) || signal?.aborted) throw error;
      failingSince ??= Date.now();
      const leftMs = windowSeconds * 1000 - (Date.now() - failingSince);
      if (leftMs <= 0) throw new CliError(`${error.message} (gave up after retrying for ${windowSeconds} s; see --retry-window)`);
      const waitMs = Math.min(leftMs, error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoffMs);
      process.stderr.write(`pm-leads: API unreachable (${error.message}), retrying in ${Math.ceil(waitMs / 1000)} s\n`);
      await sleep(waitMs, undefined, { signal });
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  }
}
