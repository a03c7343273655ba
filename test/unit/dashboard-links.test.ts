import { describe, expect, it } from 'vitest';
import { dashboardLink, dashboardPath } from '../../functions/core/dashboard-links';

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
