// The one way tests wait for something: a condition with a deadline, never a fixed sleep.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Falsy = null | undefined | false;

/**
 * Polls `check` (every `intervalMs`) until it returns something truthy, and returns that; after
 * `timeoutMs` it fails naming `what` it waited for (a function: evaluated then, e.g. to tell the
 * last state seen).
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(intervalMs);
  }
}
