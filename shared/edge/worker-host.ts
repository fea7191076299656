// An Edge Function that is a worker: answers 202 at once and works in the background until the
// queue is empty or its time budget is spent; on shutdown it gives its lease back. Which worker, with
// which tools, is the function's own wiring (shared/functions/): this file knows only the runtime.
import type { Worker, WorkerEvent } from "../worker/runtime.ts";
import { checkWorkerSecret, json } from "./http.ts";
import { env, onShutdown, serve, waitUntil } from "./runtime.ts";
import { redact } from "../secrets/redact.ts";

/**
 * A worker id per invocation: LEAD_LIST_WORKER_ID etc. (the old system's names) or the function's
 * name, then the execution and a random part.
 */
export function newWorkerId(kind: string, functionName: string, vars: Record<string, string | undefined>): string {
  const execution = vars.SB_EXECUTION_ID || crypto.randomUUID();
  return `${vars[`${kind.toUpperCase()}_WORKER_ID`] || functionName}-${execution.slice(0, 8)}-${crypto.randomUUID().slice(0, 4)}`;
}

/** One JSON line per worker event, for the function's logs. */
export const logFor = (workerId: string) => (e: WorkerEvent) => console.log(redact(JSON.stringify({ worker: workerId, ...e })));

/** Runs the worker after the response; when the platform shuts the isolate down, it gives its lease back. */
export function runInBackground<Tools>(worker: Worker<Tools>): void {
  const removeListener = onShutdown((reason) => void worker.shutdown(reason));
  waitUntil(
    worker.run()
      .then((summary) => console.log(JSON.stringify(summary)))
      .catch((error) => console.error(redact(JSON.stringify({ worker: worker.workerId, error: String(error) }))))
      .finally(removeListener),
  );
}

/**
 * Serves a worker function of task kind `kind`: `build` makes the invocation's worker from the
 * function's settings (a setting it refuses is a 500 naming it, before anything runs).
 */
export function serveWorker<Tools>(
  functionName: string,
  kind: string,
  build: (vars: Record<string, string | undefined>, workerId: string) => Worker<Tools>,
): void {
  serve((request) => {
    const vars = env();
    const denied = checkWorkerSecret(request, vars.PM_LEADS_WORKER_SECRET);
    if (denied) return denied;
    if (request.method !== "POST") return json(405, { error: "use POST" });

    let worker: Worker<Tools>;
    try {
      worker = build(vars, newWorkerId(kind, functionName, vars));
    } catch (error) {
      return json(500, { error: redact((error as Error).message) });
    }
    runInBackground(worker);
    return json(202, { worker_id: worker.workerId, kind });
  });
}
