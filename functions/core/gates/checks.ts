import type { Quarantine, SecuritySuppression } from '../config';
import type { GateCheck } from '../events';
import type { RunRecord } from '../history/types';
import type { SecurityAnalysis } from '../security/analysis';

/** Shared pieces of the gate rules: the context history gives them and check builders. */

export interface GateContext {
  /** Branch whose earlier runs are the baseline (`base` query parameter, else `defaultBranch`). */
  baseBranch: string;
  /** The report's suite, for messages. */
  suite?: string;
  /**
   * Earlier runs of the same project, kind and suite on `baseBranch`, newest first, this run
   * excluded. `undefined` when history could not be consulted (see `noHistory`).
   */
  baseline?: readonly RunRecord[];
  /** Why there is no baseline, e.g. "run history is not configured". */
  noHistory?: string;
  /**
   * The commit the change branched from (the CLI's `patch.base`), when known: the coverage drop
   * compares with the baseline run of this commit, if there is one, instead of the latest.
   */
  mergeBase?: string;
  /** Quarantine entries of the project. */
  quarantine: readonly Quarantine[];
  /** Security suppressions of the project. */
  suppressions?: readonly SecuritySuppression[];
  /** The security analysis, when the caller already made it (ingest does, for its answer). */
  security?: SecurityAnalysis;
  now: Date;
  /** Fewer earlier runs than this: regression checks skip and say so. */
  minBaselineRuns: number;
}

export const DEFAULT_CONTEXT: GateContext = {
  baseBranch: 'main',
  noHistory: 'no run history was consulted',
  quarantine: [],
  now: new Date(0),
  minBaselineRuns: 3,
};

export const check = (
  id: string,
  failed: boolean,
  message: string,
  actual: number | null,
  threshold: number | null,
): GateCheck => ({ id, status: failed ? 'fail' : 'pass', message, actual, threshold });

export const skip = (
  id: string,
  message: string,
  actual: number | null = null,
  threshold: number | null = null,
): GateCheck => ({ id, status: 'skip', message, actual, threshold });

export const plural = (n: number, word: string, many = `${word}s`): string =>
  `${n} ${n === 1 ? word : many}`;

/** Names can be whole command lines; checks and events stay small. */
export const clip = (s: string, max = 200): string =>
  s.length > max ? `${s.slice(0, max - 1)}…` : s;

/** A number for people: integers from 1000 up, otherwise 4 significant digits. */
export const num = (n: number): string =>
  Math.abs(n) >= 1000 ? String(Math.round(n)) : String(Number(n.toPrecision(4)));

/** A percentage to one decimal, without a trailing `.0`: `12.3`, `10`. */
export const pct1 = (pct: number): string => String(Number(pct.toFixed(1)));

export const signedPct = (pct: number): string => `${pct >= 0 ? '+' : '−'}${pct1(Math.abs(pct))}%`;

/** Numbers for `actual`/`threshold`: rounded enough to read, exact enough to compare. */
export const round4 = (n: number): number => Number(n.toPrecision(6));

/** `on base branch "main" (suite unit)`. */
export const where = (ctx: GateContext): string =>
  `on base branch "${ctx.baseBranch}"${ctx.suite ? ` (suite ${ctx.suite})` : ''}`;

/** The runs of one kind in the baseline, or why there are none to consult. */
/** Why there is no baseline, for a skip message. */
export const noHistory = (ctx: GateContext): string => ctx.noHistory ?? 'no run history';

export const baselineOf = <K extends RunRecord['kind']>(
  ctx: GateContext,
  kind: K,
): Extract<RunRecord, { kind: K }>[] | undefined =>
  ctx.baseline?.filter((r): r is Extract<RunRecord, { kind: K }> => r.kind === kind);

/** `10 runs`, or `9 runs, 1 outlier run left out`. */
/** How a comparison came out, in words. */
export const verdict = (status: 'regressed' | 'improved' | 'ok'): string =>
  status === 'ok' ? 'within noise' : status;

export const runsUsed = (runs: number, outliers = 0): string =>
  `${plural(runs, 'run')}${outliers > 0 ? `, ${plural(outliers, 'outlier run')} left out` : ''}`;
