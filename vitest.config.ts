import { defineConfig } from "vitest/config";

// Three tiers (npm test runs them all, on a stack of its own: scripts/test.sh):
//   unit         no database, no processes of the system: npm run test:unit, in seconds
//   integration  the database (queue, runs, workers in-process)
//   e2e          processes: functions hosts, the CLI, scripts/stack.sh, the chaos suite
//   browser      the web app in Chromium, on a functions host of its own (tests/browser)
const database = {
  // refuses to run unless the env points at a stack made for the tests (see tests/setup/stack.ts)
  globalSetup: ["tests/setup/stack.ts"],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  // One file at a time: the end-to-end tests change queue timings (leases, dead-worker threshold)
  // for the pipeline's kinds, and the liveness tests call functions that act on every worker.
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          testTimeout: 30_000,
          // no unit test may reach a database: an accidental connect() fails instead of finding one
          env: { PM_LEADS_STACK_DIR: "/nonexistent/unit-tests-have-no-database", SUPABASE_DB_URL: "", PM_LEADS_DB_URL: "" },
        },
      },
      // the database tiers run one after the other (sequence.groupOrder), never side by side
      { test: { name: "integration", include: ["tests/integration/**/*.test.ts"], ...database, sequence: { groupOrder: 1 } } },
      { test: { name: "e2e", include: ["tests/e2e/**/*.test.ts"], ...database, sequence: { groupOrder: 2 } } },
      {
        test: {
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          ...database,
          // the app is built first (web/dist), from the sources under test
          globalSetup: [...database.globalSetup, "tests/setup/web-build.ts"],
          // a run from the form to completed, through real workers, is the longest wait
          testTimeout: 180_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
