import { invalidReport, type VigilError } from '../errors';
import type * as z from '../zod-mini';
import { MAX_DURATION_MS, validDurationMs } from './types';

/* ------------------------------------------------------------------------------------------
 * Shape validation shared by the JSON parsers (jest, istanbul, k6, artillery, benchmark).
 *
 * Schemas use `z.object`, which ignores keys it does not declare (it neither rejects nor
 * copies them): real reports carry many extra fields, and validating only what we read keeps
 * big reports cheap (pytest-benchmark's `stats.data` arrays are never walked). Untrusted
 * key names (metric names, file paths) are never used to build plain objects here: callers
 * iterate `ownEntries()` and keep what they need in Maps or arrays.
 * ---------------------------------------------------------------------------------------- */

type PathKey = PropertyKey;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `testResults[3].assertionResults[0].status`, `metrics["p(95)"]`; `$` for the root. */
export const formatPath = (path: readonly PathKey[]): string => {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      if (IDENTIFIER.test(name)) out += out === '' ? name : `.${name}`;
      else out += `[${JSON.stringify(name)}]`;
    }
  }
  return out === '' ? '$' : out;
};

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `v` if it is an array, else an empty one (for optional lists in hand-read reports). */
export const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Own enumerable entries of a JSON object (`__proto__` included as a plain key, harmless). */
export const ownEntries = (v: Record<string, unknown>): [string, unknown][] => Object.entries(v);

/** The value at `path` inside `doc`, following own properties only (bounded by the path). */
const valueAt = (doc: unknown, path: readonly PathKey[]): unknown => {
  let cur: unknown = doc;
  for (const key of path) {
    if (Array.isArray(cur) && typeof key === 'number') cur = cur[key];
    else if (isRecord(cur) && typeof key === 'string' && Object.hasOwn(cur, key)) cur = cur[key];
    else return undefined;
  }
  return cur;
};

/** `number 3`, `array`, `string "12"`… for error messages. */
export const describeValue = (v: unknown): string => {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') {
    const preview = v.length > 40 ? `${v.slice(0, 39)}…` : v;
    return `string ${JSON.stringify(preview)}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v;
};

const ARTICLE: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
};
const withArticle = (t: string): string => ARTICLE[t] ?? t;

const describeIssue = (issue: z.core.$ZodIssue, value: unknown): string => {
  if (issue.code === 'invalid_type') {
    return `expected ${withArticle(issue.expected)}, got ${describeValue(value)}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'number')
    return `expected a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}, got ${String(value)}`;
  if (issue.code === 'too_big' && issue.origin === 'number')
    return `expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, got ${String(value)}`;
  return `${issue.message} (got ${describeValue(value)})`;
};

/**
 * Validate `doc` against `schema`; on failure throw `invalidReport` naming the first bad
 * field, e.g. `Invalid Jest JSON report: testResults[3].status: expected a string, got number`.
 */
export const parseShape = <S extends z.ZodMiniType>(
  schema: S,
  doc: unknown,
  what: string,
): z.output<S> => {
  const result = schema.safeParse(doc);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw invalidReport(`Invalid ${what}`);
  const path = formatPath(issue.path);
  const problem = describeIssue(issue, valueAt(doc, issue.path));
  throw invalidReport(`Invalid ${what}: ${path}: ${problem}`, { path });
};

/** An invalidReport for a hand-checked field (where a schema does not fit, e.g. keyed maps). */
export const invalidAt = (
  what: string,
  path: readonly PathKey[],
  expected: string,
  value: unknown,
): VigilError => {
  const p = formatPath(path);
  return invalidReport(`Invalid ${what}: ${p}: expected ${expected}, got ${describeValue(value)}`, {
    path: p,
  });
};

/** `obj[key]` as a finite number; undefined when absent or null; throws when of another type. */
export const optionalNumber = (
  obj: Record<string, unknown>,
  key: string,
  path: readonly PathKey[],
  what: string,
): number | undefined => {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw invalidAt(what, [...path, key], 'a number', v);
  return v;
};

/**
 * `obj[key]`, a duration in units of `msPerUnit` ms, in milliseconds; undefined when absent or
 * null; throws when it is not a number, or not a duration from 0 to MAX_DURATION_MS ms.
 */
export const optionalDuration = (
  obj: Record<string, unknown>,
  key: string,
  path: readonly PathKey[],
  what: string,
  msPerUnit = 1,
): number | undefined => {
  const v = optionalNumber(obj, key, path, what);
  if (v === undefined) return undefined;
  const ms = validDurationMs(v, msPerUnit);
  if (ms === undefined)
    throw invalidAt(what, [...path, key], `a duration from 0 to ${MAX_DURATION_MS} ms`, v);
  return ms;
};
