/**
 * The wall time of a JUnit run, for the duration gate. Test cases (and the files of a parallel
 * run) overlap, so their times add up to more than the run took: the root's `time` is the wall
 * time when the producer writes one (and it is at least the longest test case: CTest writes
 * `time="0"`), else the span of the top suites' `timestamp`s, else the sum of suite times,
 * else of test case times. Which one was used is reported with the result.
 * A `time` that is not a duration (`1e400`, `Infinity`, `-1`, garbage) is a warning, never a
 * silent 0.
 */

import { NO_DURATION } from './types';

export type DurationSource =
  | 'root time'
  | 'timestamp span'
  | 'longest suite (same start time)'
  | 'longest file'
  | 'sum of suite times'
  | 'sum of test case times'
  | typeof NO_DURATION;

export interface SuiteDurationResult {
  durationMs: number;
  source: DurationSource;
  warnings: string[];
}

const MAX_EXAMPLES = 3;

export class SuiteDuration {
  readonly #micros: (time: string | undefined) => number | undefined;
  #root: number | undefined;
  /** A root time that is the sum of the files' durations (Vitest), not a wall time. */
  #rootSum: number | undefined;
  #suites = 0;
  #suitesTimed = 0;
  #suiteSum = 0;
  #suiteMax = 0;
  #spanStart = Number.POSITIVE_INFINITY;
  #spanEnd = Number.NEGATIVE_INFINITY;
  #lastStart = Number.NEGATIVE_INFINITY;
  #spanned = 0;
  #caseSum = 0;
  #caseMax = 0;
  #casesTimed = 0;
  #invalid = 0;
  readonly #examples: string[] = [];

  /** `micros` reads a `time` attribute as whole microseconds (undefined when not a duration). */
  constructor(micros: (time: string | undefined) => number | undefined) {
    this.#micros = micros;
  }

  /** `where` names the element (built only for the few examples a warning shows). */
  #read(time: string | undefined, where: () => string): number | undefined {
    const us = this.#micros(time);
    if (us === undefined && time !== undefined && time.trim() !== '') {
      this.#invalid++;
      if (this.#examples.length < MAX_EXAMPLES)
        this.#examples.push(`${JSON.stringify(time.slice(0, 40))} on ${where().slice(0, 80)}`);
    }
    return us;
  }

  /** The root element's time. */
  root(time: string | undefined, where: () => string): void {
    this.#root = this.#read(time, where);
  }

  /**
   * The root time is the sum of the files' durations (Vitest), not the wall time of a parallel
   * run. Told once the producer is known, which can be after the root.
   */
  rootIsSum(): void {
    this.#rootSum = this.#root;
    this.#root = undefined;
  }

  /** A suite directly under the root `<testsuites>`. */
  topSuite(time: string | undefined, timestamp: string | undefined, where: () => string): void {
    this.#suites++;
    const us = this.#read(time, where);
    if (us === undefined) return;
    this.#suitesTimed++;
    this.#suiteSum += us;
    this.#suiteMax = Math.max(this.#suiteMax, us);
    const start = timestamp ? Date.parse(timestamp) : Number.NaN;
    if (Number.isNaN(start)) return;
    this.#spanned++;
    this.#spanStart = Math.min(this.#spanStart, start * 1000);
    this.#lastStart = Math.max(this.#lastStart, start * 1000);
    this.#spanEnd = Math.max(this.#spanEnd, start * 1000 + us);
  }

  /** A test case's time in microseconds (0 when it has none, with a warning when invalid). */
  testCase(time: string | undefined, where: () => string): number {
    const read = this.#read(time, where);
    if (read !== undefined) this.#casesTimed++;
    const us = read ?? 0;
    this.#caseSum += us;
    this.#caseMax = Math.max(this.#caseMax, us);
    return us;
  }

  result(): SuiteDurationResult {
    const warnings: string[] = [];
    if (this.#invalid > 0)
      warnings.push(
        `${this.#invalid} time attribute(s) are not valid durations (${this.#examples.join(', ')}): ` +
          'they count as unknown, not in the suite duration',
      );
    const allTimed = this.#suites > 0 && this.#suitesTimed === this.#suites;
    const us = (source: DurationSource, micros: number): SuiteDurationResult => ({
      durationMs: micros / 1000,
      source,
      warnings,
    });
    if (this.#rootSum !== undefined && allTimed) {
      warnings.push(
        `the root time (${this.#rootSum / 1e6} s) is the sum of the files' durations, not ` +
          'the wall time of a parallel run, and the file has no start times: the duration gate ' +
          `uses the longest file (${this.#suiteMax / 1e6} s); the JSON reporter has the wall time`,
      );
      return us('longest file', this.#suiteMax);
    }
    // A run takes at least as long as its longest test case: a shorter root time (CTest's
    // `time="0"`) is not the wall time, and the readings below apply.
    if (this.#root !== undefined && this.#root >= this.#caseMax) return us('root time', this.#root);
    // Timestamps are start times: from the first start to the last end is the wall time.
    if (allTimed && this.#spanned === this.#suites && this.#suites > 1)
      return us(
        this.#lastStart === this.#spanStart ? 'longest suite (same start time)' : 'timestamp span',
        this.#spanEnd - this.#spanStart,
      );
    if (allTimed) return us('sum of suite times', this.#suiteSum);
    // Not one valid time anywhere: the run's duration is unknown, not 0.
    if (this.#casesTimed === 0 && this.#root === undefined && this.#suitesTimed === 0)
      return us(NO_DURATION, 0);
    return us('sum of test case times', this.#caseSum);
  }
}
