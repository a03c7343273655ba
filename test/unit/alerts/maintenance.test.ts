import { beforeAll, describe, expect, it } from 'vitest';
import {
  activeWindow,
  cronProblem,
  maintenanceCronProblems,
} from '../../../functions/core/alerts/maintenance';
import { type MaintenanceWindow, parseConfig } from '../../../functions/core/config';
import { loadCronParser } from '../../../functions/core/cron';

beforeAll(() => loadCronParser());

const windows = (input: unknown[]): MaintenanceWindow[] =>
  parseConfig({ alerts: { maintenance: input } }).alerts.maintenance;

const checkout = { probe: 'checkout-api', tags: ['checkout', 'payments'] };
const search = { probe: 'search', tags: ['search'] };
const testRun = { tags: [] };

describe('activeWindow: start/end', () => {
  const ws = windows([
    {
      probes: ['checkout-api'],
      start: '2026-11-25T10:00:00Z',
      end: '2026-11-25T11:00:00Z',
      reason: 'DB upgrade',
    },
  ]);

  it('is active from start (inclusive) to end (exclusive) for the named probe', () => {
    // Prepare
    const times = [
      '2026-11-25T09:59:59Z',
      '2026-11-25T10:00:00Z',
      '2026-11-25T10:59:59Z',
      '2026-11-25T11:00:00Z',
    ];

    // Act
    const results = times.map((t) => activeWindow(ws, checkout, new Date(t)));

    // Assess
    expect(results).toEqual([
      undefined,
      'maintenance window "DB upgrade" until 2026-11-25T11:00:00.000Z',
      'maintenance window "DB upgrade" until 2026-11-25T11:00:00.000Z',
      undefined,
    ]);
  });

  it('does not cover other probes or checks without a probe', () => {
    // Prepare
    const now = new Date('2026-11-25T10:30:00Z');

    // Act
    const other = activeWindow(ws, search, now);
    const tests = activeWindow(ws, testRun, now);

    // Assess
    expect(other).toBeUndefined();
    expect(tests).toBeUndefined();
  });
});

describe('activeWindow: cron + duration', () => {
  // Every day at 02:00 UTC for 30 minutes, for everything tagged "payments".
  const ws = windows([{ tags: ['payments'], cron: '0 2 * * *', durationMinutes: 30 }]);

  it('is active from the occurrence (inclusive) for durationMinutes, by tag', () => {
    // Prepare
    const times = [
      '2026-11-25T01:59:59Z',
      '2026-11-25T02:00:00Z',
      '2026-11-25T02:29:59Z',
      '2026-11-25T02:30:00Z',
      '2026-11-26T02:10:00Z',
    ];

    // Act
    const results = times.map((t) => activeWindow(ws, checkout, new Date(t)));

    // Assess
    expect(results).toEqual([
      undefined,
      'maintenance window #1 until 2026-11-25T02:30:00.000Z',
      'maintenance window #1 until 2026-11-25T02:30:00.000Z',
      undefined,
      'maintenance window #1 until 2026-11-26T02:30:00.000Z',
    ]);
  });

  it('evaluates the cron in UTC whatever the process time zone', () => {
    // Prepare: a weekly window on Sundays 23:00 UTC for 2 hours, crossing midnight
    const weekly = windows([{ cron: '0 23 * * 0', durationMinutes: 120, reason: 'weekly' }]);
    const tz = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';

    // Act
    const mondayEarly = activeWindow(weekly, search, new Date('2026-11-30T00:30:00Z'));
    const mondayLater = activeWindow(weekly, search, new Date('2026-11-30T01:00:00Z'));
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;

    // Assess
    expect(mondayEarly).toBe('maintenance window "weekly" until 2026-11-30T01:00:00.000Z');
    expect(mondayLater).toBeUndefined();
  });

  it('does not cover checks without the tag, and limits a recurring window to start/end', () => {
    // Prepare
    const bounded = windows([
      {
        cron: '0 2 * * *',
        durationMinutes: 30,
        start: '2026-11-26T00:00:00Z',
        end: '2026-11-27T02:15:00Z',
      },
    ]);

    // Act
    const untagged = activeWindow(ws, search, new Date('2026-11-25T02:10:00Z'));
    const beforeStart = activeWindow(bounded, search, new Date('2026-11-25T02:10:00Z'));
    const inside = activeWindow(bounded, search, new Date('2026-11-26T02:10:00Z'));
    const cutByEnd = activeWindow(bounded, search, new Date('2026-11-27T02:10:00Z'));
    const afterEnd = activeWindow(bounded, search, new Date('2026-11-27T02:20:00Z'));

    // Assess
    expect(untagged).toBeUndefined();
    expect(beforeStart).toBeUndefined();
    expect(inside).toBe('maintenance window #1 until 2026-11-26T02:30:00.000Z');
    expect(cutByEnd).toBe('maintenance window #1 until 2026-11-27T02:15:00.000Z');
    expect(afterEnd).toBeUndefined();
  });
});

describe('activeWindow: scope', () => {
  it('covers every check (test runs and alarms too) when it names no probes and no tags', () => {
    // Prepare
    const ws = windows([{ start: '2026-11-25T10:00:00Z', end: '2026-11-25T11:00:00Z' }]);
    const now = new Date('2026-11-25T10:30:00Z');

    // Act
    const results = [checkout, search, testRun].map((t) => activeWindow(ws, t, now));

    // Assess
    expect(results.every((r) => r?.startsWith('maintenance window #1'))).toBe(true);
  });

  it('returns the first active window in config order, and skips an unusable cron', () => {
    // Prepare
    // (parseConfig refuses a bad cron; the matcher must still skip one if it ever gets one)
    const broken: MaintenanceWindow = {
      probes: [],
      tags: [],
      cron: 'not a cron at all',
      durationMinutes: 60,
      reason: 'broken',
    };
    const ws = [
      broken,
      ...windows([
        {
          tags: ['checkout'],
          start: '2026-11-25T10:00:00Z',
          end: '2026-11-25T11:00:00Z',
          reason: 'a',
        },
        {
          probes: ['checkout-api'],
          start: '2026-11-25T10:00:00Z',
          end: '2026-11-25T12:00:00Z',
          reason: 'b',
        },
      ]),
    ];

    // Act
    const result = activeWindow(ws, checkout, new Date('2026-11-25T10:30:00Z'));

    // Assess
    expect(result).toBe('maintenance window "a" until 2026-11-25T11:00:00.000Z');
    expect(cronProblem('not a cron at all')).toBeDefined();
    expect(cronProblem('0 2 * * 1-5')).toBeUndefined();
    expect(
      maintenanceCronProblems(
        windows([
          { cron: '0 2 * * *', durationMinutes: 5 },
          { cron: 'not a cron at all', durationMinutes: 5 },
        ]),
      ),
    ).toEqual([expect.stringMatching(/^alerts\.maintenance\.1\.cron: /)]);
  });
});
