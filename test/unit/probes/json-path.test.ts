import { describe, expect, it } from 'vitest';
import { parsePath, select } from '../../../functions/core/probes/json-path';

const doc = {
  status: 'ok',
  version: 3,
  ready: false,
  nothing: null,
  checks: [
    { name: 'db', healthy: true },
    { name: 'cache', healthy: false },
  ],
  'db status': { 'latency-ms': 12 },
  nested: { a: { b: { c: 'deep' } } },
};

describe('parsePath', () => {
  it('splits names, indexes and quoted keys', () => {
    // Act
    const segments = parsePath("$.checks[1]['odd key'].x_y$-z");
    // Assess
    expect(segments).toEqual([
      { kind: 'name', name: 'checks' },
      { kind: 'index', index: 1 },
      { kind: 'name', name: 'odd key' },
      { kind: 'name', name: 'x_y$-z' },
    ]);
  });

  it('accepts the root alone', () => {
    expect(parsePath('$')).toEqual([]);
  });

  it.each([
    ['status', 'must start with $'],
    ['$..status', 'not supported at "..status"'],
    ['$.checks[*]', 'not supported at "[*]"'],
    ['$.checks[-1]', 'not supported'],
    ['$["double"]', 'not supported'],
    ['$.1abc', 'not supported'],
  ])('rejects %s', (path, message) => {
    expect(() => parsePath(path)).toThrow(message);
  });
});

describe('select', () => {
  it.each([
    ['$', doc],
    ['$.status', 'ok'],
    ['$.version', 3],
    ['$.ready', false],
    ['$.nothing', null],
    ['$.checks[0].name', 'db'],
    ['$.checks[1].healthy', false],
    ["$['db status']['latency-ms']", 12],
    ['$.nested.a.b.c', 'deep'],
  ])('finds %s', (path, value) => {
    expect(select(doc, path)).toEqual({ found: true, value });
  });

  it.each([
    '$.missing',
    '$.status.length',
    '$.checks[2]',
    '$.checks.name',
    '$.nested[0]',
    '$.nothing.x',
    '$.version.x',
  ])('does not find %s', (path) => {
    expect(select(doc, path)).toEqual({ found: false });
  });

  it('follows own properties only, never the prototype chain', () => {
    // Prepare
    const parsed: unknown = JSON.parse('{"a": {}, "list": []}');
    // Act + Assess
    expect(select(parsed, '$.a.constructor').found).toBe(false);
    expect(select(parsed, '$.a.toString').found).toBe(false);
    expect(select(parsed, "$.a['__proto__']").found).toBe(false);
    expect(select(parsed, '$.list.length').found).toBe(false);
  });

  it('finds a key literally named __proto__ when the document has one', () => {
    // Prepare
    const parsed: unknown = JSON.parse('{"__proto__": {"x": 1}}');
    // Act + Assess
    expect(select(parsed, "$['__proto__'].x")).toEqual({ found: true, value: 1 });
  });

  it('finds values in a top-level array', () => {
    expect(select([10, [20, 30]], '$[1][0]')).toEqual({ found: true, value: 20 });
  });
});
