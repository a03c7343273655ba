import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { dashboardUrlFor } from '../../functions/core/config-access';
import {
  dashboardLink,
  dashboardPath,
  withDashboardUrl,
} from '../../functions/core/dashboard-links';
import type { AlertNotification } from '../../functions/core/events';
import { ownDashboardUrl, printedUrl } from '../../functions/runtime/local/address';

describe('dashboard links', () => {
  it('encodes every part, so a name from a report stays one part and adds no query', () => {
    expect(dashboardPath(['run', 'shop/web', 'r 1#x?y=<b>|'])).toBe(
      '#/run/shop%2Fweb/r%201%23x%3Fy%3D%3Cb%3E%7C',
    );
    expect(dashboardPath(['tests', 'shop'], { status: 'flaky', q: 'a&b=c' })).toBe(
      '#/tests/shop?status=flaky&q=a%26b%3Dc',
    );
    expect(dashboardPath(['tests', 'shop'], { status: 'flaky', q: '' })).toBe(
      '#/tests/shop?status=flaky',
    );
  });

  it('puts the page after the base address, with or without its trailing slash', () => {
    for (const base of ['https://vigil.example.com/team', 'https://vigil.example.com/team//'])
      expect(dashboardLink(base, '#/probe/shop/api')).toBe(
        'https://vigil.example.com/team/#/probe/shop/api',
      );
  });
});

describe("the dashboard's address for alert messages", () => {
  it("is the stage's own, else alerts.dashboardUrl, else the runtime's", () => {
    const config = parseConfig({
      alerts: { dashboardUrl: 'https://vigil.example.com' },
      stages: { prod: { dashboardUrl: 'https://vigil.prod.example.com' } },
    });
    expect(dashboardUrlFor(config, 'prod')).toBe('https://vigil.prod.example.com');
    expect(dashboardUrlFor(config, 'local')).toBe('https://vigil.example.com');
    expect(dashboardUrlFor(parseConfig({}), 'dev')).toBeUndefined();
  });

  it("is local mode's printed address, unless it names no machine or its port is not known", () => {
    expect(ownDashboardUrl('127.0.0.1', 3000)).toBe('http://127.0.0.1:3000');
    expect(ownDashboardUrl('::1', 8080)).toBe('http://[::1]:8080');
    expect(ownDashboardUrl('vigil.lan', 3000)).toBe('http://vigil.lan:3000');
    for (const [host, port] of [
      ['127.0.0.1', 0],
      ['0.0.0.0', 3000],
      ['::', 3000],
      ['::0', 3000],
      ['0:0:0:0:0:0:0:0', 3000],
      ['fe80::1%eth0', 3000],
    ] as const)
      expect(ownDashboardUrl(host, port), host).toBeUndefined();
    // What npm start prints for every address: the loopback one, which answers.
    expect(printedUrl('::0', 3000)).toBe('http://[::1]:3000');
    expect(printedUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(printedUrl('vigil.lan', 3000)).toBe('http://vigil.lan:3000');
  });

  it('is added to a notification that has a page, and to no other', () => {
    const n = { dashboardPath: '#/probe/shop/api' } as AlertNotification;
    expect(withDashboardUrl(n, 'https://v.example.com/').dashboardUrl).toBe(
      'https://v.example.com/#/probe/shop/api',
    );
    expect(withDashboardUrl(n, undefined)).toBe(n);
    const alarm = {} as AlertNotification;
    expect(withDashboardUrl(alarm, 'https://v.example.com')).toBe(alarm);
  });
});
