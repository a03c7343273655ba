/**
 * The parts of Vigil's ingest answer that CI feedback shows (CLI lines, job summary,
 * annotations, pull request comment, commit status), read defensively: the answer comes over
 * the network and every string in it comes from a report, so it is hostile.
 */

import { oneLine as flatten, inertJson, UNSAFE_RUNS } from '../../functions/core/plain-text';

export type GateStatus = 'pass' | 'fail' | 'none';

export interface Check {
  id: string;
  status: string;
  message?: string;
  actual?: number;
  threshold?: number;
}

export interface Test {
  suite: string;
  classname: string;
  name: string;
  message?: string;
  file?: string;
  line?: number;
  /** A failure under a quarantine in force: it does not fail the gate. */
  quarantined?: { owner: string; expires: string };
}

/** ` (quarantined by ana until 2026-12-01)`, or nothing. */
export const quarantineNote = (t: Test): string =>
  t.quarantined
    ? ` (quarantined by ${oneLine(t.quarantined.owner, 128)} until ${oneLine(t.quarantined.expires, 40)})`
    : '';

export interface PatchFile {
  path: string;
  uncovered: number[];
}

export interface Patch {
  coverable: number;
  covered: number;
  pct: number | null;
  files: PatchFile[];
}

/** One report Vigil accepted, with what its answer said. */
export interface Delivered {
  file: string;
  runId?: string;
  kind?: string;
  gate: GateStatus;
  checks: Check[];
  summary: Record<string, unknown>;
  failed: Test[];
  moreFailed: number;
  flaky: Test[];
  moreFlaky: number;
  warnings: string[];
  patch?: Patch;
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const finite = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
const count = (v: unknown): number => Math.max(0, Math.floor(finite(v) ?? 0));

/**
 * One line of text: control characters, line breaks and bidi controls (`UNSAFE_CHARS`) become
 * spaces (a name must never start a new line in a log, where `::command::` lines are
 * interpreted, nor steer the terminal or the reading order), capped at `max`.
 */
export const oneLine = (s: string, max = 300): string => {
  const flat = flatten(s);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * A whole line of the CLI's log output, as printed (stdout and stderr go through this): the
 * text it quotes from a report, the server's answer or an error may be anything, so the
 * characters `oneLine` removes become spaces here too (the indentation stays, nothing is cut),
 * a line never starts with `::` after its indentation (GitHub Actions reads that as a workflow
 * command) and `##[`, the runner's older command syntax read anywhere in a line, is broken up.
 * The CLI's own workflow commands (annotations) are printed as they are, not through this.
 */
export const logLine = (line: string): string =>
  line
    .replace(UNSAFE_RUNS, ' ')
    .replace(/^(\s*):(?=:)/, '$1: ')
    .replaceAll('##[', '# #[');

/**
 * A value as one JSON line for the log: what `logLine` would change is written as a `\uXXXX`
 * escape instead (`JSON.stringify` leaves C1, bidi and U+2028/U+2029 raw), so the line is inert
 * and still parses to the same value.
 */
export const jsonLine = (value: unknown): string =>
  inertJson(JSON.stringify(value)).replaceAll('##[', '##\\u005b');

const tests = (v: unknown): Test[] =>
  (Array.isArray(v) ? v : []).filter(isRecord).map((t) => {
    const message = str(t.message);
    const file = str(t.file);
    const line = finite(t.line);
    const q = isRecord(t.quarantined) ? t.quarantined : {};
    const owner = str(q.owner);
    const expires = str(q.expires);
    return {
      suite: str(t.suite) ?? '',
      classname: str(t.classname) ?? '',
      name: str(t.name) ?? '?',
      ...(message ? { message } : {}),
      ...(file ? { file } : {}),
      ...(file && line !== undefined && Number.isInteger(line) && line > 0 ? { line } : {}),
      ...(owner && expires ? { quarantined: { owner, expires } } : {}),
    };
  });

const patchOf = (v: unknown): Patch | undefined => {
  if (!isRecord(v)) return undefined;
  const pct = finite(v.pct);
  return {
    coverable: count(v.coverable),
    covered: count(v.covered),
    pct: pct ?? null,
    files: (Array.isArray(v.files) ? v.files : []).filter(isRecord).map((f) => ({
      path: str(f.path) ?? '?',
      uncovered: (Array.isArray(f.uncovered) ? f.uncovered : []).filter(
        (n): n is number => Number.isInteger(n) && n > 0,
      ),
    })),
  };
};

/** The feedback view of an accepted answer (a JSON object). */
export const deliveredOf = (file: string, doc: Record<string, unknown>): Delivered => {
  const gate = isRecord(doc.gate) ? doc.gate : {};
  const failures = isRecord(doc.failures) ? doc.failures : {};
  const summary = isRecord(doc.summary) ? doc.summary : {};
  const runId = str(doc.runId);
  const kind = str(doc.kind);
  const patch = patchOf(summary.patch);
  return {
    file,
    ...(runId ? { runId } : {}),
    ...(kind ? { kind } : {}),
    gate: gate.status === 'pass' || gate.status === 'fail' ? gate.status : 'none',
    checks: (Array.isArray(gate.checks) ? gate.checks : []).filter(isRecord).map((c) => {
      const message = str(c.message);
      const actual = finite(c.actual);
      const threshold = finite(c.threshold);
      return {
        id: str(c.id) ?? 'check',
        status: str(c.status) ?? '?',
        ...(message ? { message } : {}),
        ...(actual === undefined ? {} : { actual }),
        ...(threshold === undefined ? {} : { threshold }),
      };
    }),
    summary,
    failed: tests(failures.failed),
    moreFailed: count(failures.moreFailed),
    flaky: tests(failures.flaky),
    moreFlaky: count(failures.moreFlaky),
    warnings: (Array.isArray(doc.warnings) ? doc.warnings : []).filter(
      (w): w is string => typeof w === 'string',
    ),
    ...(patch ? { patch } : {}),
  };
};

/** `suite › classname › name`, without empty or repeated parts. */
export const testLabel = (t: Test): string => {
  const parts: string[] = [];
  for (const p of [t.suite, t.classname, t.name]) if (p && parts.at(-1) !== p) parts.push(p);
  return parts.join(' › ');
};

/** The worst of several gates: fail > pass > none. */
export const worstGate = (gates: readonly GateStatus[]): GateStatus =>
  gates.includes('fail') ? 'fail' : gates.includes('pass') ? 'pass' : 'none';
