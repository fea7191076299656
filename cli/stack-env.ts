// The local stack's settings (stack.env, written by scripts/stack.sh start): the CLI's defaults when
// the environment names no project. Read and returned, never copied into process.env, so that what
// the user exported stays the only environment there is.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnvFile } from "../shared/lib/env-file.ts";

/** stack.env of the stack in PM_LEADS_STACK_DIR (as scripts/stack.sh reads it), else of this checkout's .local/. */
export function stackEnvFile(env: Record<string, string | undefined> = process.env): string {
  const dir = env.PM_LEADS_STACK_DIR ? resolve(env.PM_LEADS_STACK_DIR) : fileURLToPath(new URL("../.local/", import.meta.url));
  return join(dir, "stack.env");
}

/** The local stack's settings, or none when it was never started. */
export function readStackEnv(file: string = stackEnvFile()): Record<string, string> {
  return existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
}
