import { defineConfig } from 'vitest/config';

// Three tiers: unit (pure, seconds), workflow (stubbed activities on a real local Temporal server),
// e2e (real Temporal, Docker engine and nginx; one file at a time on this 2-core machine).
export default defineConfig({
  test: {
    pool: 'forks',
    // One file at a time: the e2e files share one Docker engine and nginx on a 2-core machine.
    fileParallelism: false,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/helpers/global-setup.ts'],
          hookTimeout: 180_000,
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/helpers/global-setup.ts'],
          hookTimeout: 300_000,
          testTimeout: 300_000,
        },
      },
    ],
  },
});
