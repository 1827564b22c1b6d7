import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // e2e tests spawn daemons and real child processes; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Most files wait on daemons, brokers and child processes rather than compute: two at a
    // time on a 2-core machine (vitest's default there is one) keeps the run well within CI's budget.
    maxWorkers: 2,
  },
});
