import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/adapters/local/config-file';
import { cronProblem } from '../../functions/core/alerts/maintenance';
import { checkConfig } from '../../functions/core/config-check';
import { loadCronParser } from '../../functions/core/cron';

beforeAll(() => loadCronParser());

/** Config files load from anywhere, and every problem in one is reported at once, in words. */

const outside = async (name: string, text: string): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-config-outside-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe('loading config files', () => {
  it('loads .ts and .js configs outside the clone, ESM or CommonJS (no package.json)', async () => {
    const ts = await outside('vigil.config.ts', "export default { project: 'ts-outside' };\n");
    expect((await loadConfigFile(ts)).project).toBe('ts-outside');
    const cjs = await outside('vigil.config.js', "module.exports = { project: 'cjs-outside' };\n");
    expect((await loadConfigFile(cjs)).project).toBe('cjs-outside');
    const named = await outside(
      'vigil.config.mjs',
      "export const config = { project: 'named' };\n",
    );
    expect((await loadConfigFile(named)).project).toBe('named');
  });

  it('resolves defineConfig from "vigil/config" (the package export)', async () => {
    const config = await loadConfigFile('test/fixtures/config/package-import.config.ts');
    expect(config.project).toBe('by-package-name');
  });

  it('says a code config has no default export, and what it exports instead', async () => {
    for (const name of ['vigil.config.ts', 'vigil.config.mjs']) {
      const path = await outside(name, "export const settings = { project: 'x' };\n");
      await expect(loadConfigFile(path)).rejects.toThrow(
        `Invalid Vigil config in ${path}: the file has no default export (it exports settings): ` +
          'write export default defineConfig({ ... })',
      );
    }
  });

  it('reports a config that does not load with its path', async () => {
    const broken = await outside('vigil.config.ts', 'export default {;\n');
    await expect(loadConfigFile(broken)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining(`Cannot read config file ${broken}`),
    });
  });
});

describe('config validation', () => {
  const bad = {
    gates: { minCoverage: 120 },
    probes: [{ name: 'api', url: 'http://127.0.0.1:1/' }],
    alerts: {
      maintenance: [
        { cron: '0 2 * *', durationMinutes: 30 },
        { cron: '0 0 2 * * *', durationMinutes: 30 },
        { probes: ['apí'], start: '2026-12-03T10:00:00Z', end: '2026-12-03T09:00:00Z' },
      ],
    },
  };

  it('reports probes and heartbeats that are not objects by their path only', () => {
    expect(() =>
      checkConfig({ probes: ['api'], heartbeats: [7], alerts: { maintenance: [] } }, 'c.json'),
    ).toThrow(
      'Invalid Vigil config in c.json: ' +
        'probes.0: Invalid input: expected object, received string; ' +
        'heartbeats.0: Invalid input: expected object, received number',
    );
  });

  it('names an unknown field by its own path with the field it was likely meant to be, and a missing one as required', () => {
    expect(() =>
      checkConfig(
        {
          probe: [],
          typo: 1,
          gates: { minCoverag: 80, colour: 'red' },
          probes: [{ name: 'api', url: 'https://x.example.com/', intervalSecond: 30 }, {}],
          // Through a record and a union: the fields of the object there.
          projects: { shop: { gates: { minCoverag: 80 } } },
          alerts: { channels: [{ type: 'webhook', url: 'https://x.example.com/', header: {} }] },
        },
        'c.json',
      ),
    ).toThrow(
      'Invalid Vigil config in c.json: ' +
        'gates.minCoverag: unknown field (did you mean "minCoverage"?); ' +
        'gates.colour: unknown field; ' +
        'projects.shop.gates.minCoverag: unknown field (did you mean "minCoverage"?); ' +
        'probes.0.intervalSecond: unknown field (did you mean "intervalSeconds"?); ' +
        'probes.1.name: required (string); ' +
        'alerts.channels.0.header: unknown field (did you mean "headers"?); ' +
        // A field of another object is not offered (`type` is a probe's).
        'probe: unknown field (did you mean "probes"?); typo: unknown field',
    );
  });

  it('reports every problem at once, schema and crons and windows, each by its path', () => {
    expect(() => checkConfig(bad, 'vigil.config.ts')).toThrow(
      'Invalid Vigil config in vigil.config.ts: ' +
        'gates.minCoverage: Too big: expected number to be <=100; ' +
        'alerts.maintenance.0.cron: "0 2 * *": expected 5 fields (minute hour day-of-month month ' +
        'day-of-week), got 4; ' +
        'alerts.maintenance.1.cron: "0 0 2 * * *": expected 5 fields (minute hour day-of-month ' +
        'month day-of-week), got 6: a seconds field is not supported; ' +
        'alerts.maintenance.2.probes.0: no probe is named "apí" (probes: api); ' +
        'alerts.maintenance.2.end: the window ends (2026-12-03T09:00:00Z) before it starts ' +
        '(2026-12-03T10:00:00Z)',
    );
  });

  it('takes an http(s) OpenTelemetry collector and refuses other schemes', () => {
    expect(
      checkConfig({ telemetry: { otlpEndpoint: 'https://otel.example.com' } }, 'c.json').telemetry,
    ).toEqual({ otlpEndpoint: 'https://otel.example.com' });
    expect(() => checkConfig({ telemetry: { otlpEndpoint: 'ftp://otel' } }, 'c.json')).toThrow(
      'telemetry.otlpEndpoint: must be an http(s) URL',
    );
  });

  it('names the lack of probes, and a window that ends as it starts', () => {
    expect(() =>
      checkConfig(
        {
          alerts: {
            maintenance: [
              { probes: ['db'], start: '2026-12-03T10:00:00Z', end: '2026-12-03T10:00:00Z' },
            ],
          },
        },
        'c',
      ),
    ).toThrow(
      'alerts.maintenance.0.probes.0: no probe is named "db" (no probes are configured); ' +
        'alerts.maintenance.0.end: the window ends',
    );
  });

  it('says "probe or heartbeat" of a window naming an unknown check when heartbeats exist', () => {
    expect(() =>
      checkConfig(
        {
          heartbeats: [{ name: 'h', periodSeconds: 3600 }],
          alerts: {
            maintenance: [
              { probes: ['hh'], start: '2026-12-03T10:00:00Z', end: '2026-12-03T11:00:00Z' },
            ],
          },
        },
        'c',
      ),
    ).toThrow(
      'alerts.maintenance.0.probes.0: no probe or heartbeat is named "hh" (probes and heartbeats: h)',
    );
  });

  it('refuses a probe and a heartbeat of one project with the same name, naming both', () => {
    // Prepare: `dup` in project `d` twice; `dup` of another project is fine.
    const input = {
      project: 'd',
      probes: [
        { name: 'api', url: 'http://127.0.0.1:1/' },
        { name: 'dup', url: 'http://127.0.0.1:1/dup' },
      ],
      heartbeats: [
        { name: 'dup', project: 'other', periodSeconds: 60 },
        { name: 'dup', periodSeconds: 60 },
      ],
    };

    // Act + Assess
    expect(() => checkConfig(input, 'c.json')).toThrow(
      'Invalid Vigil config in c.json: heartbeats.1.name: project "d" has a probe named "dup" too ' +
        '(probes.1); a probe and a heartbeat of one project need different names',
    );
    expect(
      checkConfig({ ...input, heartbeats: [input.heartbeats[0]] }, 'c.json').heartbeats,
    ).toHaveLength(1);
  });

  it('refuses project names that ingest would refuse or spell otherwise', () => {
    const check = () =>
      checkConfig(
        {
          project: 'shop//web',
          projects: { '/api': {} },
          probes: [{ name: 'api', url: 'http://127.0.0.1:1/', project: 'cafe\u0301' }],
        },
        'c',
      );
    expect(check).toThrow('project: "shop//web" is not a valid project name');
    expect(check).toThrow('projects./api: "/api" is not a valid project name');
    expect(check).toThrow(
      'probes.0.project: "cafe\u0301" is not a valid project name: it is not in Unicode NFC form',
    );
  });

  it('accepts a valid config with windows on known probes', () => {
    const config = checkConfig(
      {
        probes: [{ name: 'api', url: 'http://127.0.0.1:1/' }],
        alerts: {
          maintenance: [
            { probes: ['api'], cron: '0 2 * * 1-5', durationMinutes: 30 },
            { cron: '@daily', durationMinutes: 10 },
            { start: '2026-12-03T09:00:00Z', end: '2026-12-03T10:00:00Z' },
          ],
        },
      },
      'c',
    );
    expect(config.alerts.maintenance).toHaveLength(3);
  });

  it('reports schema problems of input that is not even an object, without crashing', () => {
    expect(() => checkConfig('nope', 'c')).toThrow('Invalid Vigil config in c: (root): ');
    expect(() => checkConfig({ probes: 3, alerts: { maintenance: [5] } }, 'c')).toThrow(
      /probes: .*; alerts\.maintenance\.0: /,
    );
  });

  it('says which field of a cron is wrong and why, in cron(8) terms', () => {
    expect(cronProblem('61 2 * * *')).toBe('"61 2 * * *": minute: 61 is out of range (0-59)');
    expect(cronProblem('0 2 1-32/2 * *')).toBe(
      '"0 2 1-32/2 * *": day-of-month: 32 is out of range (1-31)',
    );
    expect(cronProblem('0 2 31 2 *')).toBe(
      '"0 2 31 2 *": day-of-month: no month given has that day (e.g. 31 in February)',
    );
    // Quartz syntax the parser would take, and Debian's cron does not.
    for (const quartz of ['0 2 L * *', '0 2 ? * *', '0 2 * * 1#2', '0 2 15W * *'])
      expect(cronProblem(quartz), quartz).toMatch(
        /: "L", "W", "#" and "\?" are not cron\(8\) syntax$/,
      );
    // The aliases the parser reads, as written: another would never match (a window never
    // active, a heartbeat never expected).
    for (const alias of ['@reboot', '@midnight', '@HOURLY', '@Daily'])
      expect(cronProblem(alias), alias).toMatch(
        /: not a schedule: use five fields .* @hourly \(@midnight: @daily\)$/,
      );
    for (const fine of ['@daily', '@hourly', '@yearly', '0 2 * JUL WED', '*/15 0-23/2 1,15 * 7'])
      expect(cronProblem(fine), fine).toBeUndefined();
  });

  it('says which field a day or month name is wrong in, and what it takes', () => {
    expect(cronProblem('0 2 * * SUNDAY')).toBe('"0 2 * * SUNDAY": day-of-week: use 0-7 or SUN-SAT');
    expect(cronProblem('0 2 * September *')).toBe(
      '"0 2 * September *": month: use 1-12 or JAN-DEC',
    );
    expect(cronProblem('0 2 * sep sun-fri')).toBeUndefined();
  });
});

/** Mistakes the schema alone let through, or reported in words that did not say the fix. */
describe('config check: references, URLs and cross-field settings', () => {
  const problems = (input: unknown): string => {
    try {
      checkConfig(input, 'c');
    } catch (e) {
      return (e as Error).message.replace('Invalid Vigil config in c: ', '');
    }
    return 'accepted';
  };
  const api = { name: 'api', url: 'https://api.example.com/health' };
  const slack = (webhookUrl: string) => ({ alerts: { channels: [{ type: 'slack', webhookUrl }] } });
  const webhook = (url: string) => ({ alerts: { channels: [{ type: 'webhook', url }] } });

  it("takes the dashboard's base address alone: no query, fragment or credentials", () => {
    const base = (dashboardUrl: string) => problems({ alerts: { dashboardUrl } });
    expect(base('https://vigil.example.com/team/')).toBe('accepted');
    for (const bad of [
      'https://vigil.example.com/#token=vgl_secret',
      'https://vigil.example.com/?x=1',
      'https://admin:pw@vigil.example.com/',
      'https://vigil.example.com/ a',
    ])
      expect(base(bad), bad).toMatch(
        /^alerts\.dashboardUrl: must be the dashboard's base address, without spaces, a query, a #fragment or credentials/,
      );
    // A stage's own, checked alike.
    expect(
      problems({ stages: { prod: { dashboardUrl: 'https://vigil.example.com/#x' } } }),
    ).toMatch(/^stages\.prod\.dashboardUrl: must be the dashboard's base address/);
    expect(base('vigil.example.com')).toMatch(/^alerts\.dashboardUrl: must be an http\(s\) URL/);
  });

  it('checks channel URLs on load, with secret parts standing in as text', () => {
    expect(problems(slack('not a url'))).toBe(
      'alerts.channels.0.webhookUrl: must be an http(s) URL or "{{secret:NAME}}" (got "not a url")',
    );
    expect(problems(webhook('ftp://ops.example.com/x'))).toMatch(
      /^alerts\.channels\.0\.url: must be an http\(s\) URL/,
    );
    expect(problems(webhook('https://bot:{{secret:PW}}@ops.example.com/x'))).toMatch(
      /^alerts\.channels\.0\.url: has a user name or password in it \(user:password@\)/,
    );
    expect(problems(slack('http://chat.example.com/hook'))).toMatch(
      /^alerts\.channels\.0\.webhookUrl: a Slack webhook URL must be https/,
    );
    // The URL is the credential: the docs say it goes in a secret, so a pasted one is refused.
    expect(problems(slack('https://hooks.slack.com/services/T0/B0/x'))).toMatch(
      /^alerts\.channels\.0\.webhookUrl: a Slack webhook URL is a secret .*"\{\{secret:SLACK_WEBHOOK\}\}"/,
    );
    for (const ok of [
      '{{secret:SLACK_WEBHOOK}}',
      '{{secret:BASE}}/services/x',
      'https://hooks.slack.com/services/{{secret:SLACK_PATH}}',
      'http://127.0.0.1:9000/slack',
    ])
      expect(problems(slack(ok)), ok).toBe('accepted');
    expect(problems(webhook('http://ops.example.com/hooks/{{secret:HOOK}}'))).toBe('accepted');
  });

  it('refuses {{secret:NAME}} where it would be sent as written: URLs and a single body', () => {
    const secretIn = (probe: object) => problems({ probes: [{ name: 'p', ...probe }] });
    expect(secretIn({ url: 'https://x.example.com/h?key={{secret:k}}' })).toMatch(
      /^probes\.0\.url: \{\{secret:NAME\}\} is not resolved in a URL .*send the secret in a header/,
    );
    expect(secretIn({ steps: [{ name: 's', url: 'https://x.example.com/{{secret:k}}' }] })).toMatch(
      /^probes\.0\.steps\.0\.url: \{\{secret:NAME\}\} is not resolved in a URL/,
    );
    expect(
      secretIn({ url: 'https://x.example.com/', method: 'POST', body: '{"p":"{{secret:k}}"}' }),
    ).toMatch(/^probes\.0\.body: \{\{secret:NAME\}\} is resolved in the body of a step, not/);
    // Where it is resolved: headers, and a step's body.
    expect(
      secretIn({
        headers: { authorization: 'Bearer {{secret:k}}' },
        steps: [{ name: 's', url: 'https://x.example.com/', body: '{{secret:k}}' }],
      }),
    ).toBe('accepted');
  });

  it('refuses a misspelt placeholder, which would be sent as written, naming the field and the fragment', () => {
    const fix = 'is not a placeholder and would be sent as written: write {{secret:NAME}}';
    const header = (value: string) =>
      problems({ probes: [{ ...api, headers: { authorization: value } }] });
    for (const [typo, fragment] of [
      ['Bearer {{ secret: API_TOKEN }}', '{{ secret: API_TOKEN }}'],
      ['{{secret:KEY}', '{{secret:KEY}'],
      ['{{secrets:KEY}}', '{{secrets:KEY}}'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style reference, as typed
      ['${secret:KEY}', '${secret:KEY}'],
      ['Bearer secret:KEY}}', 'secret:KEY}}'],
      ['{{vars.id}}', '{{vars.id}}'],
    ] as const)
      expect(header(typo), typo).toBe(
        `probes.0.headers.authorization: ${JSON.stringify(fragment)} ${fix} (NAME: letters, digits and /_+=.@-)`,
      );
    expect(problems(slack('{{secret:SLACK}'))).toMatch(
      /^alerts\.channels\.0\.webhookUrl: "\{\{secret:SLACK\}" is not a placeholder/,
    );
    // A step resolves {{vars.NAME}} too; a JSON body may end in "}}".
    const step = (s: object) =>
      problems({
        probes: [
          {
            name: 'p',
            steps: [
              { name: 'a', url: 'https://x.example.com/', extract: { id: '$.id' } },
              { name: 'b', url: 'https://x.example.com/{{vars.id}}', ...s },
            ],
          },
        ],
      });
    expect(step({ headers: { 'x-id': '{{var.id}}' } })).toBe(
      `probes.0.steps.1.headers.x-id: "{{var.id}}" ${fix} or {{vars.NAME}} (NAME: letters, digits and /_+=.@-)`,
    );
    expect(step({ method: 'POST', body: '{"a":{"b":"{{vars.id}}","c":{{secret:K}}}}' })).toBe(
      'accepted',
    );
  });

  it('says a secret is not resolved in a URL, misspelt or not, and sends a single body as written', () => {
    const probe = (extra: object) => problems({ probes: [{ name: 'p', ...extra }] });
    expect(probe({ url: 'https://a.example.com/?k={{ secret: KEY }}' })).toMatch(
      /^probes\.0\.url: \{\{secret:NAME\}\} is not resolved in a URL/,
    );
    expect(probe({ url: 'https://a.example.com/', method: 'POST', body: 'Hello {{name}}' })).toBe(
      'accepted',
    );
    // No "did you mean" the very name: `url` is a webhook's field, not an email channel's.
    expect(
      problems({
        alerts: {
          channels: [{ type: 'email', address: 'a@b.example', url: 'https://x.example/' }],
        },
      }),
    ).toBe('alerts.channels.0.url: unknown field');
  });

  it('refuses a header name that no request could carry', () => {
    expect(problems({ probes: [{ ...api, headers: { 'x api key': 'v' } }] })).toMatch(
      /^probes\.0\.headers\.x api key: not a header name: use letters, digits/,
    );
  });

  it('refuses ingest limits under which the largest report could never be read', () => {
    expect(problems({ ingest: { maxBodyBytes: 5_000_000, maxBufferedBytes: 1000 } })).toBe(
      'ingest.maxBufferedBytes: 1000 is less than ingest.maxBodyBytes (5000000): a report that ' +
        'large could never be held, and would be refused with a 503 on every retry; make ' +
        'maxBufferedBytes at least maxBodyBytes',
    );
    expect(problems({ ingest: { maxBodyBytes: 1000, maxBufferedBytes: 1000 } })).toBe('accepted');
  });

  it('refuses history settings under which a check could never run, naming both values', () => {
    expect(problems({ history: { baselineRuns: 3, minBaselineRuns: 10 } })).toMatch(
      /^history\.minBaselineRuns: 10 is more than history\.baselineRuns \(3\)/,
    );
    expect(problems({ history: { flaky: { window: 10, minRuns: 50 } } })).toMatch(
      /^history\.flaky\.minRuns: 50 is more than history\.flaky\.window \(10\)/,
    );
    // The defaults count: minRuns 8 is more than a window of 5.
    expect(problems({ history: { flaky: { window: 5 } } })).toMatch(
      /^history\.flaky\.minRuns: 8 is more than history\.flaky\.window \(5\)/,
    );
    expect(problems({ history: { baselineRuns: 3, minBaselineRuns: 3 } })).toBe('accepted');
  });

  it("takes a probe's project under ingest's rule, and says that rule when it is broken", () => {
    expect(problems({ probes: [{ ...api, project: 'shop/web' }] })).toBe('accepted');
    expect(problems({ probes: [{ ...api, project: 'My Project!' }] })).toBe(
      'probes.0.project: "My Project!" is not a valid project name: only letters, digits, ' +
        '". _ - /" are allowed',
    );
  });

  it('names the probe a duplicate name is already used by', () => {
    expect(problems({ probes: [api, { ...api, project: 'other' }] })).toBe(
      'probes.1.name: "api" is already used by probes.0; probe names must be unique',
    );
  });

  it('refuses status page components and public badges that name no configured probe', () => {
    const input = {
      probes: [api],
      statusPage: { title: 'Status', components: [{ name: 'API', probes: ['api', 'ap'] }] },
      badges: { public: { probes: ['nope'] } },
    };
    expect(problems(input)).toBe(
      'statusPage.components.0.probes.1: no probe is named "ap" (probes: api); ' +
        'badges.public.probes.0: no probe is named "nope" (probes: api)',
    );
  });

  it('refuses a status page component whose tags select nothing; heartbeats count', () => {
    // Prepare
    const page = (component: object) => ({
      statusPage: { title: 'Status', components: [{ name: 'API', probes: ['api'] }, component] },
    });
    const jobs = { name: 'backup', periodSeconds: 3600, tags: ['jobs'] };

    // Act, Assess: tags nobody has; a misspelt heartbeat name.
    expect(problems({ probes: [api], ...page({ name: 'Web', tags: ['web', 'edge'] }) })).toBe(
      'statusPage.components.1.tags: component "Web" would show nothing: no probe or heartbeat ' +
        'has the tags "web", "edge"',
    );
    expect(
      problems({ probes: [api], heartbeats: [jobs], ...page({ name: 'J', probes: ['bakup'] }) }),
    ).toBe(
      'statusPage.components.1.probes.0: no probe or heartbeat is named "bakup" ' +
        '(probes and heartbeats: api, backup)',
    );
    // A tag one probe or heartbeat has, or a check named, is enough.
    const tagged = { ...api, name: 'web', tags: ['web'] };
    expect(problems({ probes: [api, tagged], ...page({ name: 'Web', tags: ['web', 'x'] }) })).toBe(
      'accepted',
    );
    expect(
      problems({ probes: [api], heartbeats: [jobs], ...page({ name: 'J', tags: ['jobs'] }) }),
    ).toBe('accepted');
    expect(
      problems({ probes: [api], heartbeats: [jobs], ...page({ name: 'J', probes: ['backup'] }) }),
    ).toBe('accepted');
  });

  it('says the form a date must have', () => {
    const entry = { test: 'a', owner: 'b', reason: 'c' };
    expect(problems({ quarantine: [{ ...entry, expires: '01/12/2026' }] })).toBe(
      'quarantine.0.expires: must be a day (2026-12-31, inclusive, UTC) or an ISO 8601 time ' +
        'with a zone (2026-12-31T18:00:00Z)',
    );
    expect(
      problems({
        alerts: { maintenance: [{ start: '2026-01-02T00:00', end: '2026-01-03T00:00:00Z' }] },
      }),
    ).toBe(
      'alerts.maintenance.0.start: must be an ISO 8601 time with a zone: 2026-12-31T18:00:00Z ' +
        'or 2026-12-31T19:00:00+01:00',
    );
    expect(problems({ quarantine: [{ ...entry, expires: '2026-12-31T18:00:00+01:00' }] })).toBe(
      'accepted',
    );
  });

  it('refuses a log retention CloudWatch does not offer, by its path', () => {
    expect(problems({ stages: { prod: { logRetentionDays: 10 } } })).toMatch(
      /^stages\.prod\.logRetentionDays: 10 is not a CloudWatch Logs retention period; use one of 1, 3, 5, 7, 14, 30,/,
    );
    expect(problems({ stages: { prod: { logRetentionDays: 14 } } })).toBe('accepted');
  });
});
