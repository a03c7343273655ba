import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../cli/report';
import { parseConfig } from '../../functions/core/config';
import type { IngestResult } from '../../functions/core/ingest/service';
import { type LocalPipeline, startLocal } from '../../functions/runtime/local/runtime';
import { strayRequest } from '../helpers/stray-request';

/**
 * Security reports through the real local pipeline (startLocal: the same ingest, history,
 * metrics and alert handlers as `npm start`): the base run on main, pull-request runs gated on
 * what they add, suppressions with expiry, and one alert per new critical finding on main to a
 * local webhook receiver.
 */

const TOKEN = 'security-pipeline-token';
/** Reads need a token too. */
const READ = { headers: { authorization: `Bearer ${TOKEN}` } };
const ESLINT = readFileSync(
  new URL('../fixtures/real/security/eslint-security.sarif', import.meta.url),
  'utf8',
);

interface SarifResult {
  ruleId: string;
  level?: string;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
  }[];
  properties?: Record<string, unknown>;
}
interface Sarif {
  runs: { results: SarifResult[] }[];
}

const result = (
  ruleId: string,
  uri: string,
  line: number,
  extra: Partial<SarifResult> = {},
): SarifResult => ({
  ruleId,
  level: 'error',
  message: { text: `${ruleId} here` },
  locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: line } } }],
  ...extra,
});

/** The ESLint report with its lines moved down by `shift`, plus `added` results. */
const eslintWith = (shift: number, added: SarifResult[] = []): string => {
  const doc = JSON.parse(ESLINT) as Sarif;
  const run = doc.runs[0];
  if (!run) throw new Error('no run');
  for (const r of run.results)
    for (const l of r.locations) l.physicalLocation.region.startLine += shift;
  run.results.push(...added);
  return JSON.stringify(doc);
};

let pipeline: LocalPipeline;
let receiver: Server;
let dataDir: string;
const hooks: { kind: string; source: string; title: string; summary: string; checkKey: string }[] =
  [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      hooks.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as AddressInfo).port;
  dataDir = await mkdtemp(join(tmpdir(), 'vigil-security-'));
  pipeline = await startLocal({
    config: parseConfig({
      project: 'shop',
      probes: [],
      alerts: { channels: [{ type: 'webhook', url: `http://127.0.0.1:${port}/hook` }] },
      security: {
        suppress: [
          {
            rule: 'security/detect-child-process',
            path: '*/lib/*',
            owner: 'sec-team',
            reason: 'commands come from a fixed list',
            expires: '2099-12-31',
          },
          {
            rule: 'security/detect-non-literal-require',
            owner: 'old-team',
            reason: 'legacy loader',
            expires: '2020-01-01',
          },
        ],
      },
    }),
    dataDir,
    port: 0,
    tokens: [TOKEN],
    probes: false,
  });
});

afterAll(async () => {
  await pipeline.close();
  await new Promise<void>((r) => receiver.close(() => r()));
  await rm(dataDir, { recursive: true, force: true });
});

const post = async (query: string, body: string): Promise<IngestResult> => {
  const res = await fetch(`${pipeline.url}/v1/results?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body,
  });
  const json = (await res.json()) as IngestResult;
  expect(res.status, JSON.stringify(json)).toBe(202);
  // The history records the run from the bus before the next report compares with it.
  await pipeline.bus.drain();
  return json;
};

const check = (r: IngestResult) => {
  const c = r.gate.checks.find((x) => x.id === 'security.findings');
  if (!c) throw new Error(`no security check in ${JSON.stringify(r.gate)}`);
  return c;
};

describe('the security gate through the local pipeline', () => {
  let baseRunId = '';

  it('gates the first run on main on all findings at or above high, and says there is no base', async () => {
    const r = await post('project=app&branch=main&commit=base1', ESLINT);
    baseRunId = r.runId;
    expect(r.kind).toBe('security');
    expect(r.summary).toMatchObject({ findings: 6, new: 0, fixed: 0, suppressed: 0 });
    expect(r.gate.status).toBe('fail');
    expect(check(r).message).toMatch(
      /^1 finding at or above high \(1 high\): high no-eval at \/tmp\/vigil-sec-tools\/project\/server\.js:22\. No base run of ESLint on base branch "main" yet: gating on all its findings at or above high\.$/,
    );
    expect(r.security?.bases).toEqual([{ tool: 'ESLint', note: 'no base run of this tool yet' }]);
  });

  it('fails a pull request that adds one high finding, listing only that one, lines moved or not', async () => {
    const r = await post(
      'project=app&branch=feature/a&base=main&commit=pr1',
      eslintWith(3, [result('security/detect-pseudoRandomBytes', 'src/token.js', 4)]),
    );
    expect(r.gate.status).toBe('fail');
    expect(check(r)).toMatchObject({ status: 'fail', actual: 1, threshold: 0 });
    expect(check(r).message).toMatch(
      /^1 new finding at or above high on base branch "main" \(1 high\): high security\/detect-pseudoRandomBytes at src\/token\.js:4\./,
    );
    expect(r.summary).toMatchObject({ findings: 7, new: 1, fixed: 0 });
    expect(r.security?.bases).toEqual([{ tool: 'ESLint', baseRunId, baseAt: expect.any(String) }]);
    expect(r.security?.newFindings).toEqual([
      {
        tool: 'ESLint',
        ruleId: 'security/detect-pseudoRandomBytes',
        severity: 'high',
        location: 'src/token.js:4',
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        message: 'security/detect-pseudoRandomBytes here',
      },
    ]);
  });

  it('passes a pull request whose only new finding is suppressed, and lists the suppression', async () => {
    const r = await post(
      'project=app&branch=feature/b&base=main',
      eslintWith(0, [result('security/detect-child-process', '/app/lib/run.js', 9)]),
    );
    expect(r.gate.status).toBe('pass');
    expect(check(r).message).toMatch(
      /^No new findings at or above high on base branch "main" .*1 finding suppressed \(listed in the answer\)\.$/,
    );
    expect(r.summary).toMatchObject({ new: 0, suppressed: 1 });
    expect(r.security?.suppressed).toEqual([
      expect.objectContaining({
        ruleId: 'security/detect-child-process',
        location: '/app/lib/run.js:9',
        owner: 'sec-team',
        reason: 'commands come from a fixed list',
        expires: '2099-12-31',
      }),
    ]);
  });

  it('stops suppressing once a suppression expired, and says so', async () => {
    const r = await post(
      'project=app&branch=feature/c&base=main',
      eslintWith(0, [result('security/detect-non-literal-require', 'src/plugins.js', 2)]),
    );
    expect(r.gate.status).toBe('fail');
    expect(check(r).message).toContain(
      'Suppression rule "security/detect-non-literal-require" (owner old-team) expired on 2020-01-01: it no longer suppresses 1 finding.',
    );
    expect(r.security?.expired).toEqual([
      expect.objectContaining({
        rule: 'security/detect-non-literal-require',
        owner: 'old-team',
        findings: 1,
      }),
    ]);
  });

  it('lists what a pull request fixed', async () => {
    const doc = JSON.parse(ESLINT) as Sarif;
    doc.runs[0]?.results.splice(0, 2);
    const r = await post('project=app&branch=feature/d&base=main', JSON.stringify(doc));
    // no-eval is still there, but main has it: not new, so the gate passes.
    expect(r.gate.status).toBe('pass');
    expect(r.summary).toMatchObject({ findings: 4, new: 0, fixed: 2 });
    expect(r.security?.fixedTotal).toBe(2);
  });

  it('on main, compares with the previous main run: the gate passes once nothing new appears', async () => {
    const r = await post('project=app&branch=main&commit=base2', eslintWith(1));
    expect(r.gate.status).toBe('pass');
    expect(r.security?.bases[0]?.baseRunId).toBe(baseRunId);
  });

  it('alerts once per new critical finding on main, through the webhook channel', async () => {
    const critical = result('js/sql-injection', 'src/db.js', 12, {
      properties: { 'security-severity': '9.8' },
    });
    await post('project=app&branch=main&commit=c1', eslintWith(0, [critical]));
    // The same finding in the next main run (moved) is not new: no second notice.
    await post(
      'project=app&branch=main&commit=c2',
      eslintWith(2, [
        {
          ...critical,
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: 'src/db.js' },
                region: { startLine: 30 },
              },
            },
          ],
        },
      ]),
    );
    for (let i = 0; i < 100 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const security = hooks.filter((h) => h.source === 'security');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({
      kind: 'NOTICE',
      severity: 'critical',
      title: 'New critical security finding in app: js/sql-injection',
      checkKey: expect.stringMatching(/^security:app\/[0-9a-f]{16}$/),
    });
    expect(security[0]?.summary).toMatch(
      /^ESLint reports js\/sql-injection at src\/db\.js:12 on main @ c1, new since the previous run/,
    );
    // Pull-request runs never alerted.
    expect(hooks.every((h) => h.source === 'security')).toBe(true);
  });

  it('feeds the security metrics: findings by severity and by tool, new findings', async () => {
    const res = await fetch(`${pipeline.url}/v1/metrics?project=app&name=SecurityFindings`, READ);
    const { datapoints } = (await res.json()) as {
      datapoints: { value: number; dimensions: Record<string, string> }[];
    };
    const first = datapoints.filter((d) => d.dimensions.Severity === 'high');
    expect(first.length).toBeGreaterThan(0);
    expect(datapoints.some((d) => d.dimensions.Tool === 'ESLint' && d.value === 6)).toBe(true);
    const fresh = await fetch(
      `${pipeline.url}/v1/metrics?project=app&name=SecurityNewFindings`,
      READ,
    );
    const values = ((await fresh.json()) as { datapoints: { value: number }[] }).datapoints.map(
      (d) => d.value,
    );
    expect(values).toContain(1);
  });
});

describe('the CLI on a security report', () => {
  it('prints the security summary and check, and exits with the gate', async () => {
    let stdout = '';
    const code = await runReport(
      [
        fileURLToPath(new URL('../fixtures/real/security/eslint-security.sarif', import.meta.url)),
        '--endpoint',
        pipeline.url,
        '--project',
        'cli-app',
        '--branch',
        'main',
      ],
      {
        env: { VIGIL_TOKEN: TOKEN },
        stdout: (x) => {
          stdout += x;
        },
        stderr: () => {},
        sleep: async () => {},
        random: () => 0.5,
        cwd: tmpdir(),
      },
    );
    expect(code).toBe(1);
    expect(stdout).toContain(
      'security: 6 findings (1 high, 5 medium); 0 new, 0 fixed, 0 suppressed',
    );
    expect(stdout).toMatch(
      /security\.findings.*1 finding at or above high \(1 high\): high no-eval/,
    );
  });
});

describe("Trivy's JSON and ZAP's XML through the same pipeline", () => {
  const fixture = (name: string) =>
    readFileSync(new URL(`../fixtures/security/${name}`, import.meta.url), 'utf8');

  it('gates a pull request on the vulnerability it adds to the Trivy scan of main', async () => {
    const trivy = fixture('trivy-npm-repo.json');
    const base = await post('project=images&suite=trivy&branch=main&commit=t1', trivy);
    expect(base.format).toBe('trivy');
    expect(check(base)).toMatchObject({ status: 'pass' }); // one MEDIUM, below the threshold
    const doc = JSON.parse(trivy) as { Results: { Vulnerabilities: Record<string, unknown>[] }[] };
    doc.Results[0]?.Vulnerabilities.push({
      VulnerabilityID: 'CVE-2021-23337',
      PkgName: 'lodash',
      InstalledVersion: '4.17.20',
      FixedVersion: '4.17.21',
      Title: 'lodash: command injection via template',
      Severity: 'HIGH',
      CweIDs: ['CWE-94'],
    });
    const pr = await post(
      'project=images&suite=trivy&branch=feature/t&base=main',
      JSON.stringify(doc),
    );
    expect(check(pr)).toMatchObject({ status: 'fail' });
    expect(pr.summary).toMatchObject({ findings: 2, new: 1, fixed: 0 });
    expect(pr.security?.newFindings.map((f) => [f.severity, f.ruleId, f.location])).toEqual([
      ['high', 'CVE-2021-23337', 'lodash 4.17.20'],
    ]);
  });

  it('reads a ZAP XML report posted as it is', async () => {
    const r = await post('project=web&branch=main', fixture('zap-dev-build-traditional.xml'));
    expect(r).toMatchObject({ kind: 'security', format: 'zap' });
    expect(r.summary).toMatchObject({ findings: 2, bySeverity: { high: 2 } });
    expect(check(r)).toMatchObject({ status: 'fail' });
  });
});
