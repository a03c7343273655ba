import { type App, type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { VigilConfig } from '../../functions/core/config';
import { loadVigilConfig, parseStage, type Stage, stackNameFor } from '../../lib/config';
import { VigilStack } from '../../lib/vigil-stack';
import { testApp } from '../helpers/cdk-app';

export interface SynthOptions {
  /** Synthesize into this directory. @default - a temp directory chosen by CDK */
  outdir?: string;
  /** Run esbuild for the functions. @default false (fast; assets are not built) */
  bundle?: boolean;
  config?: VigilConfig;
}

/**
 * Build the app the way bin/app.ts does (stage from context, cdk-nag as validation plugin),
 * without reading the process environment.
 */
export const buildApp = async (
  stage: Stage,
  options: SynthOptions = {},
): Promise<{ app: App; stack: VigilStack; nag: AwsSolutionsChecks }> => {
  const app = testApp(
    {
      stage,
      // cdk-nag findings are asserted by the tests (with a readable list) instead of
      // aborting synthesis as `cdk synth` does.
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
    options.outdir ? { outdir: options.outdir } : {},
  );
  const config = options.config ?? (await loadVigilConfig());
  const parsed = parseStage(app.node.tryGetContext('stage'));
  const stack = new VigilStack(app, stackNameFor(parsed), { stage: parsed, config });
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  return { app, stack, nag };
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
