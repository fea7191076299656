// Responses API background mode (PM_LEADS_OPENAI_BACKGROUND): for calls that may outlive the worker.
// The call is created with `background: true, store: true` and answers at once with the response's
// id (status queued / in_progress); its id is saved in the task's checkpoint under the lease (the
// worker's fenced write, through CallCheckpoints), and the worker polls GET /responses/{id} until the
// response ends. When the worker's time budget ends mid-poll the task is released; the next attempt
// finds the id in the checkpoint and polls the same response: one response billed, however many
// invocations it takes. Cancelling a run cancels its open responses (shared/api/provider-responses.ts).
//
// This file knows no SDK: the provider hands it the three requests (create, retrieve, cancel), each
// returning the response object, and classifies their errors as it does for a foreground call.
import { ProviderError, type CallCheckpoints } from "../types.ts";

export type { CallCheckpoints };

/** off: every call waits for its answer (store: false); on: every call in the background; auto: see useBackground. */
export type BackgroundMode = "auto" | "on" | "off";

/** A response started in the background, as the checkpoint keeps it. */
export interface OpenResponse {
  id: string;
  /** epoch seconds, the response's created_at: the total limit counts from here */
  created_at: number;
  /** it reached a terminal status and its usage was put on record: used again, not paid again */
  done?: boolean;
}

/** The checkpoint entry of one call (one operation per task). */
export const checkpointName = (operation: string) => `openai_response:${operation}`;

const TERMINAL = new Set(["completed", "failed", "incomplete", "cancelled"]);
export const isTerminal = (status: string) => TERMINAL.has(status);

/**
 * Whether a call goes in the background. on / off: always / never. auto: when a call waiting for its
 * answer could be cut short by the worker's time budget, i.e. the request timeout
 * (PM_LEADS_OPENAI_TIMEOUT_MS) is longer than what is left of the budget; and always when this call
 * already has a response open from an earlier attempt (polling it costs nothing; a new one is paid).
 */
export function useBackground(mode: BackgroundMode, at: { timeoutMs: number; msLeft: number; open: boolean }): boolean {
  if (mode === "off") return false;
  if (mode === "on") return true;
  return at.open || at.timeoutMs > at.msLeft;
}

/** The open response saved for this call, if the checkpoint holds a well-formed one. */
export function openResponseOf(value: unknown): OpenResponse | null {
  const v = value as Partial<OpenResponse> | null | undefined;
  return v && typeof v === "object" && typeof v.id === "string" && typeof v.created_at === "number" ? (v as OpenResponse) : null;
}

/** A response object, with the request id of the answer that carried it. */
export interface Fetched<R> {
  response: R & { id: string; status: string; created_at?: unknown };
  requestId: string | null;
}

export interface BackgroundRequests<R> {
  /** POST /responses with background: true, store: true */
  create(signal: AbortSignal): Promise<Fetched<R>>;
  /** GET /responses/{id} */
  retrieve(id: string, signal: AbortSignal): Promise<Fetched<R>>;
  /** POST /responses/{id}/cancel */
  cancel(id: string): Promise<unknown>;
}

export interface BackgroundOptions<R> {
  operation: string;
  checkpoints: CallCheckpoints;
  signal: AbortSignal;
  requests: BackgroundRequests<R>;
  /** a response still queued / in progress this long after it was created is cancelled: a timeout */
  limitMs: number;
  /** the poll's first and longest wait */
  pollMs?: { first: number; max: number };
  now?: () => number;
}

/** The terminal response, and whether it is billed now (false: an earlier attempt put its usage on record). */
export interface BackgroundResult<R> extends Fetched<R> {
  billedNow: boolean;
}

/** Waits ms, or throws the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", done);
      resolve();
    }, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs one call in the background to its terminal response: resumes the response this call saved in
 * the checkpoint, or creates one and saves its id before anything else; then polls (1 s, growing to
 * 5 s) until it ends. The worker's signal (time budget, lease lost, shutdown) ends the poll with its
 * reason and leaves the response running for the next attempt. A terminal response other than
 * completed clears the entry: the retry is a new request, as it would be in the foreground.
 */
export async function runInBackground<R>(options: BackgroundOptions<R>): Promise<BackgroundResult<R>> {
  const { checkpoints, signal, requests, limitMs } = options;
  const now = options.now ?? Date.now;
  const name = checkpointName(options.operation);
  let open = openResponseOf(checkpoints.saved(name));
  let latest: Fetched<R> | null = null;

  if (!open) {
    latest = await requests.create(signal);
    const created = latest.response.created_at;
    open = { id: latest.response.id, created_at: typeof created === "number" ? created : Math.floor(now() / 1000) };
    try {
      await checkpoints.save(name, open);
    } catch (error) {
      // the lease is gone: nobody will ever poll this response, so it is not left running
      await requests.cancel(open.id).catch(() => {});
      throw error;
    }
  } else if (open.done) {
    // its usage is on record already (the attempt that saw it end was cut short before it was used)
    const again = await requests.retrieve(open.id, signal);
    if (again.response.status === "completed") return { ...again, billedNow: false };
    await checkpoints.save(name, null);
    throw new ProviderError("server", `OpenAI response ${open.id} was done but is now ${again.response.status}; a new one is requested`);
  }

  let wait = options.pollMs?.first ?? 1000;
  const maxWait = options.pollMs?.max ?? 5000;
  while (!latest || !isTerminal(latest.response.status)) {
    if (now() - open.created_at * 1000 > limitMs) {
      // still queued or in progress past the limit: it is not waited for, nor paid for any longer
      await requests.cancel(open.id).catch(() => {});
      await checkpoints.save(name, null);
      throw new ProviderError("timeout", `OpenAI response ${open.id} was still ${latest?.response.status ?? "open"} ` +
        `${Math.round(limitMs / 1000)} s after it was created (PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS): cancelled`);
    }
    if (latest) {
      await sleep(wait, signal);
      wait = Math.min(maxWait, wait * 1.5);
      if (checkpoints.wanted && !(await checkpoints.wanted())) {
        // e.g. its run was cancelled after the run API looked for open responses
        await requests.cancel(open.id).catch(() => {});
        await checkpoints.save(name, null);
        throw new ProviderError("invalid_input", `OpenAI response ${open.id} is no longer wanted (its run was cancelled): cancelled`);
      }
    }
    try {
      latest = await requests.retrieve(open.id, signal);
    } catch (error) {
      if (error instanceof ProviderError && error.kind === "invalid_input" && /\b404\b/.test(error.message)) {
        // gone (expired, or another project's key): ask again rather than fail the task for good
        await checkpoints.save(name, null);
        throw new ProviderError("server", `OpenAI no longer has response ${open.id} (404); a new one is requested`);
      }
      throw error;
    }
  }
  // billed now: on record once; a failed one's retry is a new request
  await checkpoints.save(name, latest.response.status === "completed" ? { ...open, done: true } : null);
  return { ...latest, billedNow: true };
}
