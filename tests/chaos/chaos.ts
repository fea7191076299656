// The chaos suite: concurrent offline runs through the real pieces (PostgreSQL, the functions host
// running the real function files, NOTIFY dispatch, HTTP) while a seeded random schedule
//   SIGKILLs functions hosts (and starts new ones), pauses one past its leases (a zombie that then
//   tries to commit), terminates the database's client backends, restarts PostgreSQL with
//   `pg_ctl restart -m immediate`,
// and the provider injects transient faults (~20%), hangs and some permanent refusals.
// Afterwards it checks the invariants the queue promises. The same seed gives the same schedule.
//
// Used by `npm run chaos` (scripts/chaos.ts: many seeds, the full profile) and by
// tests/e2e/chaos.test.ts (one seed, the short profile, inside npm test).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import postgres, { type Sql } from "postgres";
import { databaseUrl, stackDir } from "../../scripts/lib/stack-env.ts";
import { notATestStack } from "../setup/stack.ts";
import { rng } from "../../shared/providers/offline/world.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";

export interface Profile {
  runs: number;
  companies: number;
  /** seconds of faults; then the runs are left to finish with live hosts */
  chaosSeconds: number;
  hosts: number;
  /** PostgreSQL restarts, at random moments of the chaos */
  restarts: number;
  /** provider latency per call, so that runs last through the chaos */
  latencyMs: number;
  settleSeconds: number;
}

export const PROFILES: Record<string, Profile> = {
  short: { runs: 3, companies: 8, chaosSeconds: 12, hosts: 2, restarts: 1, latencyMs: 150, settleSeconds: 120 },
  full: { runs: 5, companies: 40, chaosSeconds: 40, hosts: 2, restarts: 2, latencyMs: 150, settleSeconds: 240 },
};

export interface Invariant {
  name: string;
  violations: number;
  detail: string;
}

export interface ChaosReport {
  seed: number;
  profile: string;
  actions: Record<string, number>;
  runs: Record<string, number>;
  tasks: number;
  attempts: number;
  providerCalls: number;
  invariants: Invariant[];
  seconds: number;
  ok: boolean;
}

const KINDS = ["lead_list", "company_research", "contact_research"];
type Action = "kill" | "pause" | "terminate" | "restart" | "none";
const LEASE_SECONDS = 2;
const RETRY_ATTEMPTS = 4; // WORKER_RETRY_ATTEMPTS's default: provider calls per attempt at most
// ~20% transient (rate limits, 5xx, hangs until a timeout) and a few permanent refusals
const FAULTS = "rate_limit=0.05,server_error=0.12,timeout=0.03,timeout_ms=1500,retry_after_ms=100,invalid_request=0.004";
const CRITERIA = { pms: "Buildium", states: ["TX", "FL", "CA", "AZ"] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CONNECTION_ERRORS = /CONNECTION_|ECONNREFUSED|ECONNRESET|57P0|terminating connection|the database system is (starting up|shutting down|in recovery)|connection/i;

/** A statement of the driver itself, retried while the database restarts or its connection was terminated. */
async function steady<T>(what: string, statement: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await statement();
    } catch (error) {
      const message = `${(error as { code?: string }).code ?? ""} ${(error as Error).message}`;
      if (!CONNECTION_ERRORS.test(message) || Date.now() > deadline) throw new Error(`${what}: ${message}`);
      await sleep(200);
    }
  }
}

/** Restarts the test stack's PostgreSQL at once, as a crash would (no checkpoint, clients cut off). */
function restartPostgres(): void {
  const home = `${stackDir}/pg`;
  const pgBin = process.env.PGBIN ?? "/usr/lib/postgresql/15/bin";
  if (!existsSync(`${home}/data/PG_VERSION`)) throw new Error(`no local cluster at ${home}/data: the chaos suite needs the local stack`);
  const command = [`${pgBin}/pg_ctl`, "-D", `${home}/data`, "-l", `${home}/postgres.log`, "-m", "immediate", "-w", "-t", "60", "restart"];
  const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...command] : command;
  const result = spawnSync(asPostgres[0], asPostgres.slice(1), { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`pg_ctl restart failed: ${result.stderr || result.stdout}`);
}

export async function runChaos(seed: number, profileName: keyof typeof PROFILES, log: (line: string) => void = () => {}): Promise<ChaosReport> {
  // it kills hosts and restarts the database: only ever on a stack made for the tests
  const refused = notATestStack();
  if (refused) throw new Error(`the chaos suite runs only on a test stack (npm run chaos makes one): ${refused}`);
  const profile = PROFILES[profileName];
  const random = rng(seed); // the same seed, the same schedule
  const started = Date.now();
  const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
  const hosts: Host[] = [];
  const actions: Record<string, number> = { host_killed: 0, host_paused_past_lease: 0, backends_terminated: 0, postgres_restarted: 0 };
  let hostNumber = 0;
  const newHost = async () => {
    const host = await startHost(`chaos${seed}-h${++hostNumber}`, {
      ...FAST_WORKERS, PM_LEADS_OFFLINE_FAULTS: FAULTS, PM_LEADS_OFFLINE_LATENCY_MS: String(profile.latencyMs),
    });
    hosts.push(host);
    // a host that dies of something other than our SIGKILL is a finding: say what it printed last
    host.process.once("exit", (code, signal) => {
      if (signal !== "SIGKILL" && !stopping) log(`  ${host.name} exited by itself (${code ?? signal}):\n${host.output().split("\n").slice(-8).join("\n")}`);
    });
    return host;
  };
  let stopping = false;
  // the timings this changes, as they were (restored afterwards, whatever happens)
  const kindsBefore = await sql`select kind, lease_seconds, backoff_base_seconds from pm_pipeline.task_kinds where kind = any(${KINDS})`;
  const [settingsBefore] = await sql`select heartbeat_interval_seconds, dead_worker_after_seconds from pm_pipeline.settings`;
  const runIds: string[] = [];
  try {
    await sql`update pm_pipeline.task_kinds set lease_seconds = ${LEASE_SECONDS}, backoff_base_seconds = 0.2 where kind = any(${KINDS})`;
    await sql`update pm_pipeline.settings set heartbeat_interval_seconds = 1, dead_worker_after_seconds = 3`;
    for (let i = 0; i < profile.hosts; i++) await newHost();
    for (let i = 0; i < profile.runs; i++) {
      const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, ${profile.companies}, 1, 3, null, ${`chaos seed ${seed}`})`;
      runIds.push(run.id);
    }
    log(`seed ${seed}: ${profile.runs} runs x ${profile.companies} companies, ${profile.chaosSeconds} s of faults`);

    // the schedule, drawn up front from the seed so that a seed replays it: an action every 0.5-2.5 s
    // of planned time, and the PostgreSQL restarts in place of some of them
    const schedule: { waitMs: number; action: Action; victim: number }[] = [];
    for (let planned = 0; planned < profile.chaosSeconds * 1000;) {
      const waitMs = 500 + random() * 2000;
      const roll = random();
      const action: Action = roll < 0.35 ? "kill" : roll < 0.5 ? "pause" : roll < 0.85 ? "terminate" : "none";
      schedule.push({ waitMs, action, victim: random() });
      planned += waitMs;
    }
    for (let placed = 0; placed < Math.min(profile.restarts, schedule.length);) {
      const step = schedule[Math.floor(random() * schedule.length)];
      if (step.action !== "restart") (step.action = "restart"), placed++;
    }

    for (const step of schedule) {
      await sleep(step.waitMs); // the schedule itself: time between actions, drawn from the seed
      const live = hosts.filter((h) => h.process.exitCode === null && h.process.signalCode === null);
      const victim = live[Math.floor(step.victim * live.length)];
      if (step.action === "restart") {
        restartPostgres();
        actions.postgres_restarted++;
        log("  pg_ctl restart -m immediate");
      } else if (step.action === "kill" && victim) {
        victim.process.kill("SIGKILL");
        actions.host_killed++;
        log(`  kill -9 ${victim.name}`);
        await newHost();
      } else if (step.action === "pause" && victim) {
        // longer than a lease: its tasks go to other workers, then it wakes and tries to commit
        victim.process.kill("SIGSTOP");
        actions.host_paused_past_lease++;
        const pausedAt = Date.now();
        // until no lease of its workers is left (each ends within LEASE_SECONDS without heartbeats)
        // and a second more, so that the dead-worker release has had its chance: not a fixed sleep
        for (const deadline = pausedAt + 30_000; ;) {
          const [{ leased }] = await steady("the paused host's leases", () => sql`
            select count(*)::int as leased from pm_pipeline.tasks
             where state = 'running' and locked_by like ${`${victim.name}-%`} and lease_expires_at > now() - interval '1 second'`);
          if (leased === 0) break;
          if (Date.now() > deadline) throw new Error(`${victim.name}'s leases did not end within 30 s of SIGSTOP`);
          await sleep(100);
        }
        log(`  SIGSTOP ${victim.name} until its leases ended (${((Date.now() - pausedAt) / 1000).toFixed(1)} s)`);
        victim.process.kill("SIGCONT");
      } else if (step.action === "terminate") {
        const [t] = await steady("terminate backends", () => sql`
          select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
           where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()`);
        actions.backends_terminated++;
        log(`  terminated ${t.n} client backends`);
      }
    }

    // faults end; the hosts that are left (and new ones) finish the runs
    for (const host of hosts) host.process.kill("SIGCONT");
    while (hosts.filter((h) => h.process.exitCode === null && h.process.signalCode === null).length < profile.hosts) await newHost();
    const settleEnd = Date.now() + profile.settleSeconds * 1000;
    for (;;) {
      const [{ active }] = await steady("progress", () => sql`
        select count(*)::int as active from pm_pipeline.runs where id = any(${runIds}::uuid[]) and status = 'active'`);
      if (active === 0 || Date.now() > settleEnd) break;
      await sleep(250);
    }
    // every worker done: what a host still does after the runs ended cannot break an invariant
    stopping = true;
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
    return { ...(await check(sql, runIds)), seed, profile: profileName, actions, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    for (const host of hosts) host.process.kill("SIGKILL");
    await steady("restore settings", async () => {
      // the alerts this seed caused (its runs' outcomes, its killed workers) are nobody's news: left
      // queued, they would keep the next tests' alert workers busy for minutes
      await sql`update pm_pipeline.tasks set state = 'cancelled', finished_at = now(), updated_at = now()
                 where kind = 'alert' and state = 'queued'
                   and (payload->>'run_id' = any(${runIds}) or payload->>'worker_id' like ${`chaos${seed}-%`})`;
      for (const k of kindsBefore) {
        await sql`update pm_pipeline.task_kinds set lease_seconds = ${k.lease_seconds}, backoff_base_seconds = ${k.backoff_base_seconds} where kind = ${k.kind}`;
      }
      await sql`update pm_pipeline.settings set heartbeat_interval_seconds = ${settingsBefore.heartbeat_interval_seconds},
                                                 dead_worker_after_seconds = ${settingsBefore.dead_worker_after_seconds}`;
    });
    // (a plain end() can wait forever for a connection that a restart cut off)
    await sql.end({ timeout: 5 });
  }
}

/** The invariants, over the runs of one seed. */
async function check(sql: Sql, runIds: string[]): Promise<Omit<ChaosReport, "seed" | "profile" | "actions" | "seconds">> {
  const ids = runIds;
  const invariants: Invariant[] = [];
  const add = (name: string, rows: Record<string, unknown>[]) =>
    invariants.push({ name, violations: rows.length, detail: rows.length ? JSON.stringify(rows.slice(0, 3)) : "" });

  add("every run ended or waits for a decision, with a named cause", await sql`
    select id, status, notes from pm_pipeline.runs
     where id = any(${ids}::uuid[])
       and (status = 'active' or (status in ('needs_user_decision', 'error') and coalesce(notes, '') = ''))`);
  add("no task lost: each succeeded, failed with a reason or was cancelled", await sql`
    select id, kind, state, last_error from pm_pipeline.tasks
     where run_id = any(${ids}::uuid[])
       and (state in ('queued', 'running') or (state = 'failed' and coalesce(last_error, '') = ''))`);
  add("no duplicate company", await sql`
    select run_id, domain, count(*)::int as n from pm_pipeline.companies where run_id = any(${ids}::uuid[])
     group by 1, 2 having count(*) > 1`);
  add("no duplicate research row", await sql`
    select c.id, count(r.*)::int as n from pm_pipeline.companies c join pm_pipeline.company_research r on r.company_id = c.id
     where c.run_id = any(${ids}::uuid[]) group by 1 having count(*) > 1`);
  add("no duplicate contact", await sql`
    select company_id, lower(full_name) as name, count(*)::int as n from pm_pipeline.contacts where run_id = any(${ids}::uuid[])
     group by 1, 2 having count(*) > 1`);
  add("every attempt accounted for (attempts = counted errors + the success)", await sql`
    select t.id, t.state, t.attempts, e.counted from pm_pipeline.tasks t
     cross join lateral (select count(*) filter (where coalesce(x->>'counted', 'true') = 'true')::int as counted
                           from jsonb_array_elements(t.errors) x) e
     where t.run_id = any(${ids}::uuid[])
       and t.attempts <> e.counted + case when t.state = 'succeeded' then 1 else 0 end`);
  add("no lease held by a dead or stopped worker", await sql`
    select t.id, t.locked_by, w.status from pm_pipeline.tasks t join pm_pipeline.worker_heartbeats w on w.worker_id = t.locked_by
     where t.state = 'running' and w.status in ('dead', 'stopped')`);
  add("contacts within min..max for every accepted company", await sql`
    select c.id, count(ct.*)::int as contacts, r.contacts_min, r.contacts_max
      from pm_pipeline.companies c join pm_pipeline.runs r on r.id = c.run_id
      left join pm_pipeline.contacts ct on ct.company_id = c.id
     where c.run_id = any(${ids}::uuid[]) and c.status = 'accepted'
     group by c.id, r.contacts_min, r.contacts_max
    having count(ct.*) not between r.contacts_min and r.contacts_max`);
  add(`provider calls per task bounded (${RETRY_ATTEMPTS} per attempt)`, await sql`
    select t.id, u.calls, jsonb_array_length(t.errors) + 1 as attempts from pm_pipeline.tasks t
      join (select task_id, sum(calls)::int as calls from pm_pipeline.provider_usage group by 1) u on u.task_id = t.id
     where t.run_id = any(${ids}::uuid[]) and u.calls > (jsonb_array_length(t.errors) + 1) * ${RETRY_ATTEMPTS}`);

  const runs = Object.fromEntries((await sql`
    select status::text, count(*)::int as n from pm_pipeline.runs where id = any(${ids}::uuid[]) group by 1`).map((r) => [r.status, r.n]));
  const [totals] = await sql`
    select count(*)::int as tasks, coalesce(sum(jsonb_array_length(errors) + case when state = 'succeeded' then 1 else 0 end), 0)::int as attempts,
           (select coalesce(sum(calls), 0)::int from pm_pipeline.provider_usage where run_id = any(${ids}::uuid[])) as calls
      from pm_pipeline.tasks where run_id = any(${ids}::uuid[])`;
  return {
    runs, tasks: totals.tasks, attempts: totals.attempts, providerCalls: totals.calls, invariants,
    ok: invariants.every((i) => i.violations === 0),
  };
}
