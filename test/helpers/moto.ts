import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { HISTORY_TABLE_KEYS } from '../../functions/adapters/aws/dynamodb-history-store';
import { S3ArchiveReader } from '../../functions/adapters/aws/s3-archive-reader';
import { requireTools, TOOLS } from './requires';

/** A running `moto_server` on 127.0.0.1, empty when a test file gets it. */
export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Whether `moto_server` is on PATH. A suite that needs it calls this once at module level
 * and wraps its moto tests in `describe.skipIf(!withMoto)`: without moto_server the file
 * prints one line saying so (and fails in CI).
 */
export const motoAvailable = (suite: string): boolean => requireTools(suite, [TOOLS.moto]);

const HOST = '127.0.0.1';
const MOTO_SITE = fileURLToPath(new URL('./moto-site', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;
const PORT_ATTEMPTS = 3;

/** Ask the OS for a free TCP port by binding to port 0 and releasing it again. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Kill a whole process group: `moto_server` may be a shim that starts python as a child. */
const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
};

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

const stopChild = async (child: ChildProcess): Promise<void> => {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child.pid, 'SIGTERM');
  // moto holds no state worth flushing; do not let a slow shutdown stall afterAll.
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 1_000);
  await done;
  clearTimeout(timer);
};

/**
 * Who answers at `endpoint`: moto (served by Werkzeug, its `/moto-api/data.json` a JSON
 * object), another server (one of the tests' that took the port between `freePort()` and moto's
 * bind: moto then fails to start, and once answered "ok" to DynamoDB calls), or no one yet.
 */
const whoAnswers = async (endpoint: string): Promise<'moto' | 'other' | 'none'> => {
  let res: Response;
  try {
    res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(500) });
  } catch {
    return 'none';
  }
  try {
    const werkzeug = /^werkzeug\//i.test(res.headers.get('server') ?? '');
    const body: unknown = res.ok && werkzeug ? await res.json() : undefined;
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? 'moto' : 'other';
  } catch {
    return 'other';
  }
};

interface Launch {
  /** A registry file: the server is shared and watches this process (the Vitest main). */
  shared?: { owner: number; registry: string };
}

/**
 * Spawn moto_server in a process group of its own. A shared server outlives the test file:
 * a shell started with it watches the owner and takes the group down (and removes the
 * registry) within a second of the owner's exit, or of moto's; its log goes to a file, as no
 * one reads a pipe once the file that started it is done.
 */
const spawnMoto = (
  port: number,
  { shared }: Launch,
): { child: ChildProcess; stderr: () => string } => {
  const env = {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    // sitecustomize.py there makes DynamoDB's conditional writes atomic, as in AWS.
    PYTHONPATH: [MOTO_SITE, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
  };
  if (shared === undefined) {
    const child = spawn('moto_server', ['-p', String(port), '-H', HOST], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let tail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // Keep only the tail: moto logs every request to stderr.
      tail = (tail + chunk).slice(-4_000);
    });
    return { child, stderr: () => tail };
  }
  const { owner, registry } = shared;
  const log = `${registry}.log`;
  const script =
    `moto_server -p ${port} -H ${HOST} >/dev/null 2>"${log}" & m=$!; ` +
    `while kill -0 ${owner} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; ` +
    `rm -f "${registry}" "${log}"; kill 0`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', env });
  return {
    child,
    stderr: () => {
      try {
        return readFileSync(log, 'utf8').slice(-4_000);
      } catch {
        return '';
      }
    },
  };
};

type Attempt =
  | { ok: true; child: ChildProcess; endpoint: string }
  | { ok: false; retry: boolean; error: Error };

const attempt = async (launch: Launch): Promise<Attempt> => {
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  const { child, stderr } = spawnMoto(port, launch);
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) {
      return {
        ok: false,
        retry: false,
        error: new Error(`could not start moto_server: ${spawnError.message}`),
      };
    }
    if (exited(child)) {
      // Most likely someone grabbed the port between freePort() and the bind.
      return {
        ok: false,
        retry: true,
        error: new Error(
          `moto_server exited early (code ${child.exitCode}, signal ${child.signalCode}); stderr:\n${stderr()}`,
        ),
      };
    }
    const who = await whoAnswers(endpoint);
    if (who === 'other') {
      await stopChild(child);
      return {
        ok: false,
        retry: true,
        error: new Error(`another server answers on ${endpoint}, where moto_server was to start`),
      };
    }
    if (who === 'moto') {
      child.stderr?.removeAllListeners('data');
      child.stderr?.resume();
      return { ok: true, child, endpoint };
    }
    await delay(POLL_INTERVAL_MS);
  }
  await stopChild(child);
  return {
    ok: false,
    retry: false,
    error: new Error(
      `moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s; stderr:\n${stderr()}`,
    ),
  };
};

const launch = async (how: Launch): Promise<{ child: ChildProcess; endpoint: string }> => {
  let last: Error | undefined;
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const result = await attempt(how);
    if (result.ok) return result;
    last = result.error;
    if (!result.retry) break;
  }
  throw last ?? new Error('moto_server failed to start');
};

/** A server of this file's own, stopped (process group killed) by `stop()`. */
const ownServer = async (): Promise<MotoServer> => {
  const { child, endpoint } = await launch({});
  // Should the test process exit without calling stop(), take the server down with it.
  const onExit = (): void => killGroup(child.pid, 'SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  return { endpoint, stop: () => stopChild(child) };
};

const reset = async (endpoint: string): Promise<void> => {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto_server reset answered ${res.status}`);
};

/**
 * One server per Vitest pool slot (`VITEST_POOL_ID`), reused by the files that run there one
 * after another: moto_server costs ~1.5 s of CPU to start and more to load each service, ten
 * files paid it ten times. A slot runs one file at a time, so a file has its server to itself;
 * it is reset (every service emptied) before the file gets it.
 */
const sharedServer = async (slot: string): Promise<string> => {
  const owner = process.ppid;
  const registry = join(tmpdir(), `vigil-moto-${owner}-${slot}.json`);
  try {
    const { endpoint } = JSON.parse(readFileSync(registry, 'utf8')) as { endpoint: string };
    if ((await whoAnswers(endpoint)) === 'moto') {
      await reset(endpoint);
      return endpoint;
    }
  } catch {
    // First file in this slot.
  }
  const { child, endpoint } = await launch({ shared: { owner, registry } });
  child.unref();
  writeFileSync(registry, JSON.stringify({ endpoint }));
  return endpoint;
};

let shared: Promise<string> | undefined;

/**
 * A `moto_server` on a free port that answers HTTP and holds no resources. Under Vitest the
 * server of the worker's pool slot (see `sharedServer`), emptied at each call: call it once
 * per file, in `beforeAll`. Elsewhere a server of the caller's own. `stop()` it in `afterAll`.
 */
export const startMoto = async (): Promise<MotoServer> => {
  const slot = process.env.VITEST_POOL_ID;
  if (slot === undefined) return ownServer();
  if (shared === undefined) {
    shared = sharedServer(slot);
    return { endpoint: await shared, stop: async () => undefined };
  }
  // A later file in the same worker (suites that share a module registry).
  const endpoint = await shared;
  await reset(endpoint);
  return { endpoint, stop: async () => undefined };
};

/** An S3 client of `moto` (path-style: moto serves buckets on its own host). */
export const motoS3 = (moto: MotoServer): S3Client =>
  new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

/**
 * The reader of the archive `bucket` on `moto`, as the Lambda functions make it
 * (`archiveReader` in functions/adapters/aws/lambda-entry.ts): a DynamoDB client's
 * configuration signs its GETs.
 */
export const motoArchiveReader = (
  moto: MotoServer,
  bucket: string,
  prefix?: string,
): S3ArchiveReader =>
  new S3ArchiveReader({
    bucket,
    ...(prefix === undefined ? {} : { prefix }),
    endpoint: { url: moto.endpoint, pathStyle: true },
    client: new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  });

/**
 * The history table as the CDK stack creates it (keys, flaky index and TTL from
 * HISTORY_TABLE_KEYS, the same constant the adapter and lib/ use).
 */
export const createHistoryTable = async (dynamo: DynamoDBClient, table: string): Promise<void> => {
  const { partitionKey, sortKey, ttl, flakyIndex } = HISTORY_TABLE_KEYS;
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: sortKey, AttributeType: 'S' },
        { AttributeName: flakyIndex.partitionKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: flakyIndex.name,
          KeySchema: [
            { AttributeName: flakyIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: flakyIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
    }),
  );
};

/** The alert table as the CDK stack creates it (string `pk` and `sk`; see dynamodb-alert-store.ts). */
export const createAlertTable = async (dynamo: DynamoDBClient, table: string): Promise<void> => {
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
};
