import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../functions/adapters/local/config-file';
import { EnvSecretResolver } from '../functions/adapters/local/env-secrets';
import type { VigilConfig } from '../functions/core/config';
import type { ProbeCompletedDetail } from '../functions/core/events';
import { type PayloadArchive, systemClock } from '../functions/core/ports';
import { failureText } from '../functions/core/probes/outcome';
import { runProbes } from '../functions/core/probes/run';
import { createBrowserProber } from '../functions/shared/browser-probe';
import {
  createHttpProber,
  type ProbeHttpOptions,
  type probeHttp,
} from '../functions/shared/http-probe';
import { resolveConfig } from './config';
import { jsonLine, logLine } from './feedback/answer';

/**
 * `vigil probe --once`: run every configured probe once, right here, and print what each
 * found, the way to develop probes before deploying them. Nothing is published.
 */

export interface ProbeCliIo {
  env: NodeJS.ProcessEnv;
  /** Receives whole lines, each ending in `\n`. */
  stdout: (s: string) => void;
  /** Receives whole lines, each ending in `\n`. */
  stderr: (s: string) => void;
  /** Where relative config paths start. Default `process.cwd()`. */
  cwd?: string;
  /** The HTTP probe (tests inject one). */
  probeHttp?: typeof probeHttp;
  /** TLS options for the HTTP probe (e.g. a test CA). */
  tls?: Pick<ProbeHttpOptions, 'ca' | 'rejectUnauthorized'>;
}

export const PROBE_EXIT = { ok: 0, down: 1, usage: 2 } as const;

/**
 * A failed browser check's screenshot and trace, as plain files in one folder, owner-only as
 * `vigil dev` keeps them: a trace holds what the script typed, passwords included.
 */
export const folderArchive = (dir: string): PayloadArchive => ({
  put: async (input) => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Also when it was made before, or by a wider umask.
    await chmod(dir, 0o700);
    const path = join(dir, basename(input.key));
    await writeFile(path, input.body, { mode: 0o600 });
    await chmod(path, 0o600);
    return { uri: pathToFileURL(path).href, bytes: input.body.byteLength, sha256: input.sha256 };
  },
});

export const PROBE_USAGE = `Usage: vigil probe --once [--config FILE] [--json]

Runs every probe in the config once and prints the results (nothing is published).

Options:
  --once          run each probe once (continuous probing runs in \`vigil dev\` and on AWS)
  --config FILE   config file (default: $VIGIL_CONFIG, else ./vigil.config.{ts,mts,js,mjs,json})
  --json          print one JSON line per probe: the Probe Completed event detail
  -h, --help      show this help

Header values may use {{secret:NAME}}: set VIGIL_SECRET_NAME (upper case, other characters
as _) in the environment.

Exit codes: 0 every probe is up (or none is configured), 1 a probe is down,
2 usage or config error.
`;

const NO_PROBES = `Add probes to the config, for example:

  probes: [
    { name: 'api-health', url: 'https://api.example.com/health',
      expect: { status: [200], maxLatencyMs: 1000 } },
  ],
`;

type Parsed =
  | { kind: 'help' }
  | { kind: 'error'; message: string }
  | { kind: 'ok'; config?: string; json: boolean };

const parse = (argv: string[]): Parsed => {
  let values: { once?: boolean; config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        once: { type: 'boolean' },
        config: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  if (values.help) return { kind: 'help' };
  if (!values.once)
    return {
      kind: 'error',
      message: 'pass --once (continuous probing runs in `vigil dev` and on AWS)',
    };
  if (values.config !== undefined && values.config.trim() === '')
    return { kind: 'error', message: '--config needs a file path' };
  return { kind: 'ok', config: values.config, json: values.json === true };
};

const pad = (rows: string[][]): string[] => {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
};

/** The result table: one row per probe. */
export const formatTable = (results: readonly ProbeCompletedDetail[]): string[] =>
  pad([
    ['PROBE', 'RESULT', 'STATUS', 'LATENCY', 'TLS', 'FAILURE'],
    ...results.map((r) => [
      r.metadata.probe,
      r.status === 'up' ? '✔ UP' : '✖ DOWN',
      r.statusCode === undefined ? '-' : String(r.statusCode),
      `${Math.round(r.latencyMs)} ms`,
      r.tls ? `${r.tls.daysRemaining} d` : '-',
      r.failure ? failureText(r.failure) : '',
    ]),
  ]);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const runProbeCli = async (argv: string[], io: ProbeCliIo): Promise<number> => {
  // The failures quote what the probed endpoint answered: inert lines only (see logLine).
  const out = (line: string) => io.stdout(`${logLine(line)}\n`);
  const err = (line: string) => io.stderr(`${logLine(line)}\n`);
  const parsed = parse(argv);
  if (parsed.kind === 'help') {
    io.stdout(PROBE_USAGE);
    return PROBE_EXIT.ok;
  }
  if (parsed.kind === 'error') {
    err(`vigil probe: ${parsed.message}`);
    err('');
    io.stderr(PROBE_USAGE);
    return PROBE_EXIT.usage;
  }

  const cwd = io.cwd ?? process.cwd();
  let config: VigilConfig;
  let source: string;
  try {
    if (parsed.config !== undefined) {
      config = await loadConfigFile(resolve(cwd, parsed.config));
      source = parsed.config;
    } else ({ config, source } = await resolveConfig(io.env, cwd));
  } catch (e) {
    err(`vigil probe: ${e instanceof Error ? e.message : String(e)}`);
    return PROBE_EXIT.usage;
  }

  if (config.probes.length === 0) {
    const message = `No probes configured in ${source}.`;
    if (parsed.json) err(message);
    else {
      out(message);
      io.stdout(NO_PROBES);
    }
    return PROBE_EXIT.ok;
  }

  if (!parsed.json) out(`Vigil: running ${plural(config.probes.length, 'probe')} from ${source}`);
  const secrets = new EnvSecretResolver(io.env);
  const artifactsDir = resolve(cwd, io.env.VIGIL_DATA_DIR || '.vigil', 'artifacts');
  const probe = createHttpProber({
    secrets,
    ...io.tls,
    ...(io.probeHttp ? { probeHttp: io.probeHttp } : {}),
    browser: createBrowserProber({ secrets, archive: folderArchive(artifactsDir) }),
  });
  const results = await runProbes(
    config.probes,
    { probe, clock: systemClock },
    { correlationId: randomUUID(), location: 'local', defaultProject: config.project },
  );

  const failed = results.filter((r) => r.status === 'down').length;
  const summary = `${results.length - failed} passed, ${failed} failed`;
  if (parsed.json) {
    for (const r of results) out(jsonLine(r));
    err(summary);
  } else {
    out('');
    for (const line of formatTable(results)) out(line);
    const warnings = results.flatMap((r) => r.warnings.map((w) => `⚠ ${r.metadata.probe}: ${w}`));
    const kept = results.flatMap((r) =>
      (r.artifacts ?? []).map(
        (a) => `${r.metadata.probe}: ${a.kind} ${join(artifactsDir, a.name)}`,
      ),
    );
    if (kept.length > 0) out('');
    for (const k of kept) out(k);
    if (warnings.length > 0) out('');
    for (const w of warnings) out(w);
    out('');
    out(summary);
  }
  return failed > 0 ? PROBE_EXIT.down : PROBE_EXIT.ok;
};
