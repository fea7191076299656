// Worker settings from the environment (names from the old system where it had them). Parsed from a
// plain record so that this file needs no runtime: the Edge Function passes Deno.env, tests pass objects.
import { z } from "zod";
import type { RetryPolicy } from "./retry.ts";

const seconds = (fallback: number, max: number) => z.coerce.number().positive().max(max).default(fallback);

const Env = z.object({
  WORKER_HEARTBEAT_INTERVAL: seconds(10, 300),
  // well inside an Edge Function's 150 s wall clock
  WORKER_TIME_BUDGET_SECONDS: seconds(120, 3600),
  // do not claim a task with less than this left of the budget (an LLM call with web search can
  // take a minute: PM_LEADS_OPENAI_TIMEOUT_MS)
  WORKER_MIN_TASK_SECONDS: seconds(60, 3600),
  // with nothing to claim but tasks of the kind queued for later or running elsewhere, poll this
  // long before the invocation ends (longer than a lease, so a crashed worker's task is taken over)
  WORKER_IDLE_WAIT_SECONDS: z.coerce.number().min(0).max(600).default(45),
  WORKER_POLL_MS: z.coerce.number().int().min(20).max(60_000).default(1000),
  // an idle worker is woken by the database (LISTEN pm_pipeline_task_ready, on a connection of its
  // own) instead of waiting out its poll; auto: not through a transaction-mode pooler (port 6543),
  // which does not support LISTEN (shared/worker/wake.ts). Polling stays on as the safety net.
  WORKER_LISTEN: z.enum(["auto", "on", "off"]).default("auto"),
  // with nothing queued or running, a listening worker stays this long, warm for the next task,
  // before it stops (docs/architecture.md, "Waking workers"); one that only polls stops at once
  WORKER_LINGER_SECONDS: z.coerce.number().min(0).max(600).default(5),
  WORKER_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  WORKER_RETRY_BASE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  WORKER_RETRY_MAX_MS: z.coerce.number().int().min(0).max(600_000).default(8000),
  LEAD_LIST_BATCH_SIZE: z.coerce.number().int().min(1).max(100).default(10),
});

export interface WorkerConfig {
  heartbeatSeconds: number;
  timeBudgetSeconds: number;
  minTaskSeconds: number;
  idleWaitSeconds: number;
  pollMs: number;
  listen: "auto" | "on" | "off";
  lingerSeconds: number;
  retry: RetryPolicy;
  leadListBatchSize: number;
}

export function workerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const parsed = Env.safeParse(Object.fromEntries(Object.keys(Env.shape).map((k) => [k, env[k] === "" ? undefined : env[k]])));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`bad worker setting ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    heartbeatSeconds: e.WORKER_HEARTBEAT_INTERVAL,
    timeBudgetSeconds: e.WORKER_TIME_BUDGET_SECONDS,
    minTaskSeconds: Math.min(e.WORKER_MIN_TASK_SECONDS, e.WORKER_TIME_BUDGET_SECONDS),
    idleWaitSeconds: e.WORKER_IDLE_WAIT_SECONDS,
    pollMs: e.WORKER_POLL_MS,
    listen: e.WORKER_LISTEN,
    lingerSeconds: e.WORKER_LINGER_SECONDS,
    retry: { attempts: e.WORKER_RETRY_ATTEMPTS, baseMs: e.WORKER_RETRY_BASE_MS, maxMs: e.WORKER_RETRY_MAX_MS },
    leadListBatchSize: e.LEAD_LIST_BATCH_SIZE,
  };
}
