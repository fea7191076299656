// scripts/stack.sh start as a user runs it, when another program already listens on the port the
// stack's functions host had: the stack must not take that program for its host.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { repoRoot, stackDir } from "../../scripts/lib/stack-env.ts";
import { waitFor } from "../helpers/wait.ts";

// the test stack (PM_LEADS_STACK_DIR, inherited by scripts/stack.sh), never the user's .local/
const local = stackDir;
const file = (name: string) => join(local, name);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("scripts/stack.sh and the functions port", () => {
  const env = readFileSync(file("stack.env"), "utf8");
  const portBefore = readFileSync(file("functions.port"), "utf8");
  let taken = 0;
  let impostor: Server;

  beforeAll(async () => {
    const pid = existsSync(file("functions.pid")) ? Number(readFileSync(file("functions.pid"), "utf8")) : 0;
    if (pid && alive(pid)) throw new Error("stop the stack's functions host first (this test starts and stops one)");
    // another program on the port: it answers everything, /_health included, but is no functions host.
    // It takes a port the kernel has free, which becomes the stack's functions port (a fixed port
    // could be any other stack's on this machine by now)
    impostor = createServer((_, response) => response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
    await new Promise<void>((resolve, reject) => impostor.once("error", reject).listen(0, "127.0.0.1", resolve));
    taken = (impostor.address() as AddressInfo).port;
    writeFileSync(file("functions.port"), `${taken}\n`);
  });

  afterAll(async () => {
    const pid = Number(readFileSync(file("functions.pid"), "utf8"));
    if (alive(pid)) {
      process.kill(pid, "SIGTERM");
      await waitFor(`the stack's functions host (pid ${pid}) to exit after SIGTERM`, () => !alive(pid), 15_000);
    }
    await new Promise((resolve) => impostor.close(resolve));
    // the stack as it was: its port and env (other test files read the env)
    writeFileSync(file("functions.port"), portBefore);
    writeFileSync(file("stack.env"), env);
  });

  it("takes another port when something else answers on its functions port, and starts its own host there", async () => {
    const started = spawnSync("bash", ["scripts/stack.sh", "start"], { cwd: repoRoot, encoding: "utf8", timeout: 240_000 });
    expect(started.status, started.stderr).toBe(0);
    expect(started.stderr).toContain(`port ${taken} is taken by another program`);
    const port = Number(readFileSync(file("functions.port"), "utf8"));
    expect(port).not.toBe(taken);
    expect(readFileSync(file("stack.env"), "utf8")).toContain(`SUPABASE_URL=http://127.0.0.1:${port}\n`);
    const health = await (await fetch(`http://127.0.0.1:${port}/_health`)).json() as { functions: string[]; pid: number };
    expect(health.functions).toContain("runs");
    expect(health.pid).toBe(Number(readFileSync(file("functions.pid"), "utf8")));
  });
});
