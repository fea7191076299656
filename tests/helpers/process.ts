// Runs a TypeScript fixture as a real child process and reads its JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line that has the given field. */
  next(field: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(line: string): void;
}

export function spawnFixture(fixture: string, args: string[]): Child {
  const path = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", path, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line));
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    process: child,
    send: (line) => child.stdin.write(line + "\n"),
    next(field, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${field}" line from ${fixture} in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        const look = () => {
          const index = lines.findIndex((l) => field in l);
          if (index >= 0) {
            clearTimeout(timer);
            resolve(lines.splice(index, 1)[0]);
          } else waiters.push(look);
        };
        look();
      });
    },
  };
}
