import { defineConfig } from './functions/core/config';

/**
 * Vigil's configuration. `npm start` and `cdk deploy` both read this file.
 * Every field is optional; see README.md ("Configuration") for the full list.
 */
export default defineConfig({
  project: 'vigil',
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
