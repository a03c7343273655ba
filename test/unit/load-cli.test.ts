import { describe, expect, it } from 'vitest';
import { EXIT, type LoadOptions, parseLoadArgs, runLoadCli } from '../../load/cli';

const BASE = ['--target', 'http://127.0.0.1:3000', '--rate', '20', '--duration', '2'];
const ENV = { VIGIL_TOKEN: 'tok-from-env' };

const ok = (argv: string[], env: NodeJS.ProcessEnv = ENV): LoadOptions => {
  const parsed = parseLoadArgs(argv, env);
  if (parsed.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(parsed)}`);
  return parsed.options;
};

const problems = (argv: string[], env: NodeJS.ProcessEnv = ENV): string[] => {
  const parsed = parseLoadArgs(argv, env);
  if (parsed.kind !== 'error') throw new Error(`expected an error, got ${parsed.kind}`);
  return parsed.problems;
};

describe('load CLI arguments', () => {
  it('applies the documented defaults', () => {
    const o = ok(BASE);
    expect(o).toMatchObject({
      rate: 20,
      durationS: 2,
      scenario: 'ingest',
      token: 'tok-from-env',
      project: 'vigil-load',
      gzipShare: 0.3,
      p99Ms: 1000,
      maxErrorRate: 0.01,
      engine: 'paced',
      connections: 64,
      timeoutMs: 10_000,
      out: 'load-summary.json',
      reportProject: 'vigil-load',
    });
    expect(o.target.href).toBe('http://127.0.0.1:3000/');
    expect(o.verify).toBeUndefined();
    expect(o.reportTo).toBeUndefined();
  });

  it('reads every option', () => {
    const o = ok([
      ...BASE,
      '--scenario',
      'junit',
      '--token',
      'flag-token',
      '--project',
      'shop/api',
      '--gzip',
      '0.5',
      '--p99',
      '250',
      '--max-error-rate',
      '0',
      '--engine',
      'autocannon',
      '--connections',
      '4',
      '--timeout-ms',
      '500',
      '--out',
      'out/x.json',
      '--report-to',
      'https://vigil.example.com/prod',
      '--report-token',
      'report-tok',
      '--report-project',
      'perf',
    ]);
    expect(o).toMatchObject({
      scenario: 'junit',
      token: 'flag-token',
      project: 'shop/api',
      gzipShare: 0.5,
      p99Ms: 250,
      maxErrorRate: 0,
      engine: 'autocannon',
      connections: 4,
      timeoutMs: 500,
      out: 'out/x.json',
      reportToken: 'report-tok',
      reportProject: 'perf',
    });
    expect(o.reportTo?.href).toBe('https://vigil.example.com/prod');
  });

  it('takes the target and tokens from the environment', () => {
    const o = ok(['--rate', '1', '--duration', '1', '--report-to', 'http://127.0.0.1:1'], {
      VIGIL_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      VIGIL_TOKEN: 'env-token',
    });
    expect(o.target.host).toBe('abc.execute-api.eu-west-1.amazonaws.com');
    expect(o.token).toBe('env-token');
    // The report token falls back to the load token, then VIGIL_REPORT_TOKEN wins over it.
    expect(o.reportToken).toBe('env-token');
    expect(
      ok([...BASE, '--report-to', 'http://127.0.0.1:1'], { ...ENV, VIGIL_REPORT_TOKEN: 'r' })
        .reportToken,
    ).toBe('r');
  });

  it('defaults per scenario and engine', () => {
    expect(ok([...BASE, '--scenario', 'junit']).gzipShare).toBe(0);
    expect(ok([...BASE, '--engine', 'autocannon']).connections).toBe(10);
    // The url scenario needs no token and keeps the target's query.
    const url = ok(
      [
        '--target',
        'http://127.0.0.1:8080/health?deep=1',
        '--rate',
        '5',
        '--duration',
        '1',
        '--scenario',
        'url',
      ],
      {},
    );
    expect(url.token).toBeUndefined();
    expect(url.target.search).toBe('?deep=1');
  });

  it('requires target, rate, duration and (for ingest) a token', () => {
    expect(problems([], {})).toEqual([
      '--target is required (or set VIGIL_ENDPOINT)',
      '--rate is required',
      '--duration is required',
      'no token: set VIGIL_TOKEN (or pass --token) for the ingest scenarios',
    ]);
  });

  it.each([
    [['--rate', '0'], "--rate must be a number above 0 and at most 100000, got '0'"],
    [['--rate=-5'], "--rate must be a number above 0 and at most 100000, got '-5'"],
    [['--rate', 'fast'], "--rate must be a number above 0 and at most 100000, got 'fast'"],
    [['--duration', '0'], "--duration must be a number above 0 and at most 86400, got '0'"],
    [['--max-error-rate', '1.5'], "--max-error-rate must be a number from 0 to 1, got '1.5'"],
    [['--gzip=-0.1'], "--gzip must be a number from 0 to 1, got '-0.1'"],
    [['--p99', '0'], "--p99 must be a number above 0 and at most 600000, got '0'"],
    [['--connections', '2.5'], "--connections must be a whole number from 1 to 10000, got '2.5'"],
    [['--timeout-ms', ''], "--timeout-ms must be a whole number from 1 to 600000, got ''"],
    [['--scenario', 'soak'], "unknown --scenario 'soak'; expected ingest, junit, url"],
    [['--engine', 'wrk'], "unknown --engine 'wrk'; expected paced, autocannon"],
    [['--project=-bad'], "--project '-bad' is invalid: letters, digits, . _ - / (max 128)"],
  ])('rejects %j', (extra, message) => {
    // Later flags win in node:util parseArgs, so the bad value replaces BASE's.
    expect(problems([...BASE, ...extra])).toContain(message);
  });

  it('rejects targets that are not plain http(s) URLs', () => {
    expect(problems(['--target', 'ftp://x', '--rate', '1', '--duration', '1'])).toContain(
      '--target must be an http(s) URL, got ftp:',
    );
    expect(problems(['--target', 'not a url', '--rate', '1', '--duration', '1'])).toContain(
      "--target 'not a url' is not a URL",
    );
    expect(problems(['--target', 'http://u:p@h', '--rate', '1', '--duration', '1'])).toContain(
      '--target must not contain credentials; use the token options',
    );
    expect(problems(['--target', 'http://h/?a=1', '--rate', '1', '--duration', '1'])).toContain(
      '--target must not contain a query or fragment for the ingest scenarios',
    );
    expect(problems([...BASE, '--report-to', 'http://h/v1/results?project=x'])).toContain(
      '--report-to must not contain a query or fragment',
    );
  });

  it('refuses combinations that cannot work', () => {
    expect(problems([...BASE, '--scenario', 'url', '--verify', '.vigil'])).toContain(
      '--verify checks ingested results: it needs --scenario ingest or junit',
    );
    expect(problems([...BASE, '--engine', 'autocannon', '--verify', '.vigil'])[0]).toMatch(
      /^--verify needs --engine paced/,
    );
    expect(problems([...BASE, '--engine', 'autocannon', '--rate', '2.5'])).toContain(
      '--rate must be a whole number with --engine autocannon',
    );
    expect(
      problems(
        [
          '--target',
          'http://h',
          '--rate',
          '1',
          '--duration',
          '1',
          '--scenario',
          'url',
          '--report-to',
          'http://v',
        ],
        {},
      ),
    ).toContain('--report-to needs a token: --report-token, VIGIL_REPORT_TOKEN or VIGIL_TOKEN');
  });

  it('reports unknown options and stray arguments', () => {
    expect(problems([...BASE, '--rps', '5'])[0]).toMatch(/--rps/);
    expect(problems([...BASE, 'extra'])).toContain("unexpected argument 'extra'");
  });

  it('exits 2 with the problems and the usage on stderr, 0 for --help', async () => {
    const err: string[] = [];
    const out: string[] = [];
    const io = { env: {}, stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
    expect(await runLoadCli(['--rate', 'x'], io)).toBe(EXIT.usage);
    expect(err.join('')).toContain(
      "vigil load: --rate must be a number above 0 and at most 100000, got 'x'",
    );
    expect(err.join('')).toContain('Usage: npm run load');
    expect(out).toEqual([]);
    expect(await runLoadCli(['--help'], io)).toBe(EXIT.passed);
    expect(out.join('')).toContain('--max-error-rate R');
  });
});
