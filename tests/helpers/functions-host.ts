// Starts the real local functions host (pinned Deno, the real function files) as a child process
// with settings of a test's own: fault injection, short heartbeats, worker id prefixes to find its
// workers by. Tests kill, pause and resume it.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { denoBinary, loadStackEnv, repoRoot } from "../../scripts/lib/stack-env.ts";

export interface Host {
  name: string;
  process: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * Worker settings for tests, the one copy (hosts, and in-process workers via workerConfig): the
 * production timings scaled down ~10x (heartbeats 0.5 s instead of 10 s, the dispatch tick 1 s
 * instead of 10 s, lingering 0.5 s instead of 5 s), fast in-invocation retries, short idle polling.
 */
export const FAST_WORKERS = {
  WORKER_HEARTBEAT_INTERVAL: "0.5", WORKER_RETRY_BASE_MS: "50", WORKER_RETRY_MAX_MS: "400", WORKER_POLL_MS: "100",
  WORKER_IDLE_WAIT_SECONDS: "5", WORKER_LINGER_SECONDS: "0.5", PM_LEADS_LOCAL_CRON_SECONDS: "1",
};

/**
 * A host whose workers are named `<name>-lead_list-...` etc. (`<name>-alert-...` for the monitor's);
 * `env` adds to or overrides its environment (undefined: the variable is not set at all).
 */
export async function startHost(name: string, env: Record<string, string | undefined> = {}): Promise<Host> {
  const stack = loadStackEnv();
  const port = await freePort();
  const merged: Record<string, string | undefined> = {
    ...process.env,
    ...stack,
    PM_LEADS_FUNCTIONS_PORT: String(port),
    PM_LEADS_PROVIDER: "offline", // never a real API from a test, whatever key the shell has
    OPENAI_API_KEY: "", // nor a real key in the host's environment (an empty value is no key)
    // never the developer's supabase/functions/.env (real keys, receivers): an empty file
    PM_LEADS_FUNCTIONS_ENV_FILE: "/dev/null",
    PM_LEADS_DB_POOL: "10",
    LEAD_LIST_WORKER_ID: `${name}-lead_list`,
    COMPANY_RESEARCH_WORKER_ID: `${name}-company_research`,
    CONTACT_RESEARCH_WORKER_ID: `${name}-contact_research`,
    ALERT_WORKER_ID: `${name}-alert`,
    // never a real receiver from a test, whatever the shell has (empty counts as unset)
    ALERT_WEBHOOK_URL: "", ALERT_EMAIL_API_URL: "", ALERT_EMAIL_API_KEY: "", ALERT_EMAIL_FROM: "", ALERT_EMAIL_TO: "", HEARTBEAT_MONITOR_ALERT_EMAIL: "", NOTIFICATION_EMAIL: "",
    ...env,
  };
  const child = spawn(denoBinary(), ["run", "--allow-all", "--quiet", "scripts/functions-host.ts"], {
    cwd: repoRoot,
    env: Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  // up when it prints its "host" line; an exit before it, or 30 s without it, is a failure
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail("did not start within 30 s"), 30_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`functions host ${name} ${why}:\n${output}`));
    };
    const read = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('"host"')) {
        clearTimeout(timer);
        child.off("exit", exited);
        resolve();
      }
    };
    const exited = (code: number | null, signal: string | null) => fail(`exited (${code ?? signal}) before it started`);
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", exited);
  });
  return {
    name,
    process: child,
    url: `http://127.0.0.1:${port}/functions/v1`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      // the host gives its workers a few seconds to release their leases; then it is killed
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
