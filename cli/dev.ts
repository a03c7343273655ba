import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envVarForSecret } from '../functions/adapters/local/env-secrets';
import { TOKEN_FILE, tokenList } from '../functions/adapters/local/token-file';
import type { VigilConfig } from '../functions/core/config';
import { dashboardUrlFor } from '../functions/core/config-access';
import { namesNoMachine } from '../functions/runtime/local/address';
import { type LocalPipeline, startLocal } from '../functions/runtime/local/runtime';
import { cachedCliText } from './build';
import { resolveConfig } from './config';

export interface DevIo {
  env: NodeJS.ProcessEnv;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /**
   * Whether stdout is a terminal. The token `dev` makes is printed only there: a log file or a
   * journal (systemd) keeps what it is given, so it gets the token file's path instead.
   */
  terminal?: boolean;
}

/** `text` as one word of a POSIX shell command. */
const shellWord = (text: string): string =>
  /^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

/** Shorter self-chosen tokens get a warning: guessed online at the rate the port answers. */
export const MIN_TOKEN_LENGTH = 20;

/**
 * What is risky in how it is set up, one line each: short tokens, an address beyond loopback
 * (and, for one that names no machine, that alert messages then link to no dashboard).
 */
const warnings = (env: NodeJS.ProcessEnv, host: string, config: VigilConfig): string[] => {
  const out: string[] = [];
  // Every token that opens something: the API's, the scrape's, each heartbeat's own.
  const tokenVariables = [
    'VIGIL_INGEST_TOKENS',
    'VIGIL_READ_TOKENS',
    'VIGIL_METRICS_TOKEN',
    ...config.heartbeats.flatMap((h) => (h.tokenSecret ? [envVarForSecret(h.tokenSecret)] : [])),
  ];
  for (const name of new Set(tokenVariables)) {
    const short = tokenList(env[name]).filter((t) => t.length < MIN_TOKEN_LENGTH).length;
    if (short > 0)
      out.push(
        `warning: ${name} holds ${short} token(s) shorter than ${MIN_TOKEN_LENGTH} characters, which can be guessed: use long random ones (openssl rand -base64 24)`,
      );
  }
  const unnamed =
    namesNoMachine(host) && dashboardUrlFor(config, 'local') === undefined
      ? '; alert messages carry no dashboard link until alerts.dashboardUrl names the address the team opens'
      : '';
  if (!/^(localhost|::1|127(\.\d{1,3}){3})$/.test(host))
    out.push(
      `warning: HOST=${host} lets other machines reach Vigil over plain HTTP, tokens and reports unencrypted: put a TLS proxy in front of it, or keep HOST=127.0.0.1${unnamed}`,
    );
  return out;
};

const parsePort = (value: string | undefined): number => {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a number from 0 to 65535, got "${value}"`);
  return port;
};

/** `vigil dev` / `npm start`: run the local pipeline and tell the user how to use it. */
export const runDev = async (io: DevIo): Promise<LocalPipeline> => {
  const { env } = io;
  const { config, source } = await resolveConfig(env);
  const tokens = tokenList(env.VIGIL_INGEST_TOKENS);
  const port = parsePort(env.PORT);
  const host = env.HOST || '127.0.0.1';
  const dataDir = resolve(env.VIGIL_DATA_DIR || '.vigil');
  const pipeline = await startLocal({
    config,
    dataDir,
    port,
    host,
    tokens,
    echoMetrics: env.VIGIL_ECHO_METRICS === 'true',
    cliFile: cachedCliText,
  }).catch((error: unknown) => {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `${host}:${port} is already in use (another Vigil, or another program): stop it, or start with PORT=<another port> (PORT=0 takes any free one).`,
    );
  });
  for (const warning of warnings(env, host, config)) io.stderr(`${warning}\n`);
  // An absolute path: the command works when pasted into a terminal opened anywhere.
  const sample = fileURLToPath(
    new URL('../test/fixtures/corpus/junit/datadog-java-gradle.xml', import.meta.url),
  );
  const tokenFile = join(dataDir, TOKEN_FILE);
  // The token as the commands below write it, the line that says where it is, and how to sign
  // in to the dashboard when its link cannot carry the token.
  const [token, tokenLine, signIn] = !pipeline.generatedToken
    ? [
        '$VIGIL_TOKEN',
        `  tokens:   ${pipeline.tokens.length} from VIGIL_INGEST_TOKENS`,
        'one of VIGIL_INGEST_TOKENS',
      ]
    : io.terminal
      ? [
          pipeline.tokens[0],
          `  token:    ${pipeline.tokens[0]}  (made at the first start, kept in the data dir's token file; set VIGIL_INGEST_TOKENS to choose your own)`,
          undefined,
        ]
      : [
          `$(cat ${shellWord(tokenFile)})`,
          `  token:    in ${tokenFile}  (printed only to a terminal; set VIGIL_INGEST_TOKENS to choose your own)`,
          `the token in ${tokenFile}`,
        ];
  io.stdout(
    [
      `Vigil local pipeline listening on ${pipeline.url}`,
      `  config:   ${source}`,
      `  data dir: ${dataDir}`,
      tokenLine,
      '',
      'Post a report:',
      `  curl -sS -H "Authorization: Bearer ${token}" --data-binary @${shellWord(sample)} \\`,
      `    "${pipeline.url}/v1/results?project=${config.project}&branch=main"`,
      'Then the metrics it made:',
      `  curl -sS -H "Authorization: Bearer ${token}" "${pipeline.url}/v1/metrics?project=${config.project}&name=TestsFailed"`,
      '',
      signIn === undefined
        ? `Dashboard: ${pipeline.url}/#token=${token}`
        : `Dashboard: ${pipeline.url}/  (sign in with ${signIn})`,
      '',
      `Health: ${pipeline.url}/v1/health`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  return pipeline;
};
