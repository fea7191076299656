// Proof that npm test leaves the user's own stack (.local/, the one `npm run demo` uses) as it was:
//   tsx scripts/user-stack-check.ts snapshot FILE   before the tests (scripts/test-stack.sh)
//   tsx scripts/user-stack-check.ts compare FILE    after them: exit 1 naming what changed
// When no user stack is running there is nothing to change: both say so and pass.
// The user's stack works on its own meanwhile (a run of theirs in progress, its cron purging stale
// workers and old rows), so counts of tasks, workers or events may move without any test: what is
// compared is what only a test would leave there: a run created during the tests, a task kind added
// or dropped, workers of a kind that is no task kind of the user's, changed settings, a restarted
// PostgreSQL, a stopped functions host. Found when a first version compared counts and the user
// stack's own cron (purge_stale_workers) failed a green run.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { readEnvFile, repoRoot, userStackDir } from "./lib/stack-env.ts";

interface Snapshot {
  running: boolean;
  /** the user's database clock when the snapshot was taken */
  at?: string;
  counts?: Record<string, number>;
  taskKinds?: string[];
  workerKinds?: string[];
  settings?: unknown;
  /** a restart of the user's PostgreSQL (the chaos suite restarts its database) changes it */
  postmasterStartedAt?: string;
  /** the pid of the user's functions host, when it was running (npm test used to stop it) */
  functionsHost?: number | null;
  /** runs created after `since` (the time of the snapshot before the tests), when asked */
  runsSince?: number;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function snapshot(since?: string): Promise<Snapshot> {
  // the user's stack, whatever stack this process was started for
  const env = { ...process.env };
  delete env.PM_LEADS_STACK_DIR;
  const status = spawnSync("bash", ["scripts/stack.sh", "status", "-q"], { cwd: repoRoot, env, encoding: "utf8" });
  const url = readEnvFile(`${userStackDir}/stack.env`).SUPABASE_DB_URL;
  if (status.status !== 0 || !url) return { running: false };
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [counts] = await sql`
      select (select count(*) from pm_pipeline.runs)::int as runs,
             (select count(*) from pm_pipeline.tasks)::int as tasks,
             (select count(*) from pm_pipeline.worker_heartbeats)::int as workers,
             (select count(*) from pm_pipeline.companies)::int as companies,
             (select count(*) from pm_pipeline.events)::int as events`;
    const taskKinds = (await sql`select kind from pm_pipeline.task_kinds order by kind`).map((r) => r.kind as string);
    const workerKinds = (await sql`select distinct worker_type from pm_pipeline.worker_heartbeats order by 1`).map((r) => r.worker_type as string);
    const [settings] = await sql`select to_jsonb(s) as row from pm_pipeline.settings s`;
    const [started] = await sql`select pg_postmaster_start_time()::text as at, now()::text as now`;
    const runsSince = since === undefined ? undefined
      : (await sql`select count(*)::int as n from pm_pipeline.runs where created_at > ${since}::timestamptz`)[0].n as number;
    const pidFile = `${userStackDir}/functions.pid`;
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    return {
      running: true, at: started.now, counts: { ...counts }, taskKinds, workerKinds, settings: settings.row,
      postmasterStartedAt: started.at, functionsHost: pid && alive(pid) ? pid : null, runsSince,
    };
  } finally {
    await sql.end();
  }
}

const [command, file] = process.argv.slice(2);
if (!file || (command !== "snapshot" && command !== "compare")) {
  console.error("usage: tsx scripts/user-stack-check.ts snapshot|compare FILE");
  process.exit(2);
}
const before = command === "compare" ? JSON.parse(readFileSync(file, "utf8")) as Snapshot : undefined;
const now = await snapshot(before?.at);
if (command === "snapshot") {
  writeFileSync(file, JSON.stringify(now, null, 2));
  console.log(now.running
    ? `[user stack] ${userStackDir} is running: ${JSON.stringify(now.counts)}, ${now.taskKinds!.length} task kinds, ${now.workerKinds!.length} worker kinds (compared after the tests)`
    : `[user stack] no stack is running in ${userStackDir}: nothing of the user's to compare`);
} else if (before) {
  if (!before.running) {
    console.log(now.running ? "[user stack] was not running before the tests and runs now: the tests started it" : "[user stack] none before the tests, none after");
    process.exit(now.running ? 1 : 0);
  }
  const changed: string[] = [];
  if (!now.running) changed.push("it was running before the tests and is not now");
  else {
    if (now.runsSince) changed.push(`${now.runsSince} run(s) created during the tests`);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(before.taskKinds, now.taskKinds)) changed.push(`task kinds: ${before.taskKinds!.join(", ")} before, ${now.taskKinds!.join(", ")} after`);
    // the user's own workers may come (their host) and go (the cron's purge); a worker of a kind
    // the user's stack does not have, and did not have before, is a test's
    const strange = now.workerKinds!.filter((k) => !before.workerKinds!.includes(k) && !before.taskKinds!.includes(k));
    if (strange.length) changed.push(`workers of kinds that are not the user's: ${strange.join(", ")}`);
    if (!same(before.settings, now.settings)) changed.push(`settings: ${JSON.stringify(before.settings)} before, ${JSON.stringify(now.settings)} after`);
    if (before.postmasterStartedAt !== now.postmasterStartedAt) changed.push(`its PostgreSQL was restarted (started ${before.postmasterStartedAt}, now ${now.postmasterStartedAt})`);
    if (before.functionsHost && now.functionsHost !== before.functionsHost) changed.push(`its functions host (pid ${before.functionsHost}) was stopped`);
  }
  if (changed.length) {
    console.error(`[user stack] ${userStackDir} changed during the tests:\n  ${changed.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`[user stack] untouched by the tests: no run created, task kinds and settings as before, no test workers, PostgreSQL and functions host as before (now ${JSON.stringify(now.counts)})`);
}
