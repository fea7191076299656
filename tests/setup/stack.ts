// vitest global setup: the integration tests need the local stack (scripts/test.sh starts it).
import postgres from "postgres";
import { databaseUrl } from "../../scripts/lib/stack-env.ts";

export default async function checkStack() {
  const url = databaseUrl();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select 1 from pm_pipeline.settings`;
  } catch (error) {
    throw new Error(`the local stack at ${url} does not answer (${(error as Error).message}): run \`npm run stack:start\``);
  } finally {
    await sql.end();
  }
}
