import type { Stage } from '../../lib/config';

/** The stages the suites check side by side (here, not in synth.ts: cfn-lint.suite.ts reads it before CDK loads). */
export const STAGES_UNDER_TEST = ['dev', 'prod'] as const satisfies readonly Stage[];
