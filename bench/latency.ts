// Pickup latency: from a task's insert to its handler starting, under a paced producer.
//
//   npm run bench:latency [-- --warm 200] [--cold 30] [--rate 20] [--json results.json] [--only warm,cold]
//
// warm: one worker of the real runtime (shared/worker/runtime.ts) idle and waiting, in this process;
//   the producer stamps each task's payload with this process's clock just before its insert is
//   sent, and the kind's work() reads the clock as it starts: insert sent -> handler started. Three
//   rows: ours woken by NOTIFY (WORKER_LISTEN=auto, lingering), ours polling as before
//   (WORKER_LISTEN=off, kept waiting by a task running elsewhere), and graphile-worker's
//   LISTEN/NOTIFY pickup (run(), concurrency 1), timed the same way in its task function.
// cold: no worker running; the real lead-list function on the real functions host
//   (tests/helpers/functions-host.ts), one run started (start_run: its first discovery task) every
//   ~2 s after the previous run's workers stopped. The handler's start is the claim: the task's
//   locked_at (now() of claim_tasks) minus its created_at (now() of the insert), both on the
//   database's clock; the worker row's started_at (register_worker) splits it into
//   insert -> trigger -> NOTIFY -> host -> HTTP -> function -> register, and register -> claim.
// Goals (issue 13): warm p50 < 10 ms and p99 < 50 ms; cold p99 < 500 ms.
import { EventEmitter } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Logger, run, runMigrations, type WorkerEvents } from "graphile-worker";
import postgres, { type Sql } from "postgres";
import { databaseUrl, repoRoot } from "../scripts/lib/stack-env.ts";
import { queue } from "../shared/queue/client.ts";
import { workerConfig } from "../shared/worker/config.ts";
import { Worker, type WorkerKind } from "../shared/worker/runtime.ts";
import { TASK_READY_CHANNEL } from "../shared/worker/wake.ts";
import { startHost } from "../tests/helpers/functions-host.ts";
import { percentile } from "./stats.ts";
import { printTable } from "./table.ts";

const KIND = "bench_latency"; // our task kind and graphile-worker's task identifier
const WORKER_PREFIX = "bench-latency-";
const COLD_GAP_MS = 2000;
const CRITERIA = { pms: "Buildium", states: ["TX"] };
const GOALS = { warmP50: 10, warmP99: 50, coldP99: 500 };

const { values: args } = parseArgs({
  options: {
    warm: { type: "string", default: "200" },
    cold: { type: "string", default: "30" },
    rate: { type: "string", default: "20" },
    json: { type: "string" },
    only: { type: "string", default: "warm,cold" },
  },
});
const warmN = Number(args.warm);
const coldN = Number(args.cold);
const rate = Number(args.rate);
const only = new Set(args.only!.split(",").map((s) => s.trim()));

interface Result {
  system: string;
  mode: string;
  samples: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const connect = (max = 1) => postgres(databaseUrl(), { max, onnotice: () => {}, prepare: false });
const versionOf = (pkg: string): string => JSON.parse(readFileSync(`${repoRoot}node_modules/${pkg}/package.json`, "utf8")).version;

function summarise(system: string, mode: string, samples: number[]): Result {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    system, mode, samples: samples.length,
    p50_ms: round(percentile(samples, 50)), p90_ms: round(percentile(samples, 90)),
    p99_ms: round(percentile(samples, 99)), max_ms: round(Math.max(...samples)),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sends n inserts at `rate` per second on a schedule of its own (a slow insert does not push the
 * next ones back); each payload carries the clock just before its insert is sent.
 */
async function produce(n: number, insert: (payload: { i: number; t: number }) => Promise<unknown>): Promise<number[]> {
  const start = performance.now() + 50;
  const sent: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // (a postgres.js query is sent when it is awaited: resolve it now, not at the end)
    const t = performance.now();
    sent.push(Promise.resolve(insert({ i, t })).then(() => performance.now() - t));
  }
  return await Promise.all(sent); // each insert's round trip: sent -> committed (its NOTIFY is out)
}

/** What the producer's inserts took, per warm row: the part of the latency before any worker can act. */
const insertTimes: { row: string; ms: number[] }[] = [];

/** The bench kind's handler: the clock at its start, against the producer's stamp. */
function timingKind(latencies: number[], done: () => void, n: number, split?: NotifySplit): WorkerKind {
  return {
    kind: KIND,
    async work(task) {
      const t = (task.payload as { t?: number }).t;
      if (typeof t === "number") {
        const now = performance.now();
        latencies.push(now - t);
        // the NOTIFY this task's insert sent is the last one in before its handler (inserts are 50 ms apart)
        const arrived = split?.arrivals.findLast((a) => a >= t && a <= now);
        if (split && arrived !== undefined) {
          split.toNotify.push(arrived - t);
          split.toHandler.push(now - arrived);
        }
        if (latencies.length === n) done();
      }
      return {};
    },
    async commit(sql, task, result) {
      if (!(await queue(sql).complete(task, result))) throw Object.assign(new Error("lease lost"), { code: "PM001" });
    },
  };
}

/** Where a warm task's time goes: insert sent -> its NOTIFY in this process -> the handler. */
interface NotifySplit {
  arrivals: number[];
  toNotify: number[];
  toHandler: number[];
}
let warmSplit: NotifySplit | null = null;

/** Ours, warm: one real worker idle and waiting in this process, the producer on another connection. */
async function oursWarm(admin: Sql, listen: "auto" | "off", n: number): Promise<number[]> {
  await admin`delete from pm_pipeline.tasks where kind = ${KIND}`;
  const workerSql = connect(3);
  const producer = connect(4);
  const latencies: number[] = [];
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const events: string[] = [];
  const worker = new Worker({
    sql: workerSql,
    kind: timingKind(latencies, () => allDone(), n, listen === "auto" ? (warmSplit = { arrivals: [], toNotify: [], toHandler: [] }) : undefined),
    tools: {},
    // production settings but the ones that keep it waiting through the whole measurement
    config: workerConfig({ WORKER_LISTEN: listen, WORKER_LINGER_SECONDS: "600", WORKER_IDLE_WAIT_SECONDS: "600", WORKER_MIN_TASK_SECONDS: "1", WORKER_TIME_BUDGET_SECONDS: "3600" }),
    workerId: `${WORKER_PREFIX}${listen}-${Date.now().toString(36)}`,
    log: (e) => events.push(e.event),
  });
  const q = queue(admin);
  let blocker: { id: string } | undefined;
  if (listen === "off") {
    // a worker that only polls does not linger: a task running elsewhere keeps it waiting, as it
    // waits today while other workers of its kind are busy
    [blocker] = await q.enqueue(KIND, null, [{ payload: { blocker: true } }]);
    await q.claim(`${WORKER_PREFIX}elsewhere`, [KIND]);
  }
  // a second listener on the worker's own LISTEN connection: when each NOTIFY reached this process
  const split = warmSplit;
  const tracer = listen === "auto" && split ? await workerSql.listen(TASK_READY_CHANNEL, () => void split.arrivals.push(performance.now())) : null;
  const running = worker.run();
  try {
    // idle and waiting: it has said so in its heartbeat row
    await withTimeout((async () => {
      for (;;) {
        const [row] = await admin`select status from pm_pipeline.worker_heartbeats where worker_id = ${worker.workerId}`;
        if (row?.status === "idle") return;
        await sleep(20);
      }
    })(), 30_000, "the worker going idle");
    insertTimes.push({
      row: `ours (${listen})`,
      ms: await produce(n, (payload) => producer`select from pm_pipeline.enqueue_tasks(${KIND}, null, ${producer.json([{ payload }] as never)})`),
    });
    await withTimeout(finished, 60_000, `ours (${listen}) handling ${n} tasks`);
  } finally {
    await worker.shutdown("benchmark over");
    await running;
    await tracer?.unlisten();
    await workerSql.end();
    await producer.end();
    if (blocker) await admin`delete from pm_pipeline.tasks where id = ${blocker.id}`;
  }
  if (listen === "auto" && events.includes("listen failed")) throw new Error("ours: the worker's LISTEN failed");
  return latencies;
}

/** graphile-worker, warm: run() with concurrency 1 waiting; jobs added with its SQL add_job. */
async function graphileWarm(admin: Sql, n: number): Promise<number[]> {
  const url = databaseUrl();
  const logger = new Logger(() => (level, message) => {
    if (level === "error" || level === "warning") console.error(`[graphile-worker] ${message}`);
  });
  await admin`drop schema if exists graphile_worker cascade`;
  await runMigrations({ connectionString: url, logger });
  const producer = connect(4);
  const latencies: number[] = [];
  const events: WorkerEvents = new EventEmitter();
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  events.once("pool:listen:success", () => listening());
  let allDone!: () => void;
  const finished = new Promise<void>((resolve, reject) => {
    allDone = resolve;
    events.on("worker:fatalError", ({ error }) => reject(error));
  });
  const runner = await run({
    connectionString: url,
    concurrency: 1,
    taskList: {
      [KIND]: async (payload) => {
        latencies.push(performance.now() - (payload as { t: number }).t);
        if (latencies.length === n) allDone();
      },
    },
    parsedCronItems: [],
    noHandleSignals: true,
    logger,
    events,
  });
  try {
    await withTimeout(ready, 30_000, "graphile-worker's LISTEN");
    await sleep(200); // its first fetch (nothing there) is over: it waits for a NOTIFY
    insertTimes.push({
      row: "graphile-worker",
      ms: await produce(n, (payload) => producer`select graphile_worker.add_job(${KIND}, ${producer.json(payload as never)}::json)`),
    });
    await withTimeout(finished, 60_000, `graphile-worker handling ${n} tasks`);
  } finally {
    await runner.stop();
    await producer.end();
    await admin`drop schema if exists graphile_worker cascade`;
  }
  return latencies;
}

interface ColdSample {
  total: number; // created_at -> locked_at
  toHost: number; // created_at -> the host has the dispatch NOTIFY (trigger, commit, NOTIFY)
  hostToRegister: number; // -> register_worker runs (HTTP, the function's handler, the worker built and started)
  registerToClaim: number;
}

/** The host's trace lines of lead_list dispatches (PM_LEADS_HOST_TRACE_DISPATCH), oldest first. */
const dispatchTraces = (output: string) => output.split("\n").flatMap((line) => {
  if (!line.startsWith('{"dispatch"')) return [];
  const trace = JSON.parse(line) as { kind?: string; received_at?: number };
  return trace.kind === "lead_list" && trace.received_at ? [trace as { received_at: number }] : [];
});

/** Ours, cold: runs started one at a time on the real functions host, no worker running before each. */
async function oursCold(admin: Sql, n: number): Promise<ColdSample[]> {
  const prefix = `cold${Date.now().toString(36)}`;
  // cold means no worker left from the run before: workers stop as soon as their queue is empty
  const host = await startHost(prefix, { WORKER_LINGER_SECONDS: "0", PM_LEADS_HOST_TRACE_DISPATCH: "1" });
  const samples: ColdSample[] = [];
  const liveWorkers = async () =>
    (await admin`select count(*)::int as n from pm_pipeline.v_active_workers where worker_id like ${`${prefix}-%`}`)[0].n as number;
  try {
    for (let round = 0; round < n; round++) {
      if ((await liveWorkers()) !== 0) throw new Error("cold: a worker is still running before the insert");
      const [run] = await admin`select id from pm_pipeline.start_run(${admin.json(CRITERIA)}, 1)`;
      const row = await withTimeout((async () => {
        for (;;) {
          const [t] = await admin`
            select extract(epoch from t.locked_at - t.created_at) * 1000 as total,
                   extract(epoch from t.created_at) * 1000 as created_ms,
                   extract(epoch from w.started_at) * 1000 as registered_ms,
                   extract(epoch from t.locked_at - w.started_at) * 1000 as register_to_claim
              from pm_pipeline.tasks t join pm_pipeline.worker_heartbeats w on w.worker_id = t.locked_by
             where t.run_id = ${run.id} and t.kind = 'lead_list' and t.locked_at is not null
             order by t.id limit 1`;
          if (t) return t;
          await sleep(10);
        }
      })(), 30_000, `cold round ${round + 1}: the first task's claim`);
      // this round's dispatch: the first one the host received after the insert (same machine, same clock)
      const created = Number(row.created_ms);
      const trace = await withTimeout((async () => {
        for (;;) {
          const found = dispatchTraces(host.output()).find((t) => t.received_at >= created - 1);
          if (found) return found;
          await sleep(10);
        }
      })(), 10_000, `cold round ${round + 1}: the host's dispatch trace`);
      samples.push({
        total: Number(row.total),
        toHost: trace.received_at - created,
        hostToRegister: Number(row.registered_ms) - trace.received_at,
        registerToClaim: Number(row.register_to_claim),
      });
      // the run to its end and every worker stopped, then the gap
      await withTimeout((async () => {
        for (;;) {
          const [p] = await admin`select status from pm_pipeline.runs where id = ${run.id}`;
          if (p.status !== "active" && (await liveWorkers()) === 0) return;
          await sleep(50);
        }
      })(), 120_000, `cold round ${round + 1}: the run and its workers ending`);
      await sleep(COLD_GAP_MS);
    }
  } finally {
    await host.stop();
  }
  return samples;
}

async function main() {
  const admin = connect(2);
  const [{ server_version: pgVersion }] = await admin`show server_version`;
  const serverStart = async () => String((await admin`select pg_postmaster_start_time() as at`)[0].at);
  const startedAt = await serverStart();
  console.log(`PostgreSQL ${pgVersion}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ` +
    `graphile-worker ${versionOf("graphile-worker")}, postgres ${versionOf("postgres")}`);
  console.log(`warm: ${warmN} tasks at ${rate}/s to one waiting worker; cold: ${coldN} runs, one every ~${COLD_GAP_MS / 1000} s after the last worker stopped\n`);

  const results: Result[] = [];
  let cold: ColdSample[] = [];
  await admin`
    insert into pm_pipeline.task_kinds (kind, description, lease_seconds, concurrency)
    values (${KIND}, 'pickup latency benchmark (bench/latency.ts)', 30, 2)
    on conflict (kind) do nothing`;
  try {
    if (only.has("warm")) {
      results.push(summarise("ours", "warm, NOTIFY (WORKER_LISTEN=auto)", await oursWarm(admin, "auto", warmN)));
      console.log("  ours, warm, NOTIFY: done");
      results.push(summarise("ours", "warm, polling 1 s (WORKER_LISTEN=off)", await oursWarm(admin, "off", warmN)));
      console.log("  ours, warm, polling: done");
      results.push(summarise("graphile-worker", "warm, LISTEN/NOTIFY (concurrency 1)", await graphileWarm(admin, warmN)));
      console.log("  graphile-worker, warm: done");
    }
    if (only.has("cold")) {
      cold = await oursCold(admin, coldN);
      results.push(summarise("ours", "cold (insert -> function -> claim)", cold.map((s) => s.total)));
      console.log("  ours, cold: done");
    }
    if ((await serverStart()) !== startedAt) throw new Error("PostgreSQL restarted during the benchmark: run it again");
  } finally {
    await admin`delete from pm_pipeline.tasks where kind = ${KIND}`;
    await admin`delete from pm_pipeline.worker_heartbeats where worker_id like ${WORKER_PREFIX + "%"}`;
    await admin`delete from pm_pipeline.task_kinds where kind = ${KIND}`;
    await admin.end();
  }

  console.log();
  printTable(["system", "mode", "N", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)"],
    results.map((r) => [r.system, r.mode, r.samples, r.p50_ms.toFixed(1), r.p90_ms.toFixed(1), r.p99_ms.toFixed(1), r.max_ms.toFixed(1)]));
  if (insertTimes.length) {
    console.log("\nwarm, the producer's insert (sent -> committed), inside the latency above:");
    printTable(["producer of", "p50 (ms)", "p99 (ms)"],
      insertTimes.map((r) => [r.row, percentile(r.ms, 50).toFixed(1), percentile(r.ms, 99).toFixed(1)]));
  }
  if (warmSplit?.toNotify.length) {
    const split = warmSplit;
    console.log(`\nours, warm, NOTIFY: where the time goes (${split.toNotify.length} tasks whose NOTIFY was seen):`);
    printTable(["part", "p50 (ms)", "p99 (ms)"], [
      ["insert sent -> its NOTIFY reaches the worker's process", percentile(split.toNotify, 50).toFixed(1), percentile(split.toNotify, 99).toFixed(1)],
      ["NOTIFY -> claim -> handler starts", percentile(split.toHandler, 50).toFixed(1), percentile(split.toHandler, 99).toFixed(1)],
    ]);
  }
  if (cold.length) {
    console.log("\ncold, where the time goes (the database's and the host's clocks, one machine; host times in whole ms):");
    const part = (name: string, values: number[]) => [name, percentile(values, 50).toFixed(1), percentile(values, 99).toFixed(1), Math.max(...values).toFixed(1)];
    printTable(["part", "p50 (ms)", "p99 (ms)", "max (ms)"], [
      part("insert -> trigger -> commit -> NOTIFY reaches the host", cold.map((s) => s.toHost)),
      part("host -> HTTP -> function -> worker starts -> register_worker", cold.map((s) => s.hostToRegister)),
      part("register_worker -> claim", cold.map((s) => s.registerToClaim)),
      part("total", cold.map((s) => s.total)),
    ]);
  }
  console.log("\ngraphile-worker's published figure: average 4.16 ms (max 13.84 ms) from add_job to job execution start, " +
    "\"in optimal conditions\" (worker.graphile.org/docs/performance)");
  const warm = results.find((r) => r.mode.startsWith("warm, NOTIFY"));
  const coldResult = results.find((r) => r.mode.startsWith("cold"));
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  console.log("goals: " + [
    warm ? `warm p50 < ${GOALS.warmP50} ms: ${warm.p50_ms} ms, ${verdict(warm.p50_ms < GOALS.warmP50)}` : "warm: not run",
    warm ? `warm p99 < ${GOALS.warmP99} ms: ${warm.p99_ms} ms, ${verdict(warm.p99_ms < GOALS.warmP99)}` : null,
    coldResult ? `cold p99 < ${GOALS.coldP99} ms: ${coldResult.p99_ms} ms, ${verdict(coldResult.p99_ms < GOALS.coldP99)}` : "cold: not run",
  ].filter(Boolean).join("; "));
  if (args.json) {
    writeFileSync(args.json, JSON.stringify(results, null, 2) + "\n");
    console.log(`\nresults written to ${args.json}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
