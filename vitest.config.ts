import { defineConfig } from 'vitest/config';

/**
 * One run: unit, integration (moto_server, local HTTP receivers) and end-to-end suites,
 * files in parallel across worker processes. Coverage gates the build at 90%.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // Many suites wait on I/O (moto, local servers, probe intervals): three workers keep both
    // cores busy on the 2-core CI machine (≈60 s instead of ≈95 s with the default).
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Console output only for failing tests: a failure is the first thing a reader sees.
    silent: 'passed-only',
    reporters: ['default', ['junit', { outputFile: 'reports/junit.xml', suiteName: 'vigil' }]],
    env: {
      // Keep Powertools quiet and deterministic unless a test opts in.
      POWERTOOLS_SERVICE_NAME: 'vigil-test',
      POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_TRACE_ENABLED: 'false',
      // No EMF on stdout from the handlers' shared Metrics (local mode's own instances still
      // write to their store); a test that reads EMF from stdout deletes this.
      POWERTOOLS_METRICS_DISABLED: 'true',
      // The machine runs Node 20; Lambda runs Node 22 (FUNCTION_RUNTIME). The SDK's notice
      // about Node 20 (aws/aws-sdk-js-v3#7983) would print once per worker.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    },
    projects: [
      {
        // Pure logic: no process state worth isolating, so each worker imports the modules
        // once for all its files instead of once per file (a third of the CPU time of these).
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false },
      },
      {
        // Handlers read their environment at import time; servers, moto and env per file.
        extends: true,
        test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'] },
      },
    ],
    coverage: {
      provider: 'v8',
      // bin/vigil.ts is only the process shell around cli/main.ts; test/e2e/npm-start.test.ts runs it as a real process.
      include: ['functions/**/*.ts', 'cli/**/*.ts', 'lib/**/*.ts', 'bin/app.ts'],
      exclude: ['**/*.d.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
      thresholds: { lines: 90, branches: 90, functions: 90, statements: 90 },
    },
  },
});
