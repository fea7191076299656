import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Integration tests talk to the local stack; scripts/test.sh starts it (see .local/stack.env).
    globalSetup: ["tests/setup/stack.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One file at a time: the end-to-end tests change queue timings (leases, dead-worker threshold)
    // for the pipeline's kinds, and the liveness tests call functions that act on every worker.
    fileParallelism: false,
  },
});
