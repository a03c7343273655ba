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

  it('says what is wrong with a five-field cron the parser refuses', () => {
    expect(cronProblem('61 2 * * *')).toMatch(/^"61 2 \* \* \*": .+/);
  });
});
