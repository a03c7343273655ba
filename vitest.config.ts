import { defineConfig } from 'vitest/config';

/**
 * One run: unit, integration (moto_server, local HTTP receivers) and end-to-end suites,
 * files in parallel across worker processes. Coverage gates the build at 90%.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Many suites wait on I/O (moto, local servers, probe intervals): three workers keep both
    // cores busy on the 2-core CI machine (≈60 s instead of ≈95 s with the default).
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ['default', ['junit', { outputFile: 'reports/junit.xml', suiteName: 'vigil' }]],
    env: {
      // Keep Powertools quiet and deterministic unless a test opts in.
      POWERTOOLS_SERVICE_NAME: 'vigil-test',
      POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_TRACE_ENABLED: 'false',
      AWS_REGION: 'us-east-1',
    },
    coverage: {
      provider: 'v8',
      // bin/vigil.ts is only the process shell around cli/main.ts; test/e2e/npm-start.test.ts runs it as a real process.
      include: ['functions/**/*.ts', 'cli/**/*.ts', 'lib/**/*.ts', 'bin/app.ts'],
      // cli/standalone/ and cli/action-main.ts are the process shells of the single-file builds;
      // test/e2e/ci-edge.test.ts runs those builds as real processes.
      exclude: ['**/*.d.ts', 'cli/standalone/**', 'cli/action-main.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
      thresholds: { lines: 90, branches: 90, functions: 90, statements: 90 },
    },
  },
});
