// Reads the stack.env of a local stack (written by scripts/stack.sh start) so that tests, benchmarks
// and local tools find it without the user exporting anything. Real environment variables win.
// The stack is the one in PM_LEADS_STACK_DIR (as for scripts/stack.sh), by default .local/: npm test
// sets it to a stack of its own, so that nothing it runs reaches the user's.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnvFile } from "../../shared/lib/env-file.ts";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
/** The user's own stack, the one `npm run stack:start` and `npm run demo` use. */
export const userStackDir = resolve(repoRoot, ".local");
/** The folder of the stack this process works with (PM_LEADS_STACK_DIR, else .local/). */
export const stackDir = process.env.PM_LEADS_STACK_DIR ? resolve(process.env.PM_LEADS_STACK_DIR) : userStackDir;
export const stackEnvFile = `${stackDir}/stack.env`;

/** The variables of a stack.env file ({} when there is none). */
export function readEnvFile(file: string): Record<string, string> {
  return existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
}

export function loadStackEnv(): Record<string, string> {
  const values = readEnvFile(stackEnvFile);
  for (const [name, value] of Object.entries(values)) process.env[name] ??= value;
  return values;
}

/** The database URL of the local stack (or of SUPABASE_DB_URL when set). */
export function databaseUrl(): string {
  loadStackEnv();
  const url = process.env.SUPABASE_DB_URL;
  if (!url) {
    throw new Error(
      `SUPABASE_DB_URL is not set and ${stackEnvFile} does not exist: run \`npm run stack:start\` first (npm test starts a stack of its own)`,
    );
  }
  return url;
}

/** The pinned Deno binary itself (node_modules/.bin/deno is a Node wrapper that signals do not pass). */
export function denoBinary(): string {
  return createRequire(import.meta.url)(`${repoRoot}node_modules/deno/install_api.cjs`).runInstall();
}
