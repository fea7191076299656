// Proof that npm test leaves the user's own stack (.local/, the one `npm run demo` uses) as it was:
//   tsx scripts/user-stack-check.ts snapshot FILE   before the tests (scripts/test-stack.sh)
//   tsx scripts/user-stack-check.ts compare FILE    after them: exit 1 naming what changed
// When no user stack is running there is nothing to change: both say so and pass.
// (The user's stack works on its own too: a run of theirs in progress, or its cron purging stale
// workers, moves these counts without any test; compare says which count moved.)
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { readEnvFile, repoRoot, userStackDir } from "./lib/stack-env.ts";

interface Snapshot {
  running: boolean;
  counts?: Record<string, number>;
  taskKinds?: string[];
  workerKinds?: string[];
  settings?: unknown;
  /** a restart of the user's PostgreSQL (the chaos suite restarts its database) changes it */
  postmasterStartedAt?: string;
  /** the pid of the user's functions host, when it was running (npm test used to stop it) */
  functionsHost?: number | null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function snapshot(): Promise<Snapshot> {
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
    const [started] = await sql`select pg_postmaster_start_time()::text as at`;
    const pidFile = `${userStackDir}/functions.pid`;
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    return {
      running: true, counts: { ...counts }, taskKinds, workerKinds, settings: settings.row,
      postmasterStartedAt: started.at, functionsHost: pid && alive(pid) ? pid : null,
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
const now = await snapshot();
if (command === "snapshot") {
  writeFileSync(file, JSON.stringify(now, null, 2));
  console.log(now.running
    ? `[user stack] ${userStackDir} is running: ${JSON.stringify(now.counts)}, ${now.taskKinds!.length} task kinds, ${now.workerKinds!.length} worker kinds (compared after the tests)`
    : `[user stack] no stack is running in ${userStackDir}: nothing of the user's to compare`);
} else {
  const before = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  if (!before.running) {
    console.log(now.running ? "[user stack] was not running before the tests and runs now: the tests started it" : "[user stack] none before the tests, none after");
    process.exit(now.running ? 1 : 0);
  }
  const changed: string[] = [];
  if (!now.running) changed.push("it was running before the tests and is not now");
  else {
    for (const [name, value] of Object.entries(before.counts!)) {
      if (now.counts![name] !== value) changed.push(`${name}: ${value} before, ${now.counts![name]} after`);
    }
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(before.taskKinds, now.taskKinds)) changed.push(`task kinds: ${before.taskKinds!.join(", ")} before, ${now.taskKinds!.join(", ")} after`);
    if (!same(before.workerKinds, now.workerKinds)) changed.push(`worker kinds: ${before.workerKinds!.join(", ")} before, ${now.workerKinds!.join(", ")} after`);
    if (!same(before.settings, now.settings)) changed.push(`settings: ${JSON.stringify(before.settings)} before, ${JSON.stringify(now.settings)} after`);
    if (before.postmasterStartedAt !== now.postmasterStartedAt) changed.push(`its PostgreSQL was restarted (started ${before.postmasterStartedAt}, now ${now.postmasterStartedAt})`);
    if (before.functionsHost && now.functionsHost !== before.functionsHost) changed.push(`its functions host (pid ${before.functionsHost}) was stopped`);
  }
  if (changed.length) {
    console.error(`[user stack] ${userStackDir} changed during the tests:\n  ${changed.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`[user stack] unchanged: ${JSON.stringify(now.counts)}, ${now.taskKinds!.length} task kinds, ${now.workerKinds!.length} worker kinds, settings, PostgreSQL and functions host as before`);
}
