/**
 * The suites that synthesize the CDK app, in one file so that they share one process: CDK loads
 * once, and each stage and config is synthesized once for all of them (`synthesize` in
 * synth.ts). A new suite that synthesizes goes here as `<name>.suite.ts`. cfn-lint starts first
 * and gives its verdict last: it lints in the background while the others' tests run.
 */
import { describeCfnLint } from './cfn-lint.suite';
import './stack.suite';
import './sentry.suite';
import './snapshot.suite';
import './monitoring.suite';
import './heartbeats.suite';
import './browser.suite';

describeCfnLint();
