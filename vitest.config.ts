import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Integration tests talk to the local stack; scripts/test.sh starts it (see .local/stack.env).
    globalSetup: ["tests/setup/stack.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every test works on task kinds and runs of its own, so files may run side by side.
    fileParallelism: true,
  },
});
