import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalPipeline, startLocal } from '../functions/runtime/local/runtime';
import { cachedCliText } from './build';
import { resolveConfig } from './config';

export interface DevIo {
  env: NodeJS.ProcessEnv;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

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
  const tokens = (env.VIGIL_INGEST_TOKENS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const port = parsePort(env.PORT);
  const host = env.HOST || '127.0.0.1';
  const pipeline = await startLocal({
    config,
    dataDir: env.VIGIL_DATA_DIR || '.vigil',
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
  // An absolute path: the command works when pasted into a terminal opened anywhere.
  const sample = fileURLToPath(
    new URL('../test/fixtures/corpus/junit/datadog-java-gradle.xml', import.meta.url),
  );
  const token = pipeline.generatedToken ? pipeline.tokens[0] : '$VIGIL_TOKEN';
  io.stdout(
    [
      `Vigil local pipeline listening on ${pipeline.url}`,
      `  config:   ${source}`,
      `  data dir: ${resolve(env.VIGIL_DATA_DIR || '.vigil')}`,
      pipeline.generatedToken
        ? `  token:    ${token}  (made at the first start, kept in the data dir's token file; set VIGIL_INGEST_TOKENS to choose your own)`
        : `  tokens:   ${pipeline.tokens.length} from VIGIL_INGEST_TOKENS`,
      '',
      'Post a report:',
      `  curl -sS -H "Authorization: Bearer ${token}" --data-binary @${sample} \\`,
      `    "${pipeline.url}/v1/results?project=${config.project}&branch=main"`,
      'Then the metrics it made:',
      `  curl -sS -H "Authorization: Bearer ${token}" "${pipeline.url}/v1/metrics?project=${config.project}&name=TestsFailed"`,
      '',
      pipeline.generatedToken
        ? `Dashboard: ${pipeline.url}/#token=${token}`
        : `Dashboard: ${pipeline.url}/  (sign in with one of VIGIL_INGEST_TOKENS)`,
      '',
      `Health: ${pipeline.url}/v1/health`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  return pipeline;
};
