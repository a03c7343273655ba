import type { EventPattern, PatternValue } from './events';

/**
 * EventBridge event-pattern matching, for the local bus. Implements the operators
 * Vigil's patterns may use (exact values, prefix, suffix, anything-but, exists,
 * numeric ranges, equals-ignore-case) with EventBridge's semantics: every key in the
 * pattern must match; an array value matches when any element of the event's value
 * (or the scalar itself) matches any of the pattern's values.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const NUMERIC_OPS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

const numericMatch = (value: unknown, spec: readonly (string | number)[]): boolean => {
  if (typeof value !== 'number') return false;
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const op = NUMERIC_OPS[String(spec[i])];
    if (!op?.(value, Number(spec[i + 1]))) return false;
  }
  return true;
};

const scalarMatches = (value: unknown, rule: PatternValue): boolean => {
  if (!isObject(rule)) return value === rule;
  if ('prefix' in rule) return typeof value === 'string' && value.startsWith(rule.prefix);
  if ('suffix' in rule) return typeof value === 'string' && value.endsWith(rule.suffix);
  if ('equals-ignore-case' in rule)
    return (
      typeof value === 'string' && value.toLowerCase() === rule['equals-ignore-case'].toLowerCase()
    );
  if ('numeric' in rule) return numericMatch(value, rule.numeric);
  if ('anything-but' in rule) {
    const banned = rule['anything-but'];
    const list: readonly unknown[] = Array.isArray(banned) ? banned : [banned];
    return value !== undefined && !list.includes(value);
  }
  return false;
};

const valueMatches = (value: Json | undefined, rules: readonly PatternValue[]): boolean => {
  const exists = rules.find((r): r is { exists: boolean } => isObject(r) && 'exists' in r);
  if (exists) return exists.exists === (value !== undefined);
  if (value === undefined) return false;
  const candidates = Array.isArray(value) ? value : [value];
  return candidates.some((v) => rules.some((r) => scalarMatches(v, r)));
};

export const matchesPattern = (pattern: EventPattern, event: unknown): boolean => {
  if (!isObject(event)) return false;
  for (const [key, rule] of Object.entries(pattern)) {
    const value = Object.hasOwn(event, key) ? (event[key] as Json) : undefined;
    if (Array.isArray(rule)) {
      if (!valueMatches(value, rule as readonly PatternValue[])) return false;
    } else if (!matchesPattern(rule as EventPattern, value)) {
      return false;
    }
  }
  return true;
};
