import { defineConfig } from './functions/core/config';

/**
 * Vigil's configuration. `npm start` and `cdk deploy` both read this file.
 * Every field is optional; see docs/configuration.md for the full list.
 */
/**
 * Local mode probes Vigil's own health endpoint, so `npm start` shows probes, metrics and
 * alerts working on a fresh clone. It is left out when the CDK CLI synthesizes (it sets
 * CDK_OUTDIR): a deployed stage has nothing listening on its loopback. It is also left out with
 * PORT=0 (a random port, unknown when this file is read).
 */
const selfProbe = {
  name: 'vigil-health',
  url: `http://127.0.0.1:${process.env.PORT || 3000}/v1/health`,
  intervalSeconds: 30,
  timeoutMs: 2000,
  expect: { status: [200], json: [{ path: '$.status', equals: 'ok' }] },
  tags: ['local'],
};

export default defineConfig({
  project: 'vigil',
  probes: process.env.CDK_OUTDIR || process.env.PORT === '0' ? [] : [selfProbe],
  defaultBranch: 'main',
  gates: {
    failOnFailedTests: true,
    minCoverage: 90,
    coverageMetrics: ['lines'],
    maxDurationSeconds: 120,
  },
  projects: {
    // Per-project overrides, e.g.:
    // shop: { gates: { minCoverage: 80, maxDurationSeconds: 600 } },
  },
  stages: {
    dev: { logLevel: 'DEBUG', logRetentionDays: 7, archiveRetentionDays: 30 },
    staging: { logLevel: 'INFO', logRetentionDays: 30, archiveRetentionDays: 90 },
    prod: { logLevel: 'INFO', logRetentionDays: 90, archiveRetentionDays: 365 },
  },
});
