import { describe, expect, it } from 'vitest';
import { EVENT_PATTERNS, type EventPattern } from '../../functions/core/events';
import { matchesPattern } from '../../functions/core/patterns';

const event = {
  source: 'vigil.ingest',
  'detail-type': 'Test Run Reported',
  detail: {
    metadata: { project: 'shop', branch: 'main', tags: ['a', 'b'] },
    summary: { failed: 3 },
    gate: { status: 'fail' },
  },
};

describe('matchesPattern (EventBridge semantics)', () => {
  it('matches the metrics rule for every ingest detail type and nothing else', () => {
    for (const type of [
      'Test Run Reported',
      'Coverage Reported',
      'Load Test Reported',
      'Benchmark Reported',
    ])
      expect(matchesPattern(EVENT_PATTERNS.metrics, { ...event, 'detail-type': type })).toBe(true);
    expect(matchesPattern(EVENT_PATTERNS.metrics, { ...event, 'detail-type': 'Other' })).toBe(
      false,
    );
    expect(matchesPattern(EVENT_PATTERNS.metrics, { ...event, source: 'aws.cloudwatch' })).toBe(
      false,
    );
  });

  it.each<[string, EventPattern, boolean]>([
    ['nested exact value', { detail: { gate: { status: ['fail'] } } }, true],
    ['nested wrong value', { detail: { gate: { status: ['pass'] } } }, false],
    ['missing key', { detail: { nope: ['x'] } }, false],
    ['array value matches any element', { detail: { metadata: { tags: ['b'] } } }, true],
    ['prefix', { detail: { metadata: { branch: [{ prefix: 'ma' }] } } }, true],
    ['suffix', { detail: { metadata: { branch: [{ suffix: 'in' }] } } }, true],
    ['prefix on a number', { detail: { summary: { failed: [{ prefix: '3' }] } } }, false],
    [
      'anything-but list',
      { detail: { metadata: { branch: [{ 'anything-but': ['dev', 'main'] }] } } },
      false,
    ],
    [
      'anything-but scalar',
      { detail: { metadata: { branch: [{ 'anything-but': 'dev' }] } } },
      true,
    ],
    [
      'anything-but on a missing key',
      { detail: { metadata: { nope: [{ 'anything-but': 'dev' }] } } },
      false,
    ],
    ['exists true', { detail: { metadata: { branch: [{ exists: true }] } } }, true],
    [
      'exists false on a missing key',
      { detail: { metadata: { commit: [{ exists: false }] } } },
      true,
    ],
    [
      'exists false on a present key',
      { detail: { metadata: { branch: [{ exists: false }] } } },
      false,
    ],
    ['numeric range', { detail: { summary: { failed: [{ numeric: ['>', 0, '<=', 3] }] } } }, true],
    ['numeric out of range', { detail: { summary: { failed: [{ numeric: ['>=', 4] }] } } }, false],
    ['numeric on a string', { detail: { metadata: { branch: [{ numeric: ['>', 0] }] } } }, false],
    ['bad numeric operator', { detail: { summary: { failed: [{ numeric: ['~', 0] }] } } }, false],
    [
      'equals-ignore-case',
      { detail: { metadata: { project: [{ 'equals-ignore-case': 'SHOP' }] } } },
      true,
    ],
    ['object pattern against a scalar', { source: { x: ['y'] } }, false],
  ])('%s', (_name, pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('does not treat inherited properties as present', () => {
    expect(matchesPattern({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(matchesPattern({ source: ['x'] }, null)).toBe(false);
  });
});
