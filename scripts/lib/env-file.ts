// The function secrets file of a Supabase project, supabase/functions/.env, read the way
// `supabase functions serve` reads it (no --env-file: that file when it exists): dotenv lines
// (`NAME=value`, `export NAME=value`, '…' or "…" quotes, # comments), and names starting with
// SUPABASE_ skipped, as the platform provides those itself. Plain TypeScript: the Deno functions
// host and the Node tests both use it.
import { parseEnvFile } from "../../shared/lib/env-file.ts";

export const DEFAULT_FUNCTIONS_ENV_FILE = "supabase/functions/.env";

export interface ParsedEnvFile {
  values: Record<string, string>;
  /** SUPABASE_… names in the file, not used */
  skipped: string[];
}

/** The file's variables, without the SUPABASE_ names (the platform provides those itself). */
export function parseFunctionsEnvFile(text: string): ParsedEnvFile {
  const values: Record<string, string> = {};
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(parseEnvFile(text))) {
    if (name.startsWith("SUPABASE_")) skipped.push(name);
    else values[name] = value;
  }
  return { values, skipped };
}

/**
 * The environment of the functions: the file's secrets under what the environment already has (the
 * shell that started the host, and stack.env, win: a value given for one start overrides the file).
 * Returns the names taken from the file.
 */
export function applyEnvFile(parsed: ParsedEnvFile, env: { get(name: string): string | undefined; set(name: string, value: string): void }): string[] {
  const taken: string[] = [];
  for (const [name, value] of Object.entries(parsed.values)) {
    if (env.get(name) !== undefined) continue;
    env.set(name, value);
    taken.push(name);
  }
  return taken;
}
