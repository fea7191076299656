// The local stack's settings (stack.env, written by scripts/stack.sh start): the CLI's defaults when
// the environment names no project. Read and returned, never copied into process.env, so that what
// the user exported stays the only environment there is.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** stack.env of the stack in PM_LEADS_STACK_DIR (as scripts/stack.sh reads it), else of this checkout's .local/. */
export function stackEnvFile(env: Record<string, string | undefined> = process.env): string {
  const dir = env.PM_LEADS_STACK_DIR ? resolve(env.PM_LEADS_STACK_DIR) : fileURLToPath(new URL("../.local/", import.meta.url));
  return join(dir, "stack.env");
}

/** The NAME=value lines of an env file; comments and anything else are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

/** The local stack's settings, or none when it was never started. */
export function readStackEnv(file: string = stackEnvFile()): Record<string, string> {
  return existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
}
