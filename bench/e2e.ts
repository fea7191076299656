// End-to-end benchmark: whole offline runs through the local stack (PostgreSQL, the real functions
// on the functions host, NOTIFY dispatch, HTTP), and how long a SIGKILLed worker's task waits
// before another worker re-claims it, with the production timings (lease 30 s, heartbeat 10 s,
// dead after 30 s, dispatch tick 10 s).
//
//   npm run bench:e2e [-- --sizes 10,100,1000] [--repeats 5] [--json results.json]
//
// Runs on a scratch stack (scripts/test-stack.sh); starts and stops functions hosts of its own.
// Goals (issue 4): 100 companies in under 10 s on 2 cores; re-claim p99 under 45 s.
//
// Within the Edge Runtime's limits (issue 13: 256 MB of memory, 2 s of CPU per request): for each run
// the host process's peak resident memory (VmHWM: the Deno runtime, all five functions and every
// worker of the run in one process, so an upper bound of one function's isolate) and its CPU time
// (user + system, from /proc: time spent waiting on the database or a provider is not in it) per
// task and per worker invocation. "per research task" charges all of the host's CPU, discovery and
// contact search included, to the company_research tasks: an upper bound. Goals: peak < 150 MB,
// CPU per research task < 200 ms.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { databaseUrl } from "../scripts/lib/stack-env.ts";
import { startHost, type Host } from "../tests/helpers/functions-host.ts";
import { percentile } from "./stats.ts";
import { printTable } from "./table.ts";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10,100,1000" },
    repeats: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const sizes = args.sizes!.split(",").map(Number);
const repeats = Number(args.repeats);
// four states: a market large enough for 1,000 Buildium companies in the synthetic world
const CRITERIA = { pms: "Buildium", states: ["TX", "FL", "CA", "AZ"] };

const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {}, connection: { application_name: "bench-e2e" } });
const hosts: Host[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function host(name: string, env: Record<string, string> = {}): Promise<Host> {
  const h = await startHost(name, env);
  hosts.push(h);
  return h;
}

async function stopHosts() {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** CPU seconds (user + system) and peak resident memory (MB) of a process, from /proc. */
function processUsage(pid: number): { cpuSeconds: number; peakMb: number } {
  // the fields after the command name, which may contain spaces: utime and stime are the 12th and 13th
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuSeconds, peakMb: hwm ? Number(hwm[1]) / 1024 : NaN };
}

interface RunEnd {
  id: string;
  seconds: number;
  status: string;
  ready: number;
  /** the most database connections the run's hosts held at once (sampled as the run is watched) */
  peakConnections: number;
}

async function runToEnd(quantity: number, timeoutMs: number): Promise<RunEnd> {
  const started = performance.now();
  const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, ${quantity})`;
  let peakConnections = 0;
  for (;;) {
    // every client backend but this script's own
    const [p] = await sql`
      select status, ready,
             (select count(*)::int from pg_stat_activity
               where backend_type = 'client backend' and datname = current_database()
                 and application_name <> 'bench-e2e') as connections
        from pm_pipeline.v_run_progress where run_id = ${run.id}`;
    peakConnections = Math.max(peakConnections, p.connections);
    if (p.status !== "active") return { id: run.id, seconds: (performance.now() - started) / 1000, status: p.status, ready: p.ready, peakConnections };
    if (performance.now() - started > timeoutMs) throw new Error(`run of ${quantity} still active after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/** Seconds from SIGKILL of the worker process holding a task to another worker's claim of it. */
async function reclaimAfterKill(round: number): Promise<number> {
  // slow provider calls, so that the victim is surely in the middle of a task when it dies
  const slow = { PM_LEADS_OFFLINE_LATENCY_MS: "3000" };
  const victim = await host(`victim${round}`, slow);
  await host(`survivor${round}`, slow);
  const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, 20)`;
  let held: { id: string } | undefined;
  while (!held) {
    [held] = await sql`select id from pm_pipeline.tasks where run_id = ${run.id} and state = 'running'
                         and locked_by like ${`victim${round}-%`} limit 1`;
    if (!held) await sleep(20);
  }
  victim.process.kill("SIGKILL");
  const killedAt = Date.now();
  for (;;) {
    const [t] = await sql`select locked_by, locked_at from pm_pipeline.tasks where id = ${held.id}`;
    if (!t.locked_by.startsWith(`victim${round}-`)) {
      const seconds = (t.locked_at.getTime() - killedAt) / 1000;
      await sql`select pm_pipeline.set_run_status(${run.id}, 'cancelled', 'benchmark round over')`;
      await stopHosts();
      return seconds;
    }
    if (Date.now() - killedAt > 180_000) throw new Error(`task ${held.id} not re-claimed within 180 s`);
    await sleep(100);
  }
}

try {
  const [{ version }] = await sql`select current_setting('server_version') as version`;
  const [kinds] = await sql`select string_agg(format('%s %s', kind, concurrency), ', ') as c
                              from pm_pipeline.task_kinds where function_name is not null`;
  console.log(`PostgreSQL ${version}, ${os.cpus().length} cores, offline provider, concurrency: ${kinds.c}\n`);

  const throughput = [];
  const limits = [];
  for (const size of sizes) {
    const h = await host(`throughput${size}`);
    const before = processUsage(h.process.pid!);
    const result = await runToEnd(size, 600_000);
    const after = processUsage(h.process.pid!);
    await stopHosts();
    if (result.status !== "completed") throw new Error(`run of ${size} ended ${result.status} with ${result.ready}`);
    throughput.push({ companies: size, seconds: result.seconds, perSecond: size / result.seconds });
    // tasks by kind (every attempt), and per worker invocation (the worker that ran each attempt last)
    const [tasks] = await sql`
      select count(*)::int as all, sum(attempts)::int as attempts,
             count(*) filter (where kind = 'company_research')::int as research
        from pm_pipeline.tasks where run_id = ${result.id}`;
    const [workers] = await sql`
      select count(*)::int as invocations, max(n)::int as most
        from (select locked_by, count(*) as n from pm_pipeline.tasks where run_id = ${result.id} group by locked_by) w`;
    const cpu = after.cpuSeconds - before.cpuSeconds;
    limits.push({
      companies: size, peakMb: after.peakMb, cpuSeconds: cpu, tasks: tasks.all, attempts: tasks.attempts,
      cpuMsPerTask: (cpu * 1000) / tasks.attempts, cpuMsPerResearchTask: (cpu * 1000) / tasks.research,
      invocations: workers.invocations, mostTasksPerInvocation: workers.most, peakConnections: result.peakConnections,
    });
  }
  printTable(["companies", "wall time (s)", "companies/s"],
    throughput.map((r) => [r.companies, r.seconds.toFixed(2), r.perSecond.toFixed(1)]));
  console.log();
  printTable(["companies", "peak memory (MB)", "CPU (s)", "task attempts", "CPU/task (ms)", "CPU/research task (ms)", "invocations", "most tasks in one", "peak connections"],
    limits.map((l) => [l.companies, l.peakMb.toFixed(0), l.cpuSeconds.toFixed(2), l.attempts, l.cpuMsPerTask.toFixed(1),
      l.cpuMsPerResearchTask.toFixed(1), l.invocations, l.mostTasksPerInvocation, l.peakConnections]));

  const reclaims: number[] = [];
  for (let round = 1; round <= repeats; round++) {
    reclaims.push(await reclaimAfterKill(round));
    process.stderr.write(`re-claim round ${round}: ${reclaims.at(-1)!.toFixed(1)} s\n`);
  }
  if (reclaims.length > 0) {
    console.log();
    printTable(["SIGKILL -> re-claim", "rounds", "p50 (s)", "p99 (s)", "max (s)"],
      [["production timings", repeats, percentile(reclaims, 50).toFixed(1), percentile(reclaims, 99).toFixed(1), Math.max(...reclaims).toFixed(1)]]);
  }

  const hundred = throughput.find((r) => r.companies === 100);
  const largest = limits.at(-1);
  console.log(`\ngoals: 100 companies < 10 s: ${hundred ? `${hundred.seconds.toFixed(2)} s` : "not run"}; ` +
    `re-claim p99 < 45 s: ${reclaims.length ? `${percentile(reclaims, 99).toFixed(1)} s` : "not run"}; ` +
    `peak memory < 150 MB: ${largest ? `${largest.peakMb.toFixed(0)} MB` : "not run"}; ` +
    `CPU per research task < 200 ms: ${largest ? `${largest.cpuMsPerResearchTask.toFixed(1)} ms` : "not run"} (${largest?.companies} companies)`);
  if (args.json) {
    const machine = { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model.trim(), node: process.version, postgres: version };
    writeFileSync(args.json, JSON.stringify({ machine, throughput, limits, reclaims }, null, 2));
  }
} finally {
  await stopHosts();
  await sql.end();
}
