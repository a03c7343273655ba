import { describe, expect, it } from 'vitest';
import { probeSchema } from '../../../functions/core/config';
import type { Observation } from '../../../functions/core/probes/assertions';
import { SecretError } from '../../../functions/core/probes/secrets';
import { runSteps, type StepRequest } from '../../../functions/core/probes/steps';

const NOW = new Date('2026-12-03T12:00:00Z');
const SECRET = 'hunter2-secret-value';

const secrets = {
  resolve: async (name: string) => {
    if (name === 'pw') return SECRET;
    throw new SecretError(name, `secret "${name}" is not set`);
  },
};

const ok = (body: unknown, headers: Record<string, string> = {}): Observation => ({
  statusCode: 200,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  latencyMs: 5,
});

/** A probe of the given steps, and a transport answering each request in turn. */
const setup = (
  steps: unknown[],
  answers: (Observation | Error)[],
  extra = {},
  more: Record<string, string> = {},
) => {
  const probe = probeSchema.parse({ name: 'flow', timeoutMs: 1000, steps, ...extra });
  const sent: { request: StepRequest; headers: Record<string, string> }[] = [];
  const send = async (request: StepRequest, headers: Record<string, string>) => {
    sent.push({ request, headers });
    const answer = answers.shift() ?? ok({});
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const run = (monotonicNow?: () => number) =>
    runSteps(
      { ...probe, steps: probe.steps ?? [] },
      {
        send,
        secrets: {
          resolve: async (name: string) => more[name] ?? secrets.resolve(name),
        },
        now: () => NOW,
        ...(monotonicNow ? { monotonicNow } : {}),
      },
      new AbortController().signal,
    );
  return { sent, run };
};

const step = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  url: 'https://api.example.com/x',
  ...more,
});

describe('runSteps', () => {
  it('carries numbers and objects as text, secrets into bodies, and scrubs both from reports', async () => {
    // Prepare
    const { sent, run } = setup(
      [
        step('login', {
          method: 'POST',
          body: '{"pw":"{{secret:pw}}"}',
          extract: { id: '$.user.id', user: '$.user' },
        }),
        step('use', {
          url: 'https://api.example.com/u/{{vars.id}}',
          body: 'user={{vars.user}}',
          expect: { bodyContains: 'welcome' },
        }),
      ],
      [ok({ user: { id: 42 } }), ok(`nope ${SECRET} {"id":42}`)],
    );
    // Act
    const out = await run();
    // Assess
    expect(sent[0]?.request.body).toBe(`{"pw":"${SECRET}"}`);
    expect(sent[1]?.request.url).toBe('https://api.example.com/u/42');
    expect(sent[1]?.request.body).toBe('user={"id":42}');
    expect(out.failure?.step).toBe('use');
    expect(out.failure?.assertion).toBe('bodyContains');
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(JSON.stringify(out.steps)).not.toContain('{"id":42}');
  });

  it('keeps a secret the answer echoes escaped out of the quoted body; extracted values stay for assertions', async () => {
    // Prepare: the target echoes the header JSON-escaped (`/` as `\/`); the next step looks
    // for the value the first extracted.
    const secret = 'tok/9f8e+7d6c5b4a';
    const { run } = setup(
      [
        step('login', { extract: { id: '$.id' } }),
        step('echo', {
          headers: { authorization: '{{secret:slashed}}' },
          expect: { bodyContains: 'user-4711' },
        }),
        step('check', { expect: { bodyContains: 'nope' } }),
      ],
      [
        ok({ id: 'user-4711' }),
        ok('{"id":"user-4711"}'),
        ok(JSON.stringify({ echo: secret }).replaceAll('/', '\\/')),
      ],
      {},
      { slashed: secret },
    );

    // Act
    const out = await run();

    // Assess: the second step found the extracted value; the third's quote has no secret.
    expect(out.steps.map((s) => s.status)).toEqual(['up', 'up', 'down']);
    expect(out.failure?.message).toContain('{\\"echo\\":\\"***\\"}');
    expect(JSON.stringify(out)).not.toContain('9f8e');
  });

  it('fails the step whose extract finds nothing, saying what was missing', async () => {
    const cases: [Record<string, string>, Observation, string][] = [
      [{ t: 'header:x-token' }, ok({}), 'the response has no x-token header'],
      [{ t: '$.token' }, ok('<html>'), 'the body is not JSON, so $.token cannot be read'],
      [{ t: '$.token' }, ok({ token: null }), '$.token is not in the response body'],
    ];
    for (const [extract, answer, message] of cases) {
      // Act
      const { run } = setup([step('a', { extract }), step('b')], [answer]);
      const out = await run();
      // Assess
      expect(out.failure).toEqual({
        assertion: 'extract:t',
        message: `step "a": ${message}`,
        step: 'a',
      });
      expect(out.steps.map((s) => s.status)).toEqual(['down', 'skipped']);
    }
  });

  it('reads headers case-insensitively and reuses a parsed body for several paths', async () => {
    // Prepare
    const { sent, run } = setup(
      [
        step('a', { extract: { h: 'header:X-Req', p: '$.p', q: '$.q' } }),
        step('b', { headers: { x: '{{vars.h}}-{{vars.p}}-{{vars.q}}' } }),
      ],
      [ok({ p: 'one', q: true }, { 'x-req': 'r1' })],
    );
    // Act
    const out = await run();
    // Assess
    expect(out.status).toBe('up');
    expect(sent[1]?.headers).toEqual({ x: 'r1-one-true' });
  });

  it('gives each step what is left of the probe timeout, and times out when nothing is', async () => {
    // Prepare: every monotonic reading is 600 ms after the previous one.
    let t = 0;
    const { sent, run } = setup([step('a'), step('b')], [ok({}), ok({})]);
    // Act
    const out = await run(() => {
      t += 600;
      return t;
    });
    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]?.request.timeoutMs).toBe(400);
    expect(out.failure).toEqual({
      assertion: 'timeout',
      message: `step "b": no time left of the probe's 1000 ms`,
      step: 'b',
    });
    // Step b got no answer: no status code (a's 200 is in its step's result).
    expect(out.statusCode).toBeUndefined();
    expect(out.steps?.[0]).toMatchObject({ name: 'a', statusCode: 200 });
  });

  it('reports a transport failure without a status code, and a refused request scrubbed', async () => {
    // Act
    const down = await setup(
      [step('a')],
      [{ error: 'connection', message: 'connection refused', latencyMs: 1 }],
    ).run();
    const refused = setup(
      [step('a', { headers: { authorization: '{{secret:pw}}\n' } })],
      [new Error(`Invalid header value ${SECRET}`)],
    ).run();
    // Assess
    expect(down.steps).toEqual([
      {
        name: 'a',
        status: 'down',
        latencyMs: 1,
        failure: { assertion: 'connection', message: 'connection refused' },
      },
    ]);
    expect(down.statusCode).toBeUndefined();
    await expect(refused).rejects.toThrow('Invalid header value ***');
  });

  it("reports no status code when a later step got no answer, not an earlier step's", async () => {
    const out = await setup(
      [step('first'), step('hangs'), step('third')],
      [ok({}), { error: 'timeout', message: 'no complete response within 900 ms', latencyMs: 900 }],
    ).run();
    expect(out.failure).toMatchObject({ step: 'hangs', assertion: 'timeout' });
    expect(out.statusCode).toBeUndefined();
  });

  it('collects certificate warnings per step and keeps the soonest expiry', async () => {
    // Prepare
    const inDays = (d: number) => ({ validTo: new Date(NOW.getTime() + d * 86_400_000 + 1000) });
    const { run } = setup(
      [step('a'), step('b'), step('c')],
      [
        { ...ok({}), tls: inDays(20) },
        { ...ok({}), tls: inDays(3) },
        { ...ok({}), tls: inDays(9) },
      ],
      { tlsExpiryDays: 5 },
    );
    // Act
    const out = await run();
    // Assess
    expect(out.tls?.daysRemaining).toBe(3);
    expect(out.warnings).toEqual([
      expect.stringMatching(/^step "b": TLS certificate expires in 3 days/),
    ]);
  });

  it('rejects an undefined secret before sending anything', async () => {
    const { sent, run } = setup([step('a', { headers: { k: '{{secret:nope}}' } })], []);
    await expect(run()).rejects.toBeInstanceOf(SecretError);
    expect(sent).toHaveLength(0);
  });
});

describe('multi-step probe configuration', () => {
  const issues = (input: Record<string, unknown>) => {
    const result = probeSchema.safeParse({ name: 'p', ...input });
    return result.success
      ? []
      : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('needs exactly one of url and steps', () => {
    const message = 'url: a probe has either "url" or "steps" (one of the two)';
    expect(issues({})).toEqual([message]);
    expect(issues({ url: 'https://a.example.com', steps: [step('a')] })).toEqual([message]);
    expect(issues({ steps: [step('a')] })).toEqual([]);
  });

  it('names a variable used before a step extracts it, and duplicate step names', () => {
    expect(
      issues({
        steps: [
          step('a', { url: 'https://a.example.com/{{vars.t}}', extract: { t: '$.t' } }),
          step('a', { headers: { x: '{{ vars.t }}' }, body: '{{vars.u}}' }),
        ],
      }),
    ).toEqual([
      'steps.0: {{vars.t}} is not extracted by an earlier step',
      'steps.1.name: step names must be unique',
      'steps.1: {{vars.u}} is not extracted by an earlier step',
    ]);
  });

  it('checks step URLs and extract sources', () => {
    expect(issues({ steps: [step('a', { url: 'ftp://x/', extract: { t: 'body' } })] })).toEqual([
      'steps.0.url: must be an http(s) URL (with {{vars.NAME}} placeholders allowed)',
      'steps.0.extract.t: must be a JSON path ($.a.b[0]) or header:<name>',
    ]);
  });
});
