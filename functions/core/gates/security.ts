import type { GateConfig, SecuritySuppression } from '../config';
import type { GateCheck } from '../events';
import type { ParsedSecurity } from '../formats/types';
import { analyseSecurity, type SecurityAnalysis } from '../security/analysis';
import { locationText, SEVERITIES, type Severity } from '../security/model';
import { baselineOf, check, clip, type GateContext, plural, where } from './checks';

/**
 * `security.findings`: fail when findings at or above `gates.security.minSeverity` (default
 * high) are open, counting only those new against the base branch's latest run of the same
 * tool (`newOnly`, default true). A tool without a base run is gated on all its findings, and
 * the check says so; suppressed findings never count; an expired suppression is named.
 * A scan that did not complete (`report.toolErrors`: e.g. a SARIF invocation that failed) fails
 * the check whatever its findings: its report may miss some.
 */

export const SECURITY_CHECK = 'security.findings';

/** The analysis the gate reads, from the report, the gate settings and the context. */
export const securityAnalysisFor = (
  report: ParsedSecurity,
  cfg: GateConfig,
  ctx: GateContext,
): SecurityAnalysis =>
  analyseSecurity({
    report,
    baseline: baselineOf(ctx, 'security') ?? [],
    ...(ctx.baseline === undefined && ctx.noHistory ? { noHistory: ctx.noHistory } : {}),
    suppressions: ctx.suppressions ?? [],
    now: ctx.now,
    ...(cfg.security?.minSeverity ? { minSeverity: cfg.security.minSeverity } : {}),
    ...(cfg.security?.newOnly === undefined ? {} : { newOnly: cfg.security.newOnly }),
  });

const counts = (findings: readonly { severity: Severity }[]): string =>
  SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');

const SHOWN_IN_MESSAGE = 3;

/** `rule "js/xss", path "src/*"`: the matchers an entry names. */
const suppressionLabel = (s: SecuritySuppression): string =>
  (['tool', 'rule', 'path', 'url', 'package'] as const)
    .filter((k) => s[k] !== undefined)
    .map((k) => `${k} ${JSON.stringify(s[k])}`)
    .join(', ');

export const securityChecks = (
  report: ParsedSecurity,
  cfg: GateConfig,
  ctx: GateContext,
): GateCheck[] => {
  const a = ctx.security ?? securityAnalysisFor(report, cfg, ctx);
  const notes: string[] = [];
  const without = [...a.bases].filter(([, base]) => base === undefined).map(([tool]) => tool);
  if (a.newOnly && without.length > 0)
    notes.push(
      a.noHistory
        ? `No base comparison (${a.noHistory}): gating on all findings.`
        : `No base run of ${without.map((t) => clip(t, 60)).join(', ')} ${where(ctx)} yet: gating on all ${without.length === 1 ? 'its' : 'their'} findings at or above ${a.minSeverity}.`,
    );
  for (const e of a.expired)
    notes.push(
      `Suppression ${clip(suppressionLabel(e.entry), 120)} (owner ${clip(e.entry.owner, 60)}) expired on ${e.entry.expires}: it no longer suppresses ${plural(e.findings, 'finding')}.`,
    );
  if (a.suppressed.length > 0)
    notes.push(`${plural(a.suppressed.length, 'finding')} suppressed (listed in the answer).`);
  // Findings of a tool without a base are gated whether new or not: no "new" then.
  const scope = a.newOnly && without.length === 0 ? 'new ' : '';
  const against = a.newOnly && without.length < a.bases.size ? ` ${where(ctx)}` : '';
  const shown = a.gated
    .slice(0, SHOWN_IN_MESSAGE)
    .map((f) => `${f.severity} ${clip(f.ruleId, 80)} at ${clip(locationText(f.location), 120)}`);
  const more = a.gated.length - shown.length;
  const head =
    a.gated.length === 0
      ? `No ${scope}findings at or above ${a.minSeverity}${against} (${plural(a.summary.findings, 'finding')} in the report, ${a.summary.fixed} fixed).`
      : `${plural(a.gated.length, `${scope}finding`)} at or above ${a.minSeverity}${against} (${counts(a.gated)}): ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}.`;
  const errors = report.toolErrors ?? [];
  const incomplete =
    errors.length > 0
      ? [
          `The security tool did not complete (${clip(errors[0] ?? '', 200)}${errors.length > 1 ? `; and ${errors.length - 1} more` : ''}): its report may miss findings, so the gate cannot pass.`,
        ]
      : [];
  return [
    check(
      SECURITY_CHECK,
      a.gated.length > 0 || errors.length > 0,
      [...incomplete, head, ...notes].join(' '),
      a.gated.length,
      0,
    ),
  ];
};
