import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { folderArchive, formatTable, type ProbeCliIo, runProbeCli } from '../../cli/probe';
import { type ProbeCompletedDetail, probeCompletedDetailSchema } from '../../functions/core/events';
import type { probeHttp } from '../../functions/shared/http-probe';

const SECRET = 'cli-secret-value-123456';

let server: Server;
let base = '';
let dir = '';
let received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(req.headers);
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(503);
      res.end('down for maintenance');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'vigil-probe-cli-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
});

const writeConfig = async (name: string, config: unknown): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config));
  return path;
};

const run = async (argv: string[], extra: Partial<ProbeCliIo> = {}) => {
  let stdout = '';
  let stderr = '';
  const code = await runProbeCli(argv, {
    env: {},
    cwd: dir,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    ...extra,
  });
  return { code, stdout, stderr, lines: stdout.trimEnd().split('\n') };
};

const twoProbes = () => ({
  project: 'shop',
  probes: [
    {
      name: 'api-health',
      url: `${base}/health`,
      headers: { authorization: 'Bearer {{secret:cli-token}}' },
      expect: { json: [{ path: '$.status', equals: 'ok' }] },
    },
    { name: 'payments', url: `${base}/payments`, timeoutMs: 2000 },
  ],
});

describe('vigil probe --once', () => {
  it('prints a table of results and "1 passed, 1 failed" last, exit 1', async () => {
    // Prepare
    await writeConfig('two.json', twoProbes());
    // Act
    const { code, stdout, lines } = await run(['--once', '--config', 'two.json'], {
      env: { VIGIL_SECRET_CLI_TOKEN: SECRET },
    });
    // Assess
    expect(code).toBe(1);
    expect(lines[0]).toBe('Vigil: running 2 probes from two.json');
    const header = lines.find((l) => l.startsWith('PROBE'));
    expect(header).toMatch(/^PROBE\s+RESULT\s+STATUS\s+LATENCY\s+TLS\s+FAILURE$/);
    const up = lines.find((l) => l.startsWith('api-health'));
    const down = lines.find((l) => l.startsWith('payments'));
    expect(up).toMatch(/^api-health\s+✔ UP\s+200\s+\d+ ms\s+-$/);
    expect(down).toMatch(
      /^payments\s+✖ DOWN\s+503\s+\d+ ms\s+-\s+status: expected status 200, got 503$/,
    );
    expect(lines[lines.length - 1]).toBe('1 passed, 1 failed');
    // The secret went to the target, and nowhere else.
    expect(received.map((h) => h.authorization)).toContain(`Bearer ${SECRET}`);
    expect(stdout).not.toContain(SECRET);
  });

  it('exits 0 when every probe is up', async () => {
    // Prepare
    const path = await writeConfig('up.json', {
      probes: [{ name: 'api-health', url: `${base}/health` }],
    });
    // Act
    const { code, lines } = await run(['--once', `--config=${path}`]);
    // Assess
    expect(code).toBe(0);
    expect(lines[lines.length - 1]).toBe('1 passed, 0 failed');
  });

  it('prints one JSON line per probe with --json, the summary on stderr', async () => {
    // Prepare
    await writeConfig('two.json', twoProbes());
    // Act
    const { code, lines, stderr } = await run(['--once', '--config', 'two.json', '--json'], {
      env: { VIGIL_SECRET_CLI_TOKEN: SECRET },
    });
    // Assess
    expect(code).toBe(1);
    expect(lines).toHaveLength(2);
    const results = lines.map((l) => probeCompletedDetailSchema.parse(JSON.parse(l)));
    expect(results.map((r) => [r.metadata.probe, r.status])).toEqual([
      ['api-health', 'up'],
      ['payments', 'down'],
    ]);
    expect(results[0]?.metadata.project).toBe('shop');
    expect(results[0]?.metadata.correlationId).toBe(results[1]?.metadata.correlationId);
    expect(stderr).toBe('1 passed, 1 failed\n');
  });

  it('reads the config from VIGIL_CONFIG when --config is not given', async () => {
    // Prepare
    await writeConfig('env.json', { probes: [{ name: 'api-health', url: `${base}/health` }] });
    // Act
    const { code, lines } = await run(['--once'], { env: { VIGIL_CONFIG: 'env.json' } });
    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toBe('Vigil: running 1 probe from env.json');
  });

  it('reports a missing secret as a failed probe naming the variable to set', async () => {
    // Prepare
    await writeConfig('two.json', twoProbes());
    // Act
    const { code, lines } = await run(['--once', '--config', 'two.json']);
    // Assess
    expect(code).toBe(1);
    expect(lines.find((l) => l.startsWith('api-health'))).toContain(
      'secret: secret "cli-token" is not set: define the environment variable VIGIL_SECRET_CLI_TOKEN',
    );
    expect(lines[lines.length - 1]).toBe('0 passed, 2 failed');
  });

  it('shows TLS days and certificate warnings', async () => {
    // Prepare
    await writeConfig('tls.json', {
      probes: [{ name: 'secure', url: 'https://secure.example.com/', tlsExpiryDays: 30 }],
    });
    const fake: typeof probeHttp = async () => ({
      statusCode: 200,
      headers: {},
      body: '',
      latencyMs: 12.4,
      tls: { validTo: new Date(Date.now() + 10.5 * 86_400_000) },
    });
    // Act
    const { code, lines } = await run(['--once', '--config', 'tls.json'], { probeHttp: fake });
    // Assess
    expect(code).toBe(0);
    expect(lines.find((l) => l.startsWith('secure'))).toMatch(
      /^secure\s+✔ UP\s+200\s+12 ms\s+10 d$/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^⚠ secure: TLS certificate expires in 10 days \(.+\), within the 30-day warning window$/,
      ),
    );
    expect(lines[lines.length - 1]).toBe('1 passed, 0 failed');
  });

  it('prints what the probed endpoint answered inert: no escapes, bidi or workflow commands', async () => {
    // Prepare
    await writeConfig('hostile.json', {
      probes: [
        { name: 'site', url: 'https://site.example.com/', expect: { bodyContains: 'healthy' } },
      ],
    });
    const body =
      '\u001b]0;pwned\u0007\u009b2J \u202Eevil\u202C ##[error]forged \u2028::add-mask::tok';
    const fake: typeof probeHttp = async () => ({
      statusCode: 200,
      headers: {},
      body,
      latencyMs: 5,
    });
    // Act
    const table = await run(['--once', '--config', 'hostile.json'], { probeHttp: fake });
    const json = await run(['--once', '--config', 'hostile.json', '--json'], { probeHttp: fake });
    // Assess
    expect(table.code).toBe(1);
    for (const printed of [table.stdout, table.stderr, json.stdout, json.stderr]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      expect(printed).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2028]/);
      expect(printed).not.toContain('##[');
      for (const line of printed.split('\n')) expect(line.trimStart()).not.toMatch(/^::/);
    }
    expect(table.stdout).toContain('it starts with');
    expect(table.stdout).toContain('# #[error]forged');
    const detail = JSON.parse(json.lines[0] ?? '') as { failure: { message: string } };
    expect(detail.failure.message).toContain(body.replace(/\s+/g, ' ').slice(-20));
  });
});

describe('vigil probe: usage and config errors', () => {
  it('exits 2 naming the bad field of an invalid config', async () => {
    // Prepare
    await writeConfig('bad.json', {
      probes: [{ name: 'api', url: 'ftp://example.com/', timeoutMs: 50 }],
    });
    // Act
    const { code, stderr, stdout } = await run(['--once', '--config', 'bad.json']);
    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('probes.0.url: must be an http(s) URL');
    expect(stderr).toContain('probes.0.timeoutMs');
  });

  it('exits 2 when the config file does not exist', async () => {
    // Act
    const { code, stderr } = await run(['--once', '--config', 'missing.json']);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('Config file not found');
  });

  it.each([
    [['--config', 'x.json'], 'pass --once'],
    [['--once', '--bogus'], "Unknown option '--bogus'"],
    [['--once', 'extra'], 'Unexpected argument'],
    [['--once', '--config', ' '], '--config needs a file path'],
  ])('exits 2 on %j', async (argv, message) => {
    // Act
    const { code, stderr } = await run(argv);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage: vigil probe --once');
  });

  it('prints help with --help', async () => {
    // Act
    const { code, stdout } = await run(['--help']);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: vigil probe --once [--config FILE] [--json]');
  });

  it('says how to add probes when none is configured, exit 0', async () => {
    // Prepare
    await writeConfig('empty.json', { project: 'shop' });
    // Act
    const { code, stdout } = await run(['--once', '--config', 'empty.json']);
    const json = await run(['--once', '--config', 'empty.json', '--json']);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('No probes configured in empty.json.');
    expect(stdout).toContain('probes: [');
    expect(json.code).toBe(0);
    expect(json.stdout).toBe('');
    expect(json.stderr).toBe('No probes configured in empty.json.\n');
  });

  it('falls back to the built-in defaults (no probes) without a config', async () => {
    // Act
    const { code, stdout } = await run(['--once']);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('No probes configured in built-in defaults.');
  });

  it('formats an empty table as its header', () => {
    expect(formatTable([])).toEqual(['PROBE  RESULT  STATUS  LATENCY  TLS  FAILURE']);
  });

  it('names a failed step once in the table', () => {
    const [, row] = formatTable([
      {
        metadata: { probe: 'checkout' },
        status: 'down',
        statusCode: 500,
        latencyMs: 12,
        failure: {
          assertion: 'status',
          message: 'step "login": expected status 200, got 500',
          step: 'login',
        },
      } as unknown as ProbeCompletedDetail,
    ]);
    expect(row).toMatch(/ {2}step "login": expected status 200, got 500$/);
  });
});

describe("probe --once's browser check files", () => {
  it('are owner-only, in an owner-only folder, also one made before by a wider umask', async () => {
    // Prepare: the folder exists, readable by all (an earlier version, a umask of 022)
    const folder = join(dir, 'artifacts');
    await mkdir(folder, { mode: 0o755 });
    const body = Buffer.from('trace with a typed password');

    // Act
    const pointer = await folderArchive(folder).put({
      key: 'artifacts/abc.zip',
      body,
      contentType: 'application/zip',
      sha256: 'abc',
      metadata: {},
    });

    // Assess
    const file = join(folder, 'abc.zip');
    expect(await readFile(file)).toEqual(body);
    expect(pointer).toMatchObject({ bytes: body.byteLength, uri: `file://${file}` });
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
