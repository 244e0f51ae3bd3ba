import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          // One stack serves every integration file; files run one after another so that
          // timing-sensitive checks (deadlines) are not starved on a 2-core machine.
          fileParallelism: false,
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'template',
          include: ['test/template/**/*.test.ts'],
          environment: 'node',
          // Packages the stack once (serverless package, no AWS) for every template file.
          globalSetup: ['test/template/global-setup.ts'],
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
