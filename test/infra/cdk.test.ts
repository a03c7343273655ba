/**
 * The suites that synthesize the CDK app, in one file so that they share one process: CDK loads
 * once, and each stage and config is synthesized once for all of them (`synthesize` in
 * synth.ts). A new suite that synthesizes goes here as `<name>.suite.ts`. cfn-lint comes last:
 * it lints in the background while the others' tests run.
 */
import './stack.suite';
import './sentry.suite';
import './snapshot.suite';
import './monitoring.suite';
import './heartbeats.suite';
import './cfn-lint.suite';
