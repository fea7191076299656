// Connection-level database failures: the connection broke or never came (a restart, a terminated
// backend, the network), which says nothing about the statement itself. One place decides what
// counts, so the run API and the tests that break the database agree.

// postgres.js's own codes, the socket's, and SQLSTATEs of a server that is going or not there yet
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT",
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
  "57P01", "57P02", "57P03", // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now
]);
// Deno's socket errors carry a class name, not always a code
const CONNECTION_NAMES = new Set(["ConnectionRefused", "ConnectionReset", "ConnectionAborted", "BrokenPipe", "NotConnected", "TimedOut"]);

export function isConnectionError(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || /^08/.test(code))) return true; // class 08: connection exception
  return typeof name === "string" && CONNECTION_NAMES.has(name);
}

/**
 * The server chose this statement as the victim of a deadlock or a serialization conflict and
 * rolled it back: nothing of it committed, so running it again is always safe.
 */
export function isRolledBack(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return code === "40P01" || code === "40001";
}

/**
 * Runs `work`, again (up to `retries` times) when it fails at the connection level; postgres.js
 * opens a fresh connection for the next attempt. Only for statements that are safe to repeat.
 * A statement the server rolled back (isRolledBack) gets one more try in any case.
 */
export async function retryOnConnectionError<T>(work: () => Promise<T>, retries = 1): Promise<T> {
  for (let attempt = 0, rolledBack = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (isRolledBack(error) && rolledBack++ < 1) continue;
      if (attempt >= retries || !isConnectionError(error)) throw error;
    }
  }
}
