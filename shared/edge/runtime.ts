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

/** One small postgres.js client per isolate; PM_LEADS_DB_URL (e.g. the pooler, port 6543) wins over SUPABASE_DB_URL. */
export function database(): Sql {
  const url = Deno.env.get("PM_LEADS_DB_URL") || Deno.env.get("SUPABASE_DB_URL");
  if (!url) throw new Error("neither PM_LEADS_DB_URL nor SUPABASE_DB_URL is set");
  client ??= postgres(url, { prepare: false, max: Number(Deno.env.get("PM_LEADS_DB_POOL") ?? 3), idle_timeout: 20, onnotice: () => {} });
  return client;
}

export function serve(handler: (request: Request) => Response | Promise<Response>): void {
  Deno.serve(handler);
}
