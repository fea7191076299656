// vitest global setup of the database tiers: they run only on a stack made for the tests
// (scripts/test.sh makes one in a temporary folder and deletes it after), never on the user's own
// .local/ stack, whose runs, workers and settings they would change.
import { existsSync } from "node:fs";
import postgres from "postgres";
import { databaseUrl, readEnvFile, stackDir, stackEnvFile, userStackDir } from "../../scripts/lib/stack-env.ts";

/** The file scripts/test-stack.sh puts in the folder of every stack it makes. */
export const TEST_STACK_MARKER = "test-stack";

const useNpmTest = "run the integration and end-to-end tests with `npm test` (all tiers) or " +
  "`npm test -- vitest <vitest args>` (it makes a stack of its own and deletes it after); `npm run test:unit` needs no database";

/** Why the environment does not point at a test stack (undefined: it does). */
export function notATestStack(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (stackDir === userStackDir) return "PM_LEADS_STACK_DIR is not set: this would be the user's own stack (.local/)";
  if (!existsSync(`${stackDir}/${TEST_STACK_MARKER}`)) return `${stackDir} is not a stack made by scripts/test-stack.sh (no ${TEST_STACK_MARKER} file)`;
  const own = readEnvFile(stackEnvFile);
  if (!own.SUPABASE_DB_URL) return `${stackEnvFile} is missing: the test stack is not running`;
  // a variable exported by the shell wins over stack.env (scripts/lib/stack-env.ts): it must not lead elsewhere
  for (const [name, value] of Object.entries(own)) {
    if (env[name] !== undefined && env[name] !== value) return `${name} in the environment is not the test stack's (${stackEnvFile})`;
  }
  const user = readEnvFile(`${userStackDir}/stack.env`);
  if (user.SUPABASE_DB_URL && user.SUPABASE_DB_URL === own.SUPABASE_DB_URL) return "the test stack has the user's database URL";
  return undefined;
}

export default async function checkStack() {
  const refused = notATestStack();
  if (refused) throw new Error(`refusing to run the database tests: ${refused}.\n  ${useNpmTest}`);
  const url = databaseUrl();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select 1 from pm_pipeline.settings`;
  } catch (error) {
    throw new Error(`the test stack at ${url} does not answer (${(error as Error).message}).\n  ${useNpmTest}`);
  } finally {
    await sql.end();
  }
}
