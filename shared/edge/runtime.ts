// The runtime seam: the only place in shared/ that touches Deno and the Edge Runtime. The local
// functions host (scripts/functions-host.ts) provides the same globals the hosted platform does.
import postgres, { type Sql } from "postgres";
import { rememberSecrets } from "../secrets/redact.ts";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

/** The function's settings; their secrets are remembered so that nothing stored, returned or logged quotes them. */
export function env(): Record<string, string | undefined> {
  const vars = Deno.env.toObject();
  rememberSecrets(vars);
  return vars;
}

/** Keeps the isolate alive for background work after the response (a plain promise elsewhere). */
export function waitUntil(promise: Promise<unknown>): void {
  if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(promise);
}

/** Calls `handler` when the platform is about to shut the isolate down; returns a remover. */
export function onShutdown(handler: (reason: string) => void): () => void {
  const listener = (event: Event) => handler((event as CustomEvent<{ reason?: string }>).detail?.reason ?? "shutdown");
  globalThis.addEventListener("beforeunload", listener);
  return () => globalThis.removeEventListener("beforeunload", listener);
}

let client: Sql | null = null;

// postgres.js 3.4.9 can throw from a timer when the server closes a connection it is writing to
// (porsager/postgres#1154, #1208; a backend terminated, a database restart): the error escapes every
// await and would end the isolate with all its workers. The query already failed with
// CONNECTION_CLOSED and is retried, so this one stray error is logged and dropped; others are not.
function dropWriteAfterClose(event: ErrorEvent): void {
  const error = event.error;
  if (error instanceof TypeError && /reading 'write'/.test(error.message) && /nextWrite/.test(error.stack ?? "")) {
    event.preventDefault();
    console.error(JSON.stringify({ dropped: "postgres.js write after its connection closed (porsager/postgres#1154)" }));
  }
}
globalThis.addEventListener("error", dropWriteAfterClose);

// postgres.js waits longer after each failed connect, 3^n/100 s up to 20 s, counted for the whole
// pool: during an outage every query, an API request's included, waited that long before it could
// fail (5-8 s per request were measured), and the first one after the outage as long before it ran.
// Capped at 1 s: a request learns within about a second that the database is away, and sees it back
// within about a second; a pool of 3 then tries at most 3 connects a second.
export const reconnectDelaySeconds = (failures: number) => Math.min(0.05 * 2 ** failures, 1) * (0.5 + Math.random() / 2);

/** One small postgres.js client per isolate; PM_LEADS_DB_URL (e.g. the pooler, port 6543) wins over SUPABASE_DB_URL. */
export function database(): Sql {
  const url = Deno.env.get("PM_LEADS_DB_URL") || Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("neither PM_LEADS_DB_URL nor SUPABASE_DB_URL is set");
  client ??= postgres(url, {
    prepare: false, max: Number(Deno.env.get("PM_LEADS_DB_POOL") ?? 3), idle_timeout: 20, backoff: reconnectDelaySeconds, onnotice: () => {},
  });
  return client;
}

export function serve(handler: (request: Request) => Response | Promise<Response>): void {
  Deno.serve(handler);
}
