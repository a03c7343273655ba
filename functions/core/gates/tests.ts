import type { GateConfig, Quarantine } from '../config';
import type { GateCheck } from '../events';
import { NO_DURATION, type ParsedTests } from '../formats/types';
import { findQuarantine } from '../history/quarantine';
import { testId } from '../history/types';
import { check, clip, type GateContext, plural, skip } from './checks';

/**
 * Test-run checks. Failures of tests under an active quarantine do not count against
 * `tests.failed`, but every one of them is listed (`tests.quarantine`) so nobody forgets them;
 * a quarantine past its `expires` stops applying and the message says so.
 */

/** Quarantined failures listed by name in `tests.quarantine` (the count is always exact). */
export const MAX_QUARANTINE_LISTED = 20;
/** Quarantined failures named inline in the `tests.failed` message. */
const INLINE = 3;

interface Hit {
  id: string;
  entry: Quarantine;
}

const q = (id: string): string => `"${clip(id)}"`;
const active = (h: Hit): string => `${q(h.id)} by ${h.entry.owner} until ${h.entry.expires}`;
const lapsed = (h: Hit): string => `${q(h.id)} by ${h.entry.owner} expired ${h.entry.expires}`;

const listed = (hits: Hit[], show: (h: Hit) => string, max: number): string => {
  const shown = hits.slice(0, max).map(show).join(', ');
  return hits.length > max ? `${shown} and ${hits.length - max} more` : shown;
};

export const testChecks = (report: ParsedTests, cfg: GateConfig, ctx: GateContext): GateCheck[] => {
  const s = report.summary;
  const checks: GateCheck[] = [];
  const quarantined: Hit[] = [];
  const expired: Hit[] = [];
  if (ctx.quarantine.length > 0)
    for (const c of report.cases) {
      if (c.status !== 'failed') continue;
      const id = testId(c);
      const match = findQuarantine(ctx.quarantine, id, ctx.now);
      if (match) (match.expired ? expired : quarantined).push({ id, entry: match.entry });
    }
  const counted = Math.max(0, s.failed - quarantined.length);

  if (cfg.failOnEmptyTestRun)
    checks.push(
      check(
        'tests.present',
        s.total === 0,
        s.total === 0 ? 'The report contains no tests.' : `${plural(s.total, 'test')} reported`,
        s.total,
        1,
      ),
    );
  if (cfg.failOnFailedTests) {
    const notes: string[] = [];
    if (quarantined.length > 0)
      notes.push(
        `${plural(quarantined.length, counted > 0 ? 'more failure' : 'failure', counted > 0 ? 'more failures' : 'failures')} quarantined: ${listed(quarantined, active, INLINE)}`,
      );
    if (expired.length > 0)
      notes.push(`quarantine expired, counted: ${listed(expired, lapsed, INLINE)}`);
    // Errors outside the tests (a failing beforeAll/afterAll hook, a file that did not load)
    // are not tests, but they failed the run.
    const errors = report.errors ?? [];
    if (errors.length > 0)
      notes.push(
        `${plural(errors.length, 'error')} outside any test failed the run: ${errors
          .slice(0, INLINE)
          .map((e) => q(e.file && e.file !== e.name ? `${e.file} > ${e.name}` : e.name))
          .join(', ')}${errors.length > INLINE ? ` and ${errors.length - INLINE} more` : ''}`,
      );
    const base =
      counted > 0 ? `${counted} of ${plural(s.total, 'test')} failed` : 'No failed tests';
    checks.push(
      check(
        'tests.failed',
        counted > 0 || errors.length > 0,
        notes.length ? `${base} (${notes.join('; ')})` : base,
        counted + errors.length,
        0,
      ),
    );
  }
  const seconds = Math.round(s.durationMs) / 1000;
  const over = seconds > cfg.maxDurationSeconds;
  checks.push(
    report.durationSource === NO_DURATION
      ? skip(
          'tests.duration',
          `Suite duration unknown (${NO_DURATION}): not checked against the budget of ${cfg.maxDurationSeconds}s`,
          null,
          cfg.maxDurationSeconds,
        )
      : check(
          'tests.duration',
          over,
          `Suite took ${seconds}s${report.durationSource ? ` (${report.durationSource})` : ''}, ${over ? 'over' : 'within'} the budget of ${cfg.maxDurationSeconds}s`,
          seconds,
          cfg.maxDurationSeconds,
        ),
  );
  if (quarantined.length > 0 || expired.length > 0) {
    const parts: string[] = [];
    if (quarantined.length > 0)
      parts.push(
        `${plural(quarantined.length, 'quarantined failure')} not failing the gate: ${listed(
          quarantined,
          (h) => `${active(h)} (${clip(h.entry.reason, 120)})`,
          MAX_QUARANTINE_LISTED,
        )}`,
      );
    if (expired.length > 0)
      parts.push(
        `${plural(expired.length, 'failure')} whose quarantine expired, counted again: ${listed(expired, lapsed, MAX_QUARANTINE_LISTED)}`,
      );
    checks.push({
      id: 'tests.quarantine',
      status: 'skip',
      message: `${parts.join('. ')}.`,
      actual: quarantined.length,
      threshold: null,
    });
  }
  return checks;
};
