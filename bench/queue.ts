// Queue throughput benchmark: no-op tasks drained per second by our queue (pm_pipeline, through
// its SQL API) and by two peers, graphile-worker and pg-boss, on the same database in one run.
//
//   npm run bench:queue [-- --tasks 10000] [--json results.json] [--only ours,graphile-worker,pg-boss]
//
// Every configuration enqueues its tasks first; the timer covers draining only. After each one
// the script checks that every task ran exactly once (a per-task counter in the handler plus the
// system's own tables) and throws otherwise. Our side runs as in production: each claim mints
// leases, completions are token-checked, and every worker heartbeats on a timer and stops itself.
// Our single-task worker either completes and claims in two calls (complete, then claim_tasks) or
// in one (complete_and_claim: one round trip and one commit per task, what shared/worker/runtime.ts
// does in one transaction). graphile-worker runs in its default mode and in its batched mode (a
// local queue of prefetched jobs, completions and failures batched).
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Logger, run, runMigrations, type WorkerEvents } from "graphile-worker";
import PgBoss from "pg-boss";
import postgres, { type Sql } from "postgres";
import { databaseUrl, repoRoot } from "../scripts/lib/stack-env.ts";
import { queue } from "../shared/queue/client.ts";
import { printTable } from "./table.ts";

const KIND = "bench_noop"; // our task kind, graphile-worker task identifier and pg-boss queue name
const WORKER_PREFIX = "bench-"; // our worker ids, so cleanup finds their heartbeat rows
const HEARTBEAT_MS = 10_000; // production heartbeat interval (pm_pipeline.settings)
const PGBOSS_POLL_SECONDS = 0.5; // pg-boss's documented minimum pollingIntervalSeconds (default 2)
const COMPLETION_POLL_MS = 10; // how often we look whether pg-boss has finished
const DRAIN_TIMEOUT_MS = 300_000; // a drain that hangs (a lost connection, a stuck peer) fails the run

type System = "ours" | "graphile-worker" | "pg-boss";

interface Config {
  system: System;
  workers: number; // ours: connections; graphile-worker: concurrency; pg-boss: work() calls
  batch: number; // tasks per claim (graphile-worker: jobs per fetch, its localQueue size; 1 = default mode)
  /** ours, batch 1: complete and claim the next task in one call (complete_and_claim) */
  combined?: boolean;
  /** graphile-worker batched mode: completeJobBatchDelay and failJobBatchDelay, in ms */
  batchDelayMs?: number;
  maxTasks?: number; // for polling-bound configurations that would otherwise run for minutes
}

interface Result {
  system: System;
  configuration: string;
  workers: number;
  batch: number;
  combined: boolean;
  tasks: number;
  seconds: number;
  per_second: number;
}

// One table of configurations, run in this order.
const CONFIGS: Config[] = [
  { system: "ours", workers: 1, batch: 1 },
  { system: "ours", workers: 10, batch: 1 },
  { system: "ours", workers: 16, batch: 1 },
  { system: "ours", workers: 1, batch: 1, combined: true },
  { system: "ours", workers: 4, batch: 1, combined: true },
  { system: "ours", workers: 10, batch: 1, combined: true },
  { system: "ours", workers: 16, batch: 1, combined: true },
  { system: "ours", workers: 1, batch: 100 },
  { system: "ours", workers: 4, batch: 10 },
  { system: "ours", workers: 4, batch: 100 },
  { system: "ours", workers: 16, batch: 10 },
  // as large as graphile-worker's largest local queue below
  { system: "ours", workers: 1, batch: 500 },
  { system: "ours", workers: 2, batch: 500 },
  { system: "graphile-worker", workers: 1, batch: 1 }, // its default mode and concurrency
  { system: "graphile-worker", workers: 10, batch: 1 },
  // batched mode: the pool prefetches (and locks) localQueue.size jobs; completions are written
  // in batches after the delay (its docs suggest starting at 250 ms)
  { system: "graphile-worker", workers: 1, batch: 100, batchDelayMs: 250 },
  { system: "graphile-worker", workers: 10, batch: 100, batchDelayMs: 250 },
  { system: "graphile-worker", workers: 10, batch: 500, batchDelayMs: 10 },
  { system: "graphile-worker", workers: 16, batch: 500, batchDelayMs: 250 },
  // pg-boss sleeps out the polling interval after every fetch, even a full one, so a worker drains
  // at most batchSize / 0.5 s: 4 x 10 is capped at 80 tasks/s, hence fewer tasks there.
  { system: "pg-boss", workers: 4, batch: 10, maxTasks: 800 },
  { system: "pg-boss", workers: 4, batch: 100 },
  { system: "pg-boss", workers: 16, batch: 100 },
];

function describe(c: Config): string {
  switch (c.system) {
    case "ours":
      return `${c.workers} worker${c.workers > 1 ? "s" : ""}, claim ${c.batch}, ` +
        (c.combined ? "complete_and_claim" : c.batch === 1 ? "complete" : "completeMany");
    case "graphile-worker":
      return c.batch === 1 ? `concurrency ${c.workers}, default mode`
        : `concurrency ${c.workers}, batched: localQueue ${c.batch}, batch delays ${c.batchDelayMs} ms`;
    case "pg-boss":
      return `${c.workers} x work(batchSize ${c.batch}), poll ${PGBOSS_POLL_SECONDS} s`;
  }
}

/** What each system provides: a clean slate, an enqueue, a timed drain, a check and a reset. */
interface Contender {
  setup(): Promise<void>;
  enqueue(n: number): Promise<void>;
  tables: string[]; // vacuumed after enqueueing so that every drain starts from the same state
  /** Drains the queue, counting each task's handler call in seen[i]; returns seconds taken. */
  drain(config: Config, n: number, seen: Uint8Array): Promise<number>;
  verify(config: Config, n: number): Promise<void>;
  reset(): Promise<void>;
  teardown(): Promise<void>;
}

const fail = (message: string): never => {
  throw new Error(`verification failed: ${message}`);
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const connect = (url: string, max = 1) => postgres(url, { max, onnotice: () => {} });

const versionOf = (pkg: string): string =>
  JSON.parse(readFileSync(`${repoRoot}node_modules/${pkg}/package.json`, "utf8")).version;

// ---------------------------------------------------------------------------------------------
// Ours: pm_pipeline's SQL API through shared/queue/client.ts, one connection per worker.

function ours(url: string, admin: Sql): Contender {
  const cleanup = async () => {
    await admin`delete from pm_pipeline.tasks where kind = ${KIND}`;
    await admin`delete from pm_pipeline.worker_heartbeats where worker_id like ${WORKER_PREFIX + "%"}`;
  };
  return {
    tables: ["pm_pipeline.tasks", "pm_pipeline.worker_heartbeats"],
    async setup() {
      await cleanup(); // leftovers of an interrupted run
      await admin`
        insert into pm_pipeline.task_kinds (kind, description, lease_seconds)
        values (${KIND}, 'queue benchmark no-op (bench/queue.ts)', 30)
        on conflict (kind) do nothing`;
    },
    async enqueue(n) {
      const q = queue(admin);
      for (let from = 0; from < n; from += 10_000) {
        const items = Array.from({ length: Math.min(10_000, n - from) }, (_, k) => ({ payload: { i: from + k } }));
        await q.enqueue(KIND, null, items);
      }
    },
    async drain(config, _n, seen) {
      const clients = Array.from({ length: config.workers }, () => connect(url));
      await Promise.all(clients.map((sql) => sql`select 1`)); // connect before the clock starts
      try {
        // fresh ids: a stopped worker id claims nothing more
        const ids = clients.map((_, w) => `${WORKER_PREFIX}${randomUUID().slice(0, 8)}-${w}`);
        const started = performance.now();
        await Promise.all(clients.map((sql, w) => ourWorker(sql, ids[w], config, seen)));
        return (performance.now() - started) / 1000;
      } finally {
        await Promise.all(clients.map((sql) => sql.end()));
      }
    },
    async verify(config, n) {
      const [row] = await admin`
        select count(*)::int as total,
               count(*) filter (where state = 'succeeded' and attempts = 1)::int as once
          from pm_pipeline.tasks where kind = ${KIND}`;
      if (row.total !== n || row.once !== n) fail(`ours: ${row.once} of ${row.total} tasks succeeded at attempt 1, expected ${n}`);
      const [workers] = await admin`
        select count(*)::int as stopped from pm_pipeline.worker_heartbeats
         where worker_id like ${WORKER_PREFIX + "%"} and status = 'stopped'`;
      if (workers.stopped !== config.workers) fail(`ours: ${workers.stopped} of ${config.workers} workers recorded as stopped`);
    },
    reset: cleanup,
    async teardown() {
      await cleanup();
      await admin`delete from pm_pipeline.task_kinds where kind = ${KIND}`;
    },
  };
}

/** One worker: claim -> complete until a claim comes back empty, heartbeating every 10 s. */
async function ourWorker(sql: Sql, workerId: string, config: Config, seen: Uint8Array): Promise<void> {
  const { batch, combined } = config;
  const q = queue(sql);
  const beat = () => q.workerHeartbeat({ workerId, workerType: KIND, status: "processing" });
  await beat();
  let beatError: unknown;
  const timer = setInterval(() => beat().catch((e) => (beatError = e)), HEARTBEAT_MS);
  try {
    let tasks = await q.claim<{ i: number }>(workerId, [KIND], batch);
    while (combined && tasks.length > 0) {
      const [task] = tasks;
      seen[task.payload.i]++; // the no-op "work"
      const { completed, next } = await q.completeAndClaim<{ i: number }>(task, null, workerId, [KIND]);
      if (!completed) fail(`ours: ${workerId} lost the lease of task ${task.id}`);
      tasks = next;
    }
    for (; tasks.length > 0; tasks = await q.claim<{ i: number }>(workerId, [KIND], batch)) {
      for (const task of tasks) seen[task.payload.i]++; // the no-op "work"
      const leases = tasks.map((t) => ({ id: t.id, lease_token: t.lease_token! }));
      const completed = batch === 1 ? Number(await q.complete(leases[0])) : (await q.completeMany(leases)).length;
      if (completed !== tasks.length) fail(`ours: ${workerId} completed ${completed} of ${tasks.length} claimed tasks`);
    }
  } finally {
    clearInterval(timer);
    await q.stopWorker(workerId);
  }
  if (beatError) throw beatError;
}

// ---------------------------------------------------------------------------------------------
// graphile-worker 0.17: its own schema, jobs added with its SQL add_jobs; default settings, or its
// batched mode (localQueue, completeJobBatchDelay, failJobBatchDelay) through a preset.

function graphileWorker(url: string, admin: Sql): Contender {
  // its info lines ("Worker connected...") would drown the table; keep warnings and errors
  const logger = new Logger(() => (level, message) => {
    if (level === "error" || level === "warning") console.error(`[graphile-worker] ${message}`);
  });
  return {
    tables: ["graphile_worker._private_jobs"],
    async setup() {
      await admin`drop schema if exists graphile_worker cascade`;
      await runMigrations({ connectionString: url, logger });
    },
    async enqueue(n) {
      await admin`
        select count(*) from graphile_worker.add_jobs(array(
          select row(${KIND}, json_build_object('i', i), null, null, null, null, null, null)::graphile_worker.job_spec
            from generate_series(0, ${n - 1}::int) i))`;
    },
    async drain(config, n, seen) {
      const events: WorkerEvents = new EventEmitter();
      let done = 0;
      // job:complete fires once the handler is done, before (0.17 does not await it) or long before
      // (batched mode) its row is deleted: the clock stops when the table is empty
      const allDone = new Promise<void>((resolve, reject) => {
        events.on("job:complete", ({ error }) => (error ? reject(error) : ++done === n && resolve()));
        events.on("worker:fatalError", ({ error }) => reject(error));
      });
      const started = performance.now(); // the runner's start (pool, LISTEN) is inside the timing
      const runner = await run({
        connectionString: url,
        concurrency: config.workers,
        taskList: { [KIND]: async (payload) => void seen[(payload as { i: number }).i]++ },
        parsedCronItems: [],
        noHandleSignals: true,
        logger,
        events,
        ...(config.batch > 1 && {
          preset: {
            worker: {
              localQueue: { size: config.batch },
              completeJobBatchDelay: config.batchDelayMs,
              failJobBatchDelay: config.batchDelayMs,
            },
          },
        }),
      });
      try {
        await allDone;
        for (;;) {
          const [row] = await admin`select count(*)::int as left from graphile_worker._private_jobs`;
          if (row.left === 0) break;
          await sleep(COMPLETION_POLL_MS);
        }
        return (performance.now() - started) / 1000;
      } finally {
        await runner.stop();
      }
    },
    async verify() {
      const [row] = await admin`select count(*)::int as left from graphile_worker._private_jobs`;
      if (row.left !== 0) fail(`graphile-worker: ${row.left} jobs left in its table`);
    },
    async reset() {},
    async teardown() {
      await admin`drop schema if exists graphile_worker cascade`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// pg-boss 10: its own schema, jobs inserted in bulk with insert(), one PgBoss per configuration.

function pgBoss(url: string, admin: Sql): Contender {
  const boss = () => {
    const b = new PgBoss({ connectionString: url, schema: "pgboss" });
    b.on("error", (e) => console.error(`[pg-boss] ${e.message}`));
    return b;
  };
  const withBoss = async (f: (b: PgBoss) => Promise<unknown>) => {
    const b = boss();
    await b.start();
    try {
      await f(b);
    } finally {
      await b.stop({ graceful: true, wait: true });
    }
  };
  return {
    tables: ["pgboss.job"],
    async setup() {
      await admin`drop schema if exists pgboss cascade`;
      await withBoss((b) => b.createQueue(KIND)); // v10 needs the queue before send/insert/work
    },
    async enqueue(n) {
      await withBoss((b) => b.insert(Array.from({ length: n }, (_, i) => ({ name: KIND, data: { i } }))));
    },
    async drain(config, n, seen) {
      const b = boss();
      await b.start(); // pool and schema check before the clock starts
      try {
        let handled = 0;
        const started = performance.now();
        for (let w = 0; w < config.workers; w++) {
          await b.work<{ i: number }>(KIND, { batchSize: config.batch, pollingIntervalSeconds: PGBOSS_POLL_SECONDS }, async (jobs) => {
            for (const job of jobs) seen[job.data.i]++;
            handled += jobs.length;
          });
        }
        // work() completes a batch without awaiting it, and pg-boss has no per-job event: wait for
        // the handlers in process, then count completed rows (polling the table all along would
        // load the database it is being measured on)
        while (handled < n) await sleep(COMPLETION_POLL_MS);
        for (;;) {
          const [row] = await admin`select count(*)::int as done from pgboss.job where name = ${KIND} and state = 'completed'`;
          if (row.done >= n) break;
          await sleep(COMPLETION_POLL_MS);
        }
        return (performance.now() - started) / 1000;
      } finally {
        await b.stop({ graceful: true, wait: true });
      }
    },
    async verify(_config, n) {
      const rows = await admin`
        select state, count(*)::int as count, max(retry_count)::int as retries
          from pgboss.job where name = ${KIND} group by state`;
      const ok = rows.length === 1 && rows[0].state === "completed" && rows[0].count === n && rows[0].retries === 0;
      if (!ok) fail(`pg-boss: expected ${n} completed jobs without retries, found ${JSON.stringify(rows)}`);
    },
    async reset() {
      await admin`delete from pgboss.job where name = ${KIND}`;
    },
    async teardown() {
      await admin`drop schema if exists pgboss cascade`;
    },
  };
}

// ---------------------------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not drain within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkExactlyOnce(system: System, seen: Uint8Array) {
  const missed = seen.findIndex((count) => count === 0);
  const twice = seen.findIndex((count) => count > 1);
  if (missed >= 0) fail(`${system}: task ${missed} never ran`);
  if (twice >= 0) fail(`${system}: task ${twice} ran ${seen[twice]} times`);
}

const best = (rs: Result[]) => rs.reduce<Result | undefined>((a, b) => (!a || b.per_second > a.per_second ? b : a), undefined);

/** The goals of issue 13: each a ratio of ours to a peer, printed with whether it is met. */
function printRatios(results: Result[]) {
  const mine = results.filter((r) => r.system === "ours");
  const peers = results.filter((r) => r.system !== "ours");
  const gwDefault = (workers: number) =>
    results.find((r) => r.system === "graphile-worker" && r.batch === 1 && r.workers === workers);
  const goals: { goal: string; ours?: Result; peer?: Result; min: number }[] = [
    { goal: "batch claims vs the fastest peer (aim 2x)", ours: best(mine.filter((r) => r.batch > 1)), peer: best(peers), min: 1 },
    ...[1, 10].map((workers) => ({
      goal: `single claims, ${workers} worker${workers > 1 ? "s" : ""} vs graphile-worker default mode`,
      ours: best(mine.filter((r) => r.batch === 1 && r.workers === workers)),
      peer: gwDefault(workers),
      min: 1,
    })),
  ];
  const rows = goals.filter((g) => g.ours && g.peer).map((g) => {
    const ratio = g.ours!.per_second / g.peer!.per_second;
    return [g.goal, `${g.ours!.configuration} (${Math.round(g.ours!.per_second)}/s)`,
      `${g.peer!.system}, ${g.peer!.configuration} (${Math.round(g.peer!.per_second)}/s)`,
      `${ratio.toFixed(2)}x`, `>= ${g.min.toFixed(1)}x`, ratio >= g.min ? "met" : "NOT met"];
  });
  if (rows.length === 0) return;
  console.log();
  printTable(["goal", "ours", "peer", "ours / peer", "goal", ""], rows);
}

async function main() {
  const { values } = parseArgs({
    options: {
      tasks: { type: "string", default: "10000" },
      json: { type: "string" },
      only: { type: "string" },
    },
  });
  const tasks = Number(values.tasks);
  if (!Number.isInteger(tasks) || tasks < 1) throw new Error(`--tasks must be a positive integer, got ${values.tasks}`);
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((s) => !CONFIGS.some((c) => c.system === s));
  if (unknown?.length) throw new Error(`--only: unknown system ${unknown.join(", ")} (ours, graphile-worker, pg-boss)`);
  const configs = CONFIGS.filter((c) => !only || only.includes(c.system));

  const url = databaseUrl();
  const admin = connect(url);
  const [{ server_version: pgVersion }] = await admin`show server_version`;
  const [{ synchronous_commit: syncCommit }] = await admin`show synchronous_commit`;
  const serverStart = async () => String((await admin`select pg_postmaster_start_time() as at`)[0].at);
  const startedAt = await serverStart();
  const cores = os.availableParallelism();
  console.log(`PostgreSQL ${pgVersion} (synchronous_commit ${syncCommit}), ${cores} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}`);
  const versions = ["graphile-worker", "pg-boss", "postgres"].map((pkg) => `${pkg} ${versionOf(pkg)}`).join(", ");
  console.log(`${versions}; up to ${tasks} no-op tasks per configuration\n`);

  const contenders: Record<System, Contender> = {
    ours: ours(url, admin),
    "graphile-worker": graphileWorker(url, admin),
    "pg-boss": pgBoss(url, admin),
  };
  const used = [...new Set(configs.map((c) => c.system))];
  const results: Result[] = [];
  try {
    for (const system of used) await contenders[system].setup();
    for (const config of configs) {
      const contender = contenders[config.system];
      const n = Math.min(tasks, config.maxTasks ?? tasks);
      await contender.enqueue(n);
      await admin.unsafe(`vacuum analyze ${contender.tables.join(", ")}`);
      const seen = new Uint8Array(n);
      const seconds = await withTimeout(contender.drain(config, n, seen), DRAIN_TIMEOUT_MS, `${config.system}, ${describe(config)}`);
      checkExactlyOnce(config.system, seen);
      await contender.verify(config, n);
      await contender.reset();
      const result: Result = {
        system: config.system, configuration: describe(config), workers: config.workers, batch: config.batch,
        combined: config.combined ?? false, tasks: n, seconds, per_second: n / seconds,
      };
      results.push(result);
      console.log(`  ${result.system}, ${result.configuration}: ${Math.round(result.per_second)} tasks/s`);
    }
    // a restart in between (someone else's stack.sh) would make the numbers meaningless
    if ((await serverStart()) !== startedAt) throw new Error("PostgreSQL restarted during the benchmark: run it again");
  } finally {
    for (const system of used) await contenders[system].teardown();
    await admin.end();
  }

  console.log();
  printTable(
    ["system", "configuration", "tasks", "seconds", "tasks/s"],
    results.map((r) => [r.system, r.configuration, r.tasks, r.seconds.toFixed(2), Math.round(r.per_second)]),
  );
  printRatios(results);

  if (values.json) {
    const machine = {
      postgres: pgVersion, synchronous_commit: syncCommit, cores, cpu: os.cpus()[0]?.model, node: process.version,
      load_average: os.loadavg(), packages: Object.fromEntries(["graphile-worker", "pg-boss", "postgres"].map((p) => [p, versionOf(p)])),
    };
    writeFileSync(values.json, JSON.stringify({ at: new Date().toISOString(), machine, tasks, results }, null, 2) + "\n");
    console.log(`\nresults written to ${values.json}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1); // a hung runner or pool would otherwise keep the process alive
});
