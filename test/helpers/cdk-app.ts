import { readFileSync } from 'node:fs';
import { App, type AppProps } from 'aws-cdk-lib';

/** The feature flags `cdk synth` uses (cdk.json), so tests synthesize the same templates. */
const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context?: Record<string, unknown>;
    }
  ).context ?? {};

/**
 * An App as `cdk synth` builds it (cdk.json's context first, then `context`), minus three things
 * no test reads: CDK's built-in CloudFormation validation (its WASM engine costs 3-20 s per
 * synthesis on this machine and only prints warnings; test/infra/cfn-lint.suite.ts lints the
 * same templates), the construct tree written to tree.json (a walk of the whole app), and the
 * stack trace CDK records for every construct and metadata entry (the cloud assembly's
 * metadata, never the template: each one went through Vite's source-map lookup here).
 */
export const testApp = (context: Record<string, unknown> = {}, props: AppProps = {}): App =>
  new App({
    ...props,
    builtinCloudFormationValidation: false,
    treeMetadata: false,
    context: {
      ...cdkJsonContext(),
      'aws:cdk:disable-stack-trace': true,
      'aws:cdk:disable-creation-stack-traces': true,
      ...context,
    },
  });
