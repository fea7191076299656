// Retries inside one invocation, for transient errors only (failure.ts: the errors that say so).
// The task-level retry in SQL (fail_task with backoff) takes over once these are spent.
import { isTransient, WorkError } from "./failure.ts";
import { redact } from "../secrets/redact.ts";
import { sleep as abortableSleep } from "../lib/abort.ts";

export interface RetryPolicy {
  /** tries in all, the first included */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 1000, maxMs: 8000 };

export interface AttemptRecord {
  attempt: number;
  error: string;
  kind: string;
  waited_ms: number;
}

/** Full jitter: a random wait in [0, min(max, base * 2^(attempt-1))], but never below retry-after. */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs = 0, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.max(Math.round(random() * ceiling), Math.min(retryAfterMs, policy.maxMs * 4));
}

/**
 * Runs `call` until it succeeds, fails permanently, or the attempts are spent; records every failed
 * attempt in `log`. Throws the last error.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: { policy?: RetryPolicy; signal: AbortSignal; log: AttemptRecord[]; sleep?: (ms: number, signal: AbortSignal) => Promise<void> },
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      options.signal.throwIfAborted();
      return await call();
    } catch (error) {
      const transient = isTransient(error);
      const last = attempt >= policy.attempts || !transient || options.signal.aborted;
      const waited = last ? 0 : backoffMs(policy, attempt, transient ? error.retryAfterMs : 0);
      options.log.push({
        attempt,
        error: redact(error instanceof Error ? error.message : String(error)),
        kind: error instanceof WorkError ? error.kind : "error",
        waited_ms: waited,
      });
      if (last) throw error;
      await sleep(waited, options.signal);
    }
  }
}
