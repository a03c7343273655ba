import { fileURLToPath } from 'node:url';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { loadConfigFile } from '../functions/adapters/local/config-file';
import { DEPLOYED_STAGES, LOG_RETENTION_DAYS, type VigilConfig } from '../functions/core/config';

/** The stages Vigil models in code; each deploys as its own stack. */
export const STAGES = DEPLOYED_STAGES;
export type Stage = (typeof STAGES)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** `vigil.config.ts` at the repository root, whatever the working directory. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../vigil.config.ts', import.meta.url));

/** Validate a `-c stage=NAME` value. */
export const parseStage = (value: unknown): Stage => {
  const stage = value ?? 'dev';
  if (typeof stage === 'string' && (STAGES as readonly string[]).includes(stage)) {
    return stage as Stage;
  }
  throw new Error(
    `Unknown stage ${JSON.stringify(stage)}: pass -c stage=NAME with NAME one of ${STAGES.join(', ')}.`,
  );
};

/** The CloudFormation stack name of a stage. */
export const stackNameFor = (stage: Stage): string => `Vigil-${stage}`;

/**
 * Load and validate the Vigil config: `path` (relative to the working directory; `.ts`,
 * `.js` or `.json`), else the repository's `vigil.config.ts`. Uses the same loader as
 * `vigil dev`, so the CLI and CDK accept exactly the same files.
 */
export const loadVigilConfig = (path?: string): Promise<VigilConfig> =>
  loadConfigFile(path ?? DEFAULT_CONFIG_PATH);

/** Stage-dependent infrastructure settings derived from the config. */
export interface StageSettings {
  readonly stage: Stage;
  /** `POWERTOOLS_LOG_LEVEL` of every function. */
  readonly logLevel: LogLevel;
  /** Retention of every log group (function logs, API access logs). */
  readonly logRetention: RetentionDays;
  /** How long raw reports (S3) and bus events (EventBridge archive) are kept. */
  readonly archiveRetentionDays: number;
  /** RETAIN for prod (data outlives the stack), DESTROY elsewhere (clean teardown). */
  readonly removalPolicy: RemovalPolicy;
}

/** Used when the config has no entry (or no value) for a stage. */
export const STAGE_DEFAULTS = {
  logLevel: 'INFO',
  logRetentionDays: 30,
  archiveRetentionDays: 90,
} as const satisfies { logLevel: LogLevel; logRetentionDays: number; archiveRetentionDays: number };

/**
 * A CloudWatch Logs retention; other day counts are rejected rather than silently rounded. The
 * config schema refuses them already (`stages.<stage>.logRetentionDays`), with the same list.
 */
export const toRetentionDays = (days: number): RetentionDays => {
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new Error(
      `logRetentionDays ${days} is not a CloudWatch Logs retention period; use one of ${LOG_RETENTION_DAYS.join(', ')}.`,
    );
  }
  return days as RetentionDays;
};

export const stageSettings = (config: VigilConfig, stage: Stage): StageSettings => {
  const overrides = config.stages[stage];
  return {
    stage,
    logLevel: overrides?.logLevel ?? STAGE_DEFAULTS.logLevel,
    logRetention: toRetentionDays(overrides?.logRetentionDays ?? STAGE_DEFAULTS.logRetentionDays),
    archiveRetentionDays: overrides?.archiveRetentionDays ?? STAGE_DEFAULTS.archiveRetentionDays,
    removalPolicy: stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  };
};
