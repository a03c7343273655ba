import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import JUnitFileReporter from './test/helpers/junit-reporter.js';
import { missingTools, TOOLS } from './test/helpers/requires.js';

/**
 * One run: unit, integration (moto_server, local HTTP receivers) and end-to-end suites,
 * files in parallel across worker processes. Coverage gates the build at 95%.
 */
/**
 * Suites that need a process of their own. The others share a module registry and process.env
 * per worker: a suite there restores the environment it changes and imports fresh
 * (`vi.resetModules()` + `import()`) only what reads it, leaving none of it behind (see
 * test/helpers/env.ts). A suite that mocks modules, or needs a library loaded with its
 * environment (one outside the registry, which `vi.resetModules()` cannot reload), goes here.
 */
const ISOLATED = [
  // Both need aws-xray-sdk-core loaded in Lambda mode: it reads LAMBDA_TASK_ROOT (facade
  // segments) and AWS_XRAY_DAEMON_ADDRESS once, when first loaded.
  'test/e2e/correlation.test.ts',
  'test/integration/xray.test.ts',
  // Mocks node:fs to record the archive's calls in order.
  'test/unit/archive-write-order.test.ts',
];

/**
 * The files that take longest on one worker (CPU, a browser, child processes), slowest first,
 * from reports/junit.xml of a full run. They start first, so that no long file begins when
 * the others are nearly done and the run ends waiting for it. A new file that takes more than
 * ~10 s goes in here. The files that mostly wait (probe intervals, a Prometheus scrape: marked
 * "waits") are placed between busy ones: workers all waiting at once left the cores idle.
 */
const SLOW_FIRST = [
  'test/infra/cdk.test.ts',
  'test/e2e/dashboard.test.ts',
  'test/integration/browser-checks.test.ts',
  'test/integration/aws-wiring.test.ts',
  'test/integration/probe-scheduler.test.ts', // waits
  'test/integration/history-store.test.ts',
  'test/integration/prometheus.test.ts', // waits
  'test/e2e/durability.test.ts',
  'test/e2e/outage.test.ts', // waits
  'test/integration/report-cli.test.ts',
  'test/integration/load.test.ts', // waits
  'test/e2e/npm-start.test.ts',
  'test/integration/probes.test.ts', // waits
  'test/e2e/ci-edge.test.ts',
  'test/integration/metrics-idempotency.test.ts',
  'test/infra/bundle.test.ts',
];

/**
 * ISOLATED first, then SLOW_FIRST, then Vitest's own order (longest first once it has timings).
 * The isolated files go first because Vitest keeps a shared worker for the next file only while
 * the next file in its queue is a shared one: an isolated file in the middle stopped the
 * shared workers, and new ones imported everything again (2026-12-05: 74 → 71 s).
 */
class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      if (file.project.config.isolate) return -1;
      const index = SLOW_FIRST.indexOf(relative(file.project.config.root, file.moduleId));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // sort is stable: the others keep Vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * Without one of the outside programs its suites skip (test/helpers/requires.ts), and the code
 * only they reach goes uncovered: the thresholds hold with every program there, as in CI
 * (`.ci/run`, where a missing program fails its suite instead of skipping it).
 */
const missing = process.env.CI === 'true' ? [] : missingTools(Object.values(TOOLS));
if (missing.length > 0 && process.env.VIGIL_COVERAGE_NOTE === undefined) {
  // Once: Vitest reads this file again for each project.
  process.env.VIGIL_COVERAGE_NOTE = '1';
  process.stderr.write(
    `coverage thresholds not enforced: ${missing.map((t) => t.command).join(', ')} missing, their suites skip\n`,
  );
}
const THRESHOLD = missing.length === 0 ? 95 : 0;

export default defineConfig({
  test: {
    pool: 'forks',
    // Many suites wait on I/O (moto, local servers, probe intervals): more workers than cores
    // keep both cores busy on the 2-core CI machine (2026-12-05, alternated: 67.9 and 68.3 s
    // with three, 65.7 and 63.0 s with four; five no faster). See docs/performance.md.
    maxWorkers: 4,
    sequence: { sequencer: SlowFirstSequencer },
    globalSetup: ['test/helpers/temp-root.ts'],
    setupFiles: ['test/helpers/real-timers.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Console output only for failing tests: a failure is the first thing a reader sees.
    silent: 'passed-only',
    reporters: [
      'default',
      new JUnitFileReporter({ outputFile: 'reports/junit.xml', suiteName: 'vigil' }),
    ],
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
      // The X-Ray SDK in manual mode: loaded by a Lambda entry in automatic mode, it enables an
      // async hook with a destroy callback (cls-hooked) for the rest of its worker's life, which
      // every promise of the later files paid for. The files that trace delete this first.
      AWS_XRAY_MANUAL_MODE: 'true',
      AWS_REGION: 'us-east-1',
    },
    projects: [
      {
        // Each worker imports the modules once for all its files instead of once per file
        // (CDK, the AWS SDK, zod...: most of the CPU time of these suites).
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false },
      },
      {
        extends: true,
        test: { name: 'isolated', include: ISOLATED },
      },
    ],
    coverage: {
      // V8's, taken once per shared worker instead of after each file (test/helpers/coverage.ts).
      provider: 'custom',
      customProviderModule: 'test/helpers/coverage.ts',
      // bin/vigil.ts is only the process shell around cli/main.ts; test/e2e/npm-start.test.ts runs it as a real process.
      include: ['functions/**/*.ts', 'cli/**/*.ts', 'lib/**/*.ts', 'bin/app.ts'],
      // cli/standalone/ and cli/action-main.ts are the process shells of the single-file builds;
      // test/e2e/ci-edge.test.ts runs those builds as real processes.
      exclude: ['**/*.d.ts', 'cli/standalone/**', 'cli/action-main.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
      thresholds: {
        lines: THRESHOLD,
        branches: THRESHOLD,
        functions: THRESHOLD,
        statements: THRESHOLD,
      },
    },
  },
});
