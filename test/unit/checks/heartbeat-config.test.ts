import { beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../../functions/core/config-check';
import { loadCronParser } from '../../../functions/core/cron';
import { parseHeartbeatPath } from '../../../functions/ingest/heartbeat-routes';

const problems = (raw: unknown): string => {
  try {
    checkConfig(raw, 'vigil.config.ts');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

// The config check reads crons with cron-parser, which loads on demand.
beforeAll(() => loadCronParser());

describe('heartbeats in the config check', () => {
  it('reports every problem at once, each by its path', () => {
    const message = problems({
      project: 'shop',
      heartbeats: [
        { name: 'a', cron: '61 * * * *', timezone: 'Mars/Olympus' },
        { name: 'a', project: 'shop', periodSeconds: 60 },
        { name: 'start', periodSeconds: 60 },
        { name: 'b', periodSeconds: 60, cron: '* * * * *' },
        { name: 'c' },
        { name: 'd', periodSeconds: 60, timezone: 'UTC' },
        { name: 'e', periodSeconds: 60, project: 'bad//name' },
        { name: 'f', periodSeconds: 60, failureWindow: { failures: 4, of: 3 } },
      ],
      alerts: {
        maintenance: [
          { probes: ['a', 'nope'], start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
        ],
      },
    });
    for (const expected of [
      'heartbeats.0.timezone: "Mars/Olympus" is not a known IANA time zone',
      'heartbeats.0.cron: "61 * * * *"',
      'heartbeats.1.name: project "shop" already has a heartbeat named "a"',
      'heartbeats.2.name: "start" is a ping action',
      'heartbeats.3.periodSeconds: a heartbeat has either "periodSeconds" or "cron"',
      'heartbeats.4.periodSeconds: a heartbeat has either',
      'heartbeats.5.timezone: "timezone" goes with "cron"',
      'heartbeats.6.project: "bad//name" is not a valid project name',
      'heartbeats.7.failureWindow: "failures" must be at most "of"',
      // Maintenance windows may name heartbeats.
      'alerts.maintenance.0.probes.1: no probe or heartbeat is named "nope"',
    ])
      expect(message).toContain(expected);
    expect(message).not.toContain('probes.0: no probe');
  });

  it('accepts a valid heartbeat, with its defaults', () => {
    const config = checkConfig(
      { heartbeats: [{ name: 'backup', cron: '30 2 * * *', timezone: 'Europe/Berlin' }] },
      'x',
    );
    expect(config.heartbeats[0]).toMatchObject({
      graceSeconds: 300,
      failureThreshold: 1,
      recoveryThreshold: 1,
      severity: 'critical',
      tags: [],
    });
  });
});

describe('ping paths', () => {
  it.each([
    ['/v1/heartbeats/shop/backup', { project: 'shop', name: 'backup', kind: 'success' }],
    ['/v1/heartbeats/shop/backup/start', { project: 'shop', name: 'backup', kind: 'start' }],
    ['/v1/heartbeats/shop/web/backup/fail', { project: 'shop/web', name: 'backup', kind: 'fail' }],
  ])('%s', (path, route) => expect(parseHeartbeatPath(path)).toEqual(route));

  it.each([
    '/v1/heartbeats/backup',
    '/v1/heartbeats/shop/',
    '/v1/heartbeats/backup/fail',
    // A heartbeat may not be named start or fail (config check): this is heartbeat "shop"'s /start.
    '/v1/heartbeats/shop/start',
    '/v1/results',
  ])('%s is no ping', (path) => expect(parseHeartbeatPath(path)).toBeUndefined());
});
