// The worker runtime's failure contract: how an error of a task's work says whether to try again.
// The runtime knows nothing of who threw it (a provider, a receiver): an error class that knows how
// its failures go on extends WorkError; any other error is a plain failure, retried by the SQL.

/** How a failed attempt ends: back to the queue after the SQL backoff (at least retryAfterSeconds), or failed for good. */
export interface Failure {
  retryable: boolean;
  retryAfterSeconds?: number;
  /** what kind of failure (e.g. a provider error's kind, or "error"): the SQL of a task kind may act on it */
  kind?: string;
}

export abstract class WorkError extends Error {
  /** what went wrong, in one word: recorded with every attempt and handed to the SQL */
  abstract readonly kind: string;
  /** worth another try at once, within this invocation (with backoff) */
  abstract readonly transient: boolean;
  /** no later attempt will do better: the task fails for good */
  abstract readonly permanent: boolean;
  /** the least wait before another try that the other side asked for (e.g. a server's retry-after) */
  abstract readonly retryAfterMs?: number;
}

/** Whether an error is worth another try now: only a WorkError that says it is transient. */
export function isTransient(error: unknown): error is WorkError {
  return error instanceof WorkError && error.transient;
}

/** A failure as the contract reads it: a WorkError says; anything else may be better next attempt. */
export function classifyFailure(error: unknown): Failure {
  if (!(error instanceof WorkError)) return { retryable: true, kind: "error" };
  return {
    retryable: !error.permanent,
    retryAfterSeconds: error.retryAfterMs ? error.retryAfterMs / 1000 : undefined,
    kind: error.kind,
  };
}
