import type { App, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, type VigilConfig } from '../../functions/core/config';
import { parseStage, type Stage, stackNameFor } from '../../lib/config';
import { VigilStack } from '../../lib/vigil-stack';
import { testApp } from '../helpers/cdk-app';
import { repoConfig } from '../helpers/repo-config';

/**
 * Build the app the way bin/app.ts does (stage from context), without reading the process
 * environment or bundling the functions. cdk-nag is not added as a validation plugin: the
 * suites that assert on its findings ask `Synthesized.nag()`, which walks the same construct
 * tree as the plugin does in `cdk synth`, once per synthesis.
 */
const buildApp = (stage: Stage, config: VigilConfig): { app: App; stack: VigilStack } => {
  const app = testApp({ stage, 'aws:cdk:bundling-stacks': [] });
  const parsed = parseStage(app.node.tryGetContext('stage'));
  const stack = new VigilStack(app, stackNameFor(parsed), { stage: parsed, config });
  return { app, stack };
};

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
}

export interface Synthesized {
  app: App;
  stack: VigilStack;
  template: Template;
  resources: Record<string, CfnResourceJson>;
  /** cdk-nag's report on the app (AwsSolutions, as bin/app.ts), computed on the first call. */
  nag: () => PolicyValidationPluginReport;
}

const synthesized = new Map<string, Promise<Synthesized>>();

/**
 * The stack of `stage` for `config`, synthesized once per process: the CDK suites run in one
 * file (cdk.test.ts), so the stage they all check is built once, not once per suite.
 * Callers only read the result.
 */
export const synthesize = (stage: Stage, config: VigilConfig): Promise<Synthesized> => {
  const key = `${stage} ${JSON.stringify(config)}`;
  let found = synthesized.get(key);
  if (found === undefined) {
    found = Promise.resolve().then(() => {
      const { app, stack } = buildApp(stage, config);
      const template = Template.fromStack(stack);
      const resources = template.toJSON().Resources as Record<string, CfnResourceJson>;
      let report: PolicyValidationPluginReport | undefined;
      const nag = () => {
        report ??= new AwsSolutionsChecks().validateScope(app);
        return report;
      };
      return { app, stack, template, resources, nag };
    });
    synthesized.set(key, found);
  }
  return found;
};

/** The repository config with one probe and one email channel: the stages as deployed. */
export const stageConfig = async (): Promise<VigilConfig> =>
  parseConfig({
    ...(await repoConfig()),
    probes: [
      { name: 'shop-health', url: 'https://shop.example.com/health' },
      // A browser check: its own function, schedule, queue and alarms.
      { name: 'shop-login', type: 'browser', script: 'test/fixtures/browser/login.check.ts' },
    ],
    // A heartbeat with its own ping token: its route, table, schedule, evaluator and secret read.
    heartbeats: [
      {
        name: 'nightly-backup',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        tokenSecret: 'BACKUP_HB',
      },
    ],
    alerts: { channels: [{ type: 'email', address: 'oncall@example.com' }] },
    telemetry: { otlpEndpoint: 'https://otel.example.com' },
  });

/** The stages the suites check side by side. */
export const STAGES_UNDER_TEST = ['dev', 'prod'] as const satisfies readonly Stage[];

export type Deployed = Record<(typeof STAGES_UNDER_TEST)[number], Synthesized> & {
  config: VigilConfig;
};

/** `stageConfig()` and the stacks of STAGES_UNDER_TEST for it (in a suite's `beforeAll`). */
export const deployedStages = async (): Promise<Deployed> => {
  const config = await stageConfig();
  return { config, dev: await synthesize('dev', config), prod: await synthesize('prod', config) };
};

/** Unacknowledged cdk-nag findings as `RuleId @ construct path` lines. */
export const nagFindings = (
  report: PolicyValidationPluginReport,
  severity?: 'error' | 'warning',
): string[] =>
  report.violations
    .filter((v) => severity === undefined || v.severity === severity)
    .flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath ?? r.resourceLogicalId}`),
    );
