// Reads .local/stack.env (written by scripts/stack.sh start) so that tests, benchmarks and local
// tools find the local stack without the user exporting anything. Real environment variables win.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const stackEnvFile = `${repoRoot}.local/stack.env`;

export function loadStackEnv(): Record<string, string> {
  const values: Record<string, string> = {};
  if (existsSync(stackEnvFile)) {
    for (const line of readFileSync(stackEnvFile, "utf8").split("\n")) {
      const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      if (match) values[match[1]] = match[2];
    }
  }
  for (const [name, value] of Object.entries(values)) process.env[name] ??= value;
  return values;
}

/** The database URL of the local stack (or of SUPABASE_DB_URL when set). */
export function databaseUrl(): string {
  loadStackEnv();
  const url = process.env.SUPABASE_DB_URL;
  if (!url) {
    throw new Error(
      "SUPABASE_DB_URL is not set and .local/stack.env does not exist: run `npm run stack:start` first (npm test starts it itself)",
    );
  }
  return url;
}

/** The pinned Deno binary itself (node_modules/.bin/deno is a Node wrapper that signals do not pass). */
export function denoBinary(): string {
  return createRequire(import.meta.url)(`${repoRoot}node_modules/deno/install_api.cjs`).runInstall();
}
