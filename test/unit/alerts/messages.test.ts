import { describe, expect, it } from 'vitest';
import {
  buildNotification,
  emailBody,
  emailSubject,
  flakyCheckKey,
  flakyNotice,
  formatDuration,
  formatTime,
  MAX_FLAKY_NOTICES_PER_RUN,
  MAX_SUBJECT_CHARS,
  type SlackBlock,
  slackPayload,
} from '../../../functions/core/alerts/messages';
import type { AlertState } from '../../../functions/core/alerts/state';
import {
  type AlertNotification,
  alertNotificationSchema,
  type TestFlakyDetail,
} from '../../../functions/core/events';

const firingState: AlertState = {
  checkKey: 'probe:shop/checkout-api',
  status: 'FIRING',
  consecutiveFailures: 3,
  consecutiveSuccesses: 0,
  incidentId: 'inc-1234abcd-k1',
  since: '2026-11-25T10:00:00.000Z',
  lastError: 'status: expected 200, got 503 <html> & more',
  lastNotifiedAt: '2026-11-25T10:02:00.000Z',
  announced: true,
  lastObservedAt: '2026-11-25T10:02:00.000Z',
  recentObservationIds: [],
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe checkout-api',
  target: 'GET https://shop.example.com/health',
  runbookUrl: 'https://runbooks.example.com/checkout',
  correlationId: 'corr-42',
  probe: 'checkout-api',
  tags: [],
  outbox: [],
  version: 3,
  updatedAt: '2026-11-25T10:02:01.000Z',
};

const resolvedState: AlertState = {
  ...firingState,
  status: 'OK',
  consecutiveFailures: 0,
  consecutiveSuccesses: 1,
  incidentId: undefined,
  since: undefined,
  lastError: undefined,
  lastObservedAt: '2026-11-25T10:12:30.000Z',
  lastResolved: {
    incidentId: 'inc-1234abcd-k1',
    since: '2026-11-25T10:00:00.000Z',
    resolvedAt: '2026-11-25T10:12:30.000Z',
    downtimeSeconds: 750,
    lastError: 'status: expected 200, got 503',
  },
};

/** All the text a Slack client renders from the blocks. */
const blockText = (blocks: SlackBlock[]): string =>
  blocks
    .flatMap((b) => {
      if (b.type === 'header') return [b.text.text];
      if (b.type === 'context') return b.elements.map((e) => e.text);
      return [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)];
    })
    .join('\n');

describe('buildNotification', () => {
  it('builds a valid FIRING notification from the state', () => {
    // Prepare
    const state = firingState;

    // Act
    const n = buildNotification('FIRING', state);

    // Assess
    expect(alertNotificationSchema.parse(n)).toEqual(n);
    expect(n).toMatchObject({
      checkKey: 'probe:shop/checkout-api',
      incidentId: 'inc-1234abcd-k1',
      kind: 'FIRING',
      source: 'probe',
      severity: 'critical',
      since: '2026-11-25T10:00:00.000Z',
      at: '2026-11-25T10:02:00.000Z',
      lastError: 'status: expected 200, got 503 <html> & more',
      runbookUrl: 'https://runbooks.example.com/checkout',
      correlationId: 'corr-42',
    });
    expect(n.summary).toBe(
      'Probe checkout-api (GET https://shop.example.com/health) is failing since 2026-11-25 10:00:00 UTC: 3 consecutive failures.',
    );
    expect(n.suppressedBy).toBeUndefined();
  });

  it('counts what failed in the terms of its source: runs, checks, nothing for alarms', () => {
    const summary = (kind: 'FIRING' | 'REMINDER', over: Partial<typeof firingState>) =>
      buildNotification(kind, { ...firingState, target: undefined, ...over }).summary;
    const tests = { source: 'tests', title: 'Tests shop/unit on main' } as const;
    expect(summary('FIRING', { ...tests, consecutiveFailures: 1 })).toBe(
      'Tests shop/unit on main is failing since 2026-11-25 10:00:00 UTC: 1 failed run.',
    );
    expect(summary('REMINDER', { ...tests, consecutiveFailures: 3 })).toBe(
      'Tests shop/unit on main is still failing after 2m: 3 failed runs in a row.',
    );
    expect(
      summary('FIRING', {
        source: 'heartbeat',
        title: 'Heartbeat nightly',
        consecutiveFailures: 1,
      }),
    ).toBe('Heartbeat nightly is failing since 2026-11-25 10:00:00 UTC: 1 failure.');
    for (const source of ['alarm', 'alertmanager'] as const)
      expect(summary('FIRING', { source, title: 'Alarm x', consecutiveFailures: 4 })).toBe(
        'Alarm x is failing since 2026-11-25 10:00:00 UTC.',
      );
  });

  it('builds RESOLVED from the resolved incident, with the downtime', () => {
    // Prepare
    const state = resolvedState;

    // Act
    const n = buildNotification('RESOLVED', state, 'maintenance window #1 until x');

    // Assess
    expect(n).toMatchObject({
      kind: 'RESOLVED',
      incidentId: 'inc-1234abcd-k1',
      since: '2026-11-25T10:00:00.000Z',
      at: '2026-11-25T10:12:30.000Z',
      downtimeSeconds: 750,
      lastError: 'status: expected 200, got 503',
      suppressedBy: 'maintenance window #1 until x',
    });
    expect(n.summary).toContain('recovered at 2026-11-25 10:12:30 UTC after 12m 30s of downtime');
  });
});

describe('slackPayload', () => {
  const n = buildNotification('FIRING', firingState);

  it("puts a failed run's first failed test in the push text, beside the count", () => {
    const tests = buildNotification('FIRING', {
      ...firingState,
      title: 'Tests shop/unit on main',
      lastError: '1 of 3 tests failed\n✗ cart.CartTest > checkout total: expected 42 but was 41\n',
    });
    expect(slackPayload(tests).text).toMatch(
      /: 1 of 3 tests failed — ✗ cart\.CartTest &gt; checkout total: expected 42 but was 41$/,
    );
  });

  it('says what, since when, severity, last error, runbook and correlation id', () => {
    // Prepare
    const payload = slackPayload(n);

    // Act
    const text = blockText(payload.blocks);

    // Assess
    expect(payload.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':rotating_light: FIRING: Probe checkout-api',
        emoji: true,
      },
    });
    expect(text).toContain('Probe checkout-api'); // what
    expect(text).toContain('*Since*\n2026-11-25 10:00:00 UTC'); // since when
    expect(text).toContain('*Severity*\ncritical');
    expect(text).toContain(
      '*Last error*\n```status: expected 200, got 503 &lt;html&gt; &amp; more```',
    );
    expect(text).toContain('<https://runbooks.example.com/checkout|open the runbook>');
    expect(text).not.toContain('open in Vigil'); // no address known: no link
    expect(text).toContain('Correlation id `corr-42`');
    expect(text).toContain('incident `inc-1234abcd-k1`');
    expect(payload.text).toBe(
      'FIRING [critical] Probe checkout-api since 2026-11-25 10:00:00 UTC: status: expected 200, got 503 &lt;html&gt; &amp; more',
    );
  });

  it("links to the dashboard page; a link's delimiters in it cannot end the link", () => {
    // Act
    const text = (url: string) => blockText(slackPayload({ ...n, dashboardUrl: url }).blocks);

    // Assess
    expect(text('https://vigil.example.com/#/probe/shop/checkout-api')).toContain(
      '*Dashboard*: <https://vigil.example.com/#/probe/shop/checkout-api|open in Vigil>',
    );
    expect(text('https://vigil.example.com/#/run/a|b>c <!here>')).toContain(
      '<https://vigil.example.com/#/run/a%7Cb%3Ec%20%3C!here%3E|open in Vigil>',
    );
    // One that Slack's limit would cut is left out rather than sent broken.
    expect(text(`https://vigil.example.com/#/run/${'x'.repeat(3000)}`)).not.toContain('Dashboard');
  });

  it('shows the downtime on RESOLVED and leaves out the runbook when there is none', () => {
    // Prepare
    const { runbookUrl: _r, ...noRunbook } = resolvedState;
    const resolved = buildNotification('RESOLVED', noRunbook);

    // Act
    const payload = slackPayload(resolved);
    const text = blockText(payload.blocks);

    // Assess
    expect(text).toContain('*Downtime*\n12m 30s');
    expect(text).toContain('*Last error before recovery*');
    expect(text).not.toContain('runbook');
    expect(payload.text).toBe(
      'RESOLVED [critical] Probe checkout-api: recovered after 12m 30s down',
    );
  });

  it('never lets a name or message from a report format the message', () => {
    // Prepare: a suite name, an error and a correlation id as a hostile report or client sends them.
    const hostile = '*pwn* _it_ ~gone~ `code` <!channel> <https://evil.example|click>';
    const payload = slackPayload({
      ...n,
      summary: `Tests of suite ${hostile} failed.`,
      project: 'shop_`x`_',
      correlationId: 'c`*bold*`',
    });

    // Assess: the summary is plain text (no mrkdwn), with Slack's three characters escaped.
    expect(payload.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'plain_text',
        text: 'Tests of suite *pwn* _it_ ~gone~ `code` &lt;!channel&gt; &lt;https://evil.example|click&gt; failed.',
      },
    });
    // mrkdwn fields show such values as inline code, which no backtick in them can end.
    const text = blockText(payload.blocks);
    expect(text).toContain("*Project*\n`shop_'x'_`");
    expect(text).toContain("Correlation id `c'*bold*'`");
    // The notification text is not mrkdwn either.
    expect(payload.mrkdwn).toBe(false);
  });

  it('escapes the header: a test name in a NOTICE mentions nobody', () => {
    // Prepare
    const n = flakyNotice(
      { ...flaky, test: { ...flaky.test, id: 'pays <!channel> & <@U123>' } },
      'e',
    );

    // Act
    const header = slackPayload(n).blocks[0];

    // Assess
    expect(header).toMatchObject({
      type: 'header',
      text: { text: ':warning: NOTICE: Flaky test pays &lt;!channel&gt; &amp; &lt;@U123&gt;' },
    });
  });

  it('cuts long report text before escaping it: code spans end, no entity is split', () => {
    // Prepare: values that grow when escaped, longer than a field or the header.
    const long: AlertNotification = {
      ...n,
      title: '<'.repeat(400),
      project: '&'.repeat(3000),
      checkKey: `tests:${'x'.repeat(1990)}<b>`,
      summary: '>'.repeat(4000),
      lastError: '&'.repeat(4000),
    };

    // Act
    const payload = slackPayload(long);
    const texts = [
      payload.text,
      ...blockText(payload.blocks).split('\n'),
      ...payload.blocks.flatMap((b) => (b.type === 'section' ? (b.fields ?? []) : [])),
    ];

    // Assess: what Slack shows of each field is the label and one whole code span.
    const fields = payload.blocks.flatMap((b) => (b.type === 'section' ? (b.fields ?? []) : []));
    expect(fields[2]?.text).toMatch(/^\*Project\*\n`(&amp;)+…`$/);
    expect(fields[3]?.text).toMatch(/^\*Check\*\n`tests:x+…`$/);
    for (const f of fields) expect(f.text.length).toBeLessThanOrEqual(2000);
    expect(payload.blocks[0]).toMatchObject({ text: { text: expect.stringMatching(/(&lt;)+…$/) } });
    expect(blockText(payload.blocks)).toMatch(/\n```(&amp;)+…```\n/);
    // Every `&` still starts a whole entity: none was cut in two.
    for (const t of texts)
      expect(typeof t === 'string' ? t : t.text).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it('keeps within the Block Kit limits for very long titles and errors', () => {
    // Prepare
    const long: AlertNotification = { ...n, title: 'x'.repeat(400), lastError: 'e'.repeat(10_000) };

    // Act
    const payload = slackPayload(long);

    // Assess
    for (const b of payload.blocks) {
      if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(150);
      if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      for (const f of b.type === 'section' ? (b.fields ?? []) : [])
        expect(f.text.length).toBeLessThanOrEqual(2000);
    }
    expect(payload.blocks.length).toBeLessThanOrEqual(50);
  });
});

describe('email', () => {
  it('has a readable ASCII subject under 100 characters', () => {
    // Prepare
    const n = buildNotification('FIRING', {
      ...firingState,
      title: `Probe café-${'y'.repeat(200)}\n`,
    });

    // Act
    const subject = emailSubject(n);
    const short = emailSubject(buildNotification('FIRING', firingState));

    // Assess
    expect(short).toBe('[Vigil] FIRING critical: Probe checkout-api (shop)');
    // A title that names the project does not get it twice.
    expect(
      emailSubject(
        buildNotification('FIRING', { ...firingState, title: 'Tests shop/unit on main' }),
      ),
    ).toBe('[Vigil] FIRING critical: Tests shop/unit on main');
    expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
    expect(subject).toMatch(/^\[Vigil\] FIRING critical: Probe cafe-y+\.\.\.$/);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('has a plain-text body with the facts', () => {
    // Prepare
    const n = buildNotification('RESOLVED', resolvedState);

    // Act
    const body = emailBody(n);
    const linked = emailBody({ ...n, dashboardUrl: 'https://vigil.example.com/#/probe/shop/x' });

    // Assess
    expect(body).toContain('RESOLVED: Probe checkout-api');
    expect(body).not.toContain('Dashboard:');
    expect(linked).toContain('Dashboard:      https://vigil.example.com/#/probe/shop/x\n');
    expect(body).toContain('Downtime:       12m 30s');
    expect(body).toContain('Runbook:        https://runbooks.example.com/checkout');
    expect(body).toContain('Correlation id: corr-42');
    expect(body).toContain('Last error before recovery:\n  status: expected 200, got 503');
  });

  it('keeps report text on its own lines: no forged line, control or bidi character', () => {
    // Prepare: a suite name and failures as a hostile report sends them, one of them faking the
    // line a RESOLVED email starts with.
    const n = buildNotification('FIRING', {
      ...firingState,
      title: 'Tests shop/unit\r\nRESOLVED: all clear',
      lastError:
        '1 of 2 tests failed\n✗ pays \u009b2J\u202eexe.txt\u2028RESOLVED: all clear\r\n\nRESOLVED: all clear',
    });

    // Act
    const body = emailBody(n);

    // Assess: the first line is the only one to say what happened; what the report said stays
    // on its lines (the error's indented), with nothing a mail client or terminal interprets.
    const lines = body.split('\n');
    expect(lines[0]).toBe('FIRING: Tests shop/unit RESOLVED: all clear');
    expect(lines.filter((l) => /^(RESOLVED|FIRING|NOTICE|STILL FIRING)\b/.test(l))).toEqual([
      lines[0],
    ]);
    expect(body).toContain(
      'Last error:\n  1 of 2 tests failed\n  ✗ pays  2J exe.txt RESOLVED: all clear\n  RESOLVED: all clear\n\nProject:',
    );
    expect(body).not.toMatch(/[\r\u0080-\u009f\u2028\u2029\u202a-\u202e]/);
  });
});

const flaky: TestFlakyDetail = {
  metadata: {
    project: 'shop',
    runId: 'ci-481-macos',
    branch: 'main',
    commit: '9b1c0ffee2d4aa',
    correlationId: 'corr-77',
    detectedAt: '2026-11-25T10:05:00.000Z',
  },
  test: {
    id: 'cart > CartTest > removes <last> item',
    suite: 'cart',
    classname: 'CartTest',
    name: 'removes <last> item',
  },
  reason: 'same-commit',
  explanation:
    'Passed and failed on commit 9b1c0ffee2d4: passed in ci-481-linux, failed in ci-481-macos.',
  quarantined: { owner: 'team-cart', expires: '2026-12-31' },
  batch: { index: 1, total: 1 },
};

describe('NOTICE (flaky test)', () => {
  it('builds a valid warning outside the incident cycle, with the explanation and quarantine', () => {
    // Act
    const n = flakyNotice(flaky, 'evt-1');

    // Assess
    expect(alertNotificationSchema.parse(n)).toEqual(n);
    expect(n).toEqual({
      checkKey: 'flaky:shop/cart > CartTest > removes <last> item',
      incidentId: 'evt-1',
      kind: 'NOTICE',
      source: 'flaky',
      project: 'shop',
      severity: 'warning',
      title: 'Flaky test cart > CartTest > removes <last> item',
      summary:
        'Passed and failed on commit 9b1c0ffee2d4: passed in ci-481-linux, failed in ci-481-macos. Quarantined until 2026-12-31 (owner: team-cart).',
      since: '2026-11-25T10:05:00.000Z',
      at: '2026-11-25T10:05:00.000Z',
      // The project's flaky tests, searched for this one's id (encoded: it is the report's).
      dashboardPath: '#/tests/shop?status=flaky&q=cart+%3E+CartTest+%3E+removes+%3Clast%3E+item',
      correlationId: 'corr-77',
    });
    const { quarantined: _q, ...bare } = flaky;
    expect(flakyNotice(bare, 'evt-2').summary).toBe(flaky.explanation);
  });

  it('keeps a check key for an absurdly long test id unique and within a table key', () => {
    const long = 'x'.repeat(5000);
    const a = flakyCheckKey('shop', `${long}a`);
    const b = flakyCheckKey('shop', `${long}b`);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(1024);
    expect(a).not.toBe(b);
    expect(flakyCheckKey('shop', 't')).toBe('flaky:shop/t');
  });

  it('reads well in Slack: what, the evidence, when it was detected, no incident wording', () => {
    // Prepare
    const n = flakyNotice(flaky, 'evt-1');

    // Act
    const payload = slackPayload(n);
    const text = blockText(payload.blocks);

    // Assess
    expect(payload.blocks[0]).toMatchObject({
      text: {
        text: ':warning: NOTICE: Flaky test cart &gt; CartTest &gt; removes &lt;last&gt; item',
      },
    });
    expect(text).toContain('Passed and failed on commit 9b1c0ffee2d4');
    expect(text).toContain('Quarantined until 2026-12-31 (owner: team-cart).');
    expect(text).toContain('*Detected*\n2026-11-25 10:05:00 UTC');
    expect(text).toContain('`flaky:shop/cart &gt; CartTest &gt; removes &lt;last&gt; item`');
    expect(text).toContain('event `evt-1`');
    expect(text).not.toContain('Since');
    expect(text).not.toContain('incident');
    expect(payload.text).toBe(
      'NOTICE [warning] Flaky test cart &gt; CartTest &gt; removes &lt;last&gt; item: Passed and failed on commit 9b1c0ffee2d4: passed in ci-481-linux, failed in ci-481-macos. Quarantined until 2026-12-31 (owner: team-cart).',
    );
  });

  it('reads well by email', () => {
    // Prepare
    const n = flakyNotice(flaky, 'evt-1');

    // Act
    const subject = emailSubject(n);
    const body = emailBody(n);

    // Assess
    expect(subject).toBe(
      '[Vigil] NOTICE warning: Flaky test cart > CartTest > removes <last> item (shop)',
    );
    expect(body).toMatch(
      /^NOTICE: Flaky test cart > CartTest > removes <last> item\n\nPassed and failed/,
    );
    expect(body).toContain('Detected:       2026-11-25 10:05:00 UTC');
    expect(body).toContain('Event:          evt-1');
    expect(body).not.toMatch(/^(Since|Incident):/m);
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes, hours and days', () => {
    // Prepare
    const inputs = [0, 45, 60, 750, 3600, 3660, 86_400, 93_600];

    // Act
    const out = inputs.map(formatDuration);

    // Assess
    expect(out).toEqual(['0s', '45s', '1m', '12m 30s', '1h', '1h 1m', '1d', '1d 2h']);
  });
});

describe('odd inputs', () => {
  it('shows a time it cannot read as it is', () => {
    expect(formatTime('soon')).toBe('soon');
    expect(formatTime('2026-11-25T10:00:00.000Z')).toBe('2026-11-25 10:00:00 UTC');
  });

  it('builds a NOTICE from a state without an incident: summary from the title', () => {
    // Prepare
    const state: AlertState = {
      ...firingState,
      since: undefined,
      incidentId: undefined,
      target: undefined,
    };

    // Act
    const n = buildNotification('NOTICE', state);

    // Assess
    expect(n).toMatchObject({
      summary: 'Probe checkout-api.',
      since: firingState.lastObservedAt,
      incidentId: 'unknown',
    });
  });

  it('counts the flaky tests beyond the notices sent, in the last notice', () => {
    // Prepare
    const last = (total: number) =>
      flakyNotice({ ...flaky, batch: { index: MAX_FLAKY_NOTICES_PER_RUN, total } }, 'evt-9')
        .summary;

    // Act + Assess
    expect(last(MAX_FLAKY_NOTICES_PER_RUN + 1)).toContain(
      ' 1 more test was found flaky in run ci-481-macos: GET /v1/projects/shop/tests?status=flaky lists them all.',
    );
    expect(last(MAX_FLAKY_NOTICES_PER_RUN + 3)).toContain(' 3 more tests were found flaky');
  });
});
