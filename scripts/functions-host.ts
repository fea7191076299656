// The local functions host: what `supabase functions serve` gives where Docker is missing. One Deno
// process (the pinned Deno, as the hosted Edge Runtime embeds) that
//   - loads every supabase/functions/<name>/index.ts as it is (their Deno.serve handler is captured),
//   - serves them at http://127.0.0.1:<port>/functions/v1/<name> (reachable with supabase-js
//     functions.invoke), passing them the path below /functions/v1 as the platform does,
//   - provides EdgeRuntime.waitUntil and fires `beforeunload` on SIGTERM/SIGINT,
//   - LISTENs for pm_pipeline_dispatch and invokes the named function over HTTP, which is what
//     pg_net does on hosted Supabase,
//   - loads the function secrets from supabase/functions/.env as `supabase functions serve` does
//     (PM_LEADS_FUNCTIONS_ENV_FILE names another file, as its --env-file does), under the values
//     its own environment has (the shell that started it and stack.env win over the file),
//   - every PM_LEADS_LOCAL_CRON_SECONDS (10) runs what our pg_cron jobs run every 10 s on hosted
//     Supabase (pg_cron >= 1.5); Debian's pg_cron 1.4 cannot schedule below a minute.
// Local tooling only: the functions do not know it exists.
//
//   deno run --allow-all scripts/functions-host.ts      (scripts/stack.sh start runs it)
import postgres from "postgres";
import { redact } from "../shared/secrets/redact.ts";
import { isConnectionError } from "../shared/api/connection.ts";
import { applyEnvFile, parseFunctionsEnvFile } from "./lib/env-file.ts";

type Handler = (request: Request) => Response | Promise<Response>;

// before anything reads the environment: the functions read their secrets when they are loaded or called
const envFileGiven = Deno.env.get("PM_LEADS_FUNCTIONS_ENV_FILE");
const envFile = envFileGiven || new URL("../supabase/functions/.env", import.meta.url).pathname;
let secretsFromFile: string[] = [];
try {
  const parsed = parseFunctionsEnvFile(Deno.readTextFileSync(envFile));
  // the platform's own names (SUPABASE_URL, SUPABASE_DB_URL, …) come from the stack, as the CLI says
  for (const name of parsed.skipped) console.error(`functions host: env name cannot start with SUPABASE_, skipping: ${name}`);
  secretsFromFile = applyEnvFile(parsed, Deno.env);
} catch (error) {
  // the default file is optional; one named on purpose must be there (as for --env-file)
  if (envFileGiven || !(error instanceof Deno.errors.NotFound)) {
    console.error(`functions host: cannot read the env file ${envFile}: ${(error as Error).message}`);
    Deno.exit(2);
  }
}

const port = Number(Deno.env.get("PM_LEADS_FUNCTIONS_PORT") ?? "55433");
const secret = Deno.env.get("PM_LEADS_WORKER_SECRET");
const dbUrl = Deno.env.get("SUPABASE_DB_URL");
if (!secret || !dbUrl) {
  console.error("functions host: SUPABASE_DB_URL and PM_LEADS_WORKER_SECRET must be set (see .local/stack.env)");
  Deno.exit(2);
}

// (postgres.js's write-after-close timer error is dropped by shared/edge/runtime.ts, for every function
// and this host alike: one global listener of the process.)
// A database promise that nobody awaits and that fails at the connection level (the database went
// away) would end the host too; it is logged with its stack, for whoever left it unawaited.
globalThis.addEventListener("unhandledrejection", (event) => {
  if (!isConnectionError(event.reason)) return;
  event.preventDefault();
  console.error(JSON.stringify({ host: "unhandled connection error (ignored)", error: String((event.reason as Error)?.stack ?? event.reason) }));
});

const pending = new Set<Promise<unknown>>();
(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    pending.add(promise);
    promise.finally(() => pending.delete(promise));
  },
};

// Load each function with Deno.serve swapped for a stub that keeps its handler.
const handlers = new Map<string, Handler>();
const functionsDir = new URL("../supabase/functions/", import.meta.url);
const realServe = Deno.serve;
for (const entry of [...Deno.readDirSync(functionsDir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
  let captured: Handler | undefined;
  (Deno as { serve: unknown }).serve = (...args: unknown[]) => {
    captured = args.find((a) => typeof a === "function") as Handler ??
      (args[0] as { handler?: Handler })?.handler;
    return { finished: Promise.resolve(), shutdown: async () => {}, ref() {}, unref() {}, addr: { hostname: "127.0.0.1", port, transport: "tcp" } };
  };
  await import(new URL(`${entry.name}/index.ts`, functionsDir).href);
  if (captured) handlers.set(entry.name, captured);
}
(Deno as { serve: unknown }).serve = realServe;

// The web app's build (web/dist, made by `npm run web:build`) at /app/: a static site, as any
// static host would serve it. Hashed assets never change (long cache); index.html is revalidated.
const appDir = new URL("../web/dist/", import.meta.url);
const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8",
  json: "application/json", map: "application/json", svg: "image/svg+xml", png: "image/png", ico: "image/x-icon",
  woff2: "font/woff2", txt: "text/plain; charset=utf-8", webmanifest: "application/manifest+json",
};
async function serveApp(pathname: string): Promise<Response> {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.replace(/^\/app\/?/, ""));
  } catch {
    return new Response("bad path", { status: 400 });
  }
  // no way out of web/dist: no "..", no absolute or backslash paths, no NUL, no dot files
  const parts = relative.split("/").filter((part) => part !== "");
  if (parts.some((part) => part === ".." || part.startsWith(".") || part.includes("\\") || part.includes("\0"))) {
    return new Response("not found", { status: 404 });
  }
  const file = parts.length === 0 ? "index.html" : parts.join("/");
  let body: Uint8Array;
  try {
    body = await Deno.readFile(new URL(file, appDir));
  } catch {
    const message = file === "index.html" ? "the web app is not built: run npm run web:build" : "not found";
    return new Response(message, { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  const extension = file.split(".").pop() ?? "";
  const hashed = file.startsWith("assets/");
  return new Response(body, {
    headers: {
      "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
      "x-content-type-options": "nosniff",
    },
  });
}

let stopping = false;
const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
  const url = new URL(request.url);
  // a platform that is shutting an isolate down sends it no new requests
  if (stopping) return Response.json({ error: "shutting down" }, { status: 503 });
  // the pid lets scripts/stack.sh tell its own host from another program on the port
  if (url.pathname === "/_health") return Response.json({ functions: [...handlers.keys()], pid: Deno.pid });
  if (url.pathname === "/app" || url.pathname.startsWith("/app/")) {
    return request.method === "GET" || request.method === "HEAD" ? serveApp(url.pathname) : new Response(null, { status: 405 });
  }
  const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const handler = match && handlers.get(match[1]);
  if (!handler) return Response.json({ error: `no function at ${url.pathname}` }, { status: 404 });
  url.pathname = `/${match[1]}${match[2] ?? ""}`;
  try {
    return await handler(new Request(url, request));
  } catch (error) {
    console.error(redact(JSON.stringify({ function: match[1], error: String(error) })));
    return Response.json({ error: "function crashed" }, { status: 500 });
  }
});
// Dispatches from the database (the NOTIFY branch of pm_pipeline.dispatch_workers).
// PM_LEADS_HOST_TRACE_DISPATCH=1 logs when each dispatch arrived (epoch ms) once answered, for
// bench/latency.ts to tell where a cold start's time goes.
const traceDispatch = Deno.env.get("PM_LEADS_HOST_TRACE_DISPATCH") === "1";
const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
await sql.listen("pm_pipeline_dispatch", (payload) => {
  const received = Date.now();
  const { function: name, kind } = JSON.parse(payload) as { function: string; kind?: string };
  fetch(`http://127.0.0.1:${port}/functions/v1/${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: payload,
  }).then((response) => {
    if (traceDispatch) console.log(JSON.stringify({ dispatch: name, kind, received_at: received, status: response.status }));
    return response.body?.cancel();
  }).catch((error) => console.error(JSON.stringify({ dispatch: name, error: String(error) })));
});
// up once it LISTENs: a task inserted after this line is dispatched (before it, only the cron tick
// would find it); the names of the secrets taken from the env file, never their values
console.log(JSON.stringify({ host: `http://127.0.0.1:${port}/functions/v1/`, functions: [...handlers.keys()], envFile, secretsFromFile }));

// ready once it listens: a run started right after this line (tests, benchmarks) is dispatched by its
// NOTIFY, not 10 s later by the tick (bench:agents found every first discovery waiting for the tick)
// the names of the secrets taken from the env file, never their values
console.log(JSON.stringify({ host: `http://127.0.0.1:${port}/functions/v1/`, functions: [...handlers.keys()], envFile, secretsFromFile }));

// Hosted pg_cron's 10-second schedule of the release and dispatch jobs (the migrations schedule
// them every minute on pg_cron 1.4, which still runs them here as well).
const cronSeconds = Number(Deno.env.get("PM_LEADS_LOCAL_CRON_SECONDS") ?? "10");
const cron = setInterval(async () => {
  try {
    await sql`select count(*) from pm_pipeline.release_dead_worker_leases()`;
    await sql`select pm_pipeline.dispatch_waiting_work()`;
  } catch (error) {
    console.error(JSON.stringify({ cron: String(error) }));
  }
}, cronSeconds * 1000);

async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(JSON.stringify({ host: "stopping", signal, pending: pending.size }));
  clearInterval(cron);
  // as the platform does before it ends an isolate: beforeunload, then a short grace for the work
  globalThis.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "termination" } }));
  await Promise.race([Promise.allSettled([...pending]), new Promise((resolve) => setTimeout(resolve, 5000))]);
  console.log(JSON.stringify({ host: "stopped", signal }));
  await Promise.race([server.shutdown(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
