import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadVigilConfig, parseStage, stackNameFor } from '../lib/config';
import { VigilStack } from '../lib/vigil-stack';

/**
 * CDK entry (`npx cdk deploy -c stage=dev`): the one place that reads context and environment.
 * One stack per invocation, for the stage named by `-c stage=NAME` (default dev).
 * `VIGIL_CONFIG` may name another config file (`.ts`, `.js` or `.json`).
 */
const app = new App();
const stage = parseStage(app.node.tryGetContext('stage'));
const config = await loadVigilConfig(process.env.VIGIL_CONFIG);

new VigilStack(app, stackNameFor(stage), {
  stage,
  config,
  // Environment-agnostic unless the CLI resolved an account and region (no lookups at synth).
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  },
});

// cdk-nag 3 runs as a CDK validation plugin: unacknowledged errors fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
