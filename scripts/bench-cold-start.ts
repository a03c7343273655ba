/**
 * `npm run bench:cold-start`: bundle size, module-initialisation time and first invocation of
 * every Lambda handler, each in a fresh Node process.
 *
 * Each entry is bundled exactly as NodejsFunction does (`bundleLikeNodejsFunction` from
 * lib/function-defaults.ts: its esbuild options, then its after-bundling commands), next to an
 * empty handler (`export const handler = async () => {}`) and the reference handler
 * (scripts/cold-start-reference.ts: Powertools Logger, Metrics and Tracer and one AWS SDK v3
 * client, nothing else), the least any Vigil function loads. Every bundle then runs RUNS times,
 * each time in a fresh Node process with the environment Lambda gives it (tracing active,
 * credentials in the environment, `--enable-source-maps`). The child loads the bundle as
 * Lambda's runtime does (`lambdaLoadSnippet`): that is the init, timed in wall-clock and CPU
 * time (CPU time is less disturbed by other work on the machine). Then it invokes the handler
 * once with a representative event: the first invocation. The table prints medians, and the
 * ratios of init and of init + first invocation to the reference handler's. Rounds are interleaved
 * (every handler and variant once, then again), so a busy machine slows all rows alike.
 *
 * The first invocation is a real one on loopback: AWS calls go to a stub on 127.0.0.1 that
 * answers like the services (PutEvents, GetItem, PutObject, Publish, ...) and keeps what it is
 * sent, so the events are the pipeline's own: the ingest's `Test Run Reported` feeds the
 * metrics and history functions, a failing probe's `Probe Completed` feeds the alert function,
 * and the alert's SNS message feeds notify. The probe and the webhook channel also target the
 * stub, and the X-Ray daemon is a local UDP socket. Work deferred from init to the first
 * invocation therefore shows in the last columns: only a lower init + first invocation is a
 * real gain.
 *
 * Two variants: without Sentry configured, and with `SENTRY_DSN` set (a loopback DSN nothing
 * listens on; these invocations succeed, so nothing is sent).
 *
 * Targets: every bundle ≤ 1 MiB; every handler's init ≤ 1.25× the reference handler's.
 * Options (env): BENCH_RUNS (default 7), BENCH_NODE (the Node binary; default this one, while
 * Lambda runs Node 22), BENCH_NODE_ARGS (extra flags for the measured processes, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/profiles`).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../functions/core/config';
import { configJsonHash } from '../functions/core/config-access';
import { loadVigilConfig } from '../lib/config';
import {
  bundleLikeNodejsFunction,
  functionEntry,
  lambdaLoadSnippet,
} from '../lib/function-defaults';

const FUNCTIONS = ['ingest', 'metrics', 'probe', 'alert', 'notify', 'history', 'status'] as const;
type FunctionName = (typeof FUNCTIONS)[number];
const EMPTY = 'empty';
const REFERENCE = 'reference';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const NODE = process.env.BENCH_NODE ?? process.execPath;
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SIZE_BUDGET_BYTES = 1024 * 1024;
const INIT_BUDGET_RATIO = 1.25;
const TOKEN = 'bench-token';
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

// ---------------------------------------------------------------------------------------------
// A loopback stand-in for the AWS APIs and the HTTP targets the handlers call.

interface Stored {
  body: Buffer;
  headers: Record<string, string>;
}

/** What the stub was sent: events put on a bus, SNS messages, S3 objects. */
const sent = {
  events: [] as Record<string, unknown>[],
  snsMessages: [] as { topicArn: string; message: string; subject?: string }[],
  objects: new Map<string, Stored>(),
};
/** Requests per API operation (or target path), printed as a check that the calls happen. */
const calls = new Map<string, number>();
const count = (what: string): void => {
  calls.set(what, (calls.get(what) ?? 0) + 1);
};
/** Status of `GET /health`, the probe's target. */
let healthStatus = 200;

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/**
 * The answer of a JSON-protocol service (EventBridge, DynamoDB, Secrets Manager) to the
 * operation in `X-Amz-Target`, or `undefined` for an operation the stub does not know.
 */
const jsonRpcAnswer = (target: string, input: Record<string, unknown>): unknown => {
  switch (target) {
    case 'AWSEvents.PutEvents': {
      const entries = (input.Entries as Record<string, unknown>[] | undefined) ?? [];
      sent.events.push(...entries);
      return {
        FailedEntryCount: 0,
        Entries: entries.map(() => ({ EventId: randomUUID() })),
      };
    }
    case 'AWSEvents.DescribeEventBus':
      return { Name: input.Name, Arn: `arn:aws:events:::${input.Name}` };
    case 'DynamoDB_20120810.DescribeTable':
      return { Table: { TableName: input.TableName, TableStatus: 'ACTIVE' } };
    case 'DynamoDB_20120810.Query':
    case 'DynamoDB_20120810.Scan':
      return { Items: [], Count: 0, ScannedCount: 0 };
    case 'DynamoDB_20120810.BatchGetItem':
      return { Responses: {}, UnprocessedKeys: {} };
    case 'secretsmanager.GetSecretValue':
      return {
        ARN: String(input.SecretId),
        Name: String(input.SecretId),
        SecretString: JSON.stringify({ tokens: [TOKEN] }),
      };
    default:
      // GetItem (nothing stored), PutItem, UpdateItem, DeleteItem, TransactWriteItems...
      return target.startsWith('DynamoDB_20120810.') ? {} : undefined;
  }
};

const answerJsonRpc = (target: string, body: string, res: ServerResponse, type: string): void => {
  const answer = jsonRpcAnswer(target, body ? (JSON.parse(body) as Record<string, unknown>) : {});
  res.writeHead(answer === undefined ? 400 : 200, { 'content-type': type });
  res.end(JSON.stringify(answer ?? { __type: 'UnknownOperationException', message: target }));
};

/** SNS (AWS query protocol): Publish only. */
const answerSns = (body: string, res: ServerResponse): void => {
  const form = new URLSearchParams(body);
  if (form.get('Action') !== 'Publish') {
    res.writeHead(400, { 'content-type': 'text/xml' });
    res.end('<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
    return;
  }
  // With MessageStructure=json, a Lambda subscriber gets the `lambda` message (else `default`).
  const message = form.get('Message') ?? '';
  const perProtocol =
    form.get('MessageStructure') === 'json'
      ? (JSON.parse(message) as Record<string, string | undefined>)
      : undefined;
  sent.snsMessages.push({
    topicArn: form.get('TopicArn') ?? '',
    message: perProtocol ? (perProtocol.lambda ?? perProtocol.default ?? '') : message,
    ...(form.get('Subject') ? { subject: form.get('Subject') ?? '' } : {}),
  });
  res.writeHead(200, { 'content-type': 'text/xml' });
  res.end(
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>' +
      `<MessageId>${randomUUID()}</MessageId></PublishResult></PublishResponse>`,
  );
};

/** S3, path style (clients.ts uses it with a custom endpoint): PutObject and GetObject. */
const answerS3 = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
  const key = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
  if (req.method === 'PUT') {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-encoding']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    sent.objects.set(key, { body, headers });
    res.writeHead(200, { etag: '"bench"' });
    res.end();
    return;
  }
  const stored = sent.objects.get(key);
  if (!stored) {
    res.writeHead(404, { 'content-type': 'application/xml' });
    res.end('<Error><Code>NoSuchKey</Code><Message>not found</Message></Error>');
    return;
  }
  res.writeHead(200, {
    ...stored.headers,
    'content-length': String(stored.body.length),
    etag: '"bench"',
    'last-modified': new Date().toUTCString(),
  });
  res.end(req.method === 'HEAD' ? undefined : stored.body);
};

const stub = createServer((req, res) => {
  void readBody(req).then((body) => {
    const target = req.headers['x-amz-target'];
    const signed = String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256');
    count(
      typeof target === 'string'
        ? target
        : signed
          ? req.url === '/'
            ? 'SNS'
            : `S3 ${req.method}`
          : `${req.method} ${req.url}`,
    );
    if (typeof target === 'string') {
      const type = String(req.headers['content-type'] ?? 'application/x-amz-json-1.1');
      return answerJsonRpc(target, body.toString('utf8'), res, type);
    }
    if (signed && req.method === 'POST' && req.url === '/') return answerSns(body.toString(), res);
    if (signed) return answerS3(req, body, res);
    if (req.url === '/health') {
      res.writeHead(healthStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: healthStatus === 200 ? 'ok' : 'degraded' }));
      return;
    }
    // The notify function's webhook channel.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});

// ---------------------------------------------------------------------------------------------

/** A PutEvents entry as EventBridge delivers it to a rule target. */
const busEventOf = (entry: Record<string, unknown>): Record<string, unknown> => ({
  version: '0',
  id: randomUUID(),
  'detail-type': entry.DetailType,
  source: entry.Source,
  account: ACCOUNT,
  time: new Date().toISOString(),
  region: REGION,
  resources: entry.Resources ?? [],
  detail: JSON.parse(String(entry.Detail)) as unknown,
});

const snsEventOf = (m: { topicArn: string; message: string; subject?: string }) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: `${m.topicArn}:${randomUUID()}`,
      Sns: {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: m.topicArn,
        Subject: m.subject ?? null,
        Message: m.message,
        Timestamp: new Date().toISOString(),
        SignatureVersion: '1',
        Signature: 'bench',
        SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/bench.pem',
        UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
        MessageAttributes: {},
      },
    },
  ],
});

const JUNIT =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<testsuite name="bench" tests="3" failures="1" time="0.6">\n' +
  '  <testcase classname="bench.a" name="passes" time="0.1"/>\n' +
  '  <testcase classname="bench.a" name="also passes" time="0.2"/>\n' +
  '  <testcase classname="bench.b" name="fails" time="0.3"><failure message="boom">trace</failure></testcase>\n' +
  '</testsuite>\n';

/** `POST /v1/results` as API Gateway (HTTP API, payload v2) hands it to the ingest function. */
const ingestEvent = (project: string) => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/v1/results',
  rawQueryString: `project=${project}&suite=unit&branch=main`,
  headers: {
    authorization: `Bearer ${TOKEN}`,
    'content-type': 'application/xml',
    'x-correlation-id': 'bench-correlation-id',
  },
  queryStringParameters: { project, suite: 'unit', branch: 'main' },
  requestContext: {
    accountId: ACCOUNT,
    apiId: 'bench',
    domainName: 'bench.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'bench',
    http: {
      method: 'POST',
      path: '/v1/results',
      protocol: 'HTTP/1.1',
      sourceIp: '192.0.2.1',
      userAgent: 'bench',
    },
    requestId: 'bench',
    routeKey: '$default',
    stage: '$default',
    time: '25/Nov/2026:10:00:00 +0000',
    timeEpoch: 1795600800000,
  },
  body: Buffer.from(JUNIT).toString('base64'),
  isBase64Encoded: true,
});

/** What a child process prints as its last line. */
interface Sample {
  init: number;
  /** CPU time (user + system) of the import: less disturbed by other work on the machine. */
  initCpu: number;
  first: number;
  /** `ok`, the HTTP status, or `threw <name>`. */
  outcome: string;
  /** The error's message, when the invocation threw. */
  error?: string;
}

/**
 * The child: time the loading of the bundle, then one invocation with a Lambda-like context; print the
 * figures as the last line and exit (open sockets and timers would keep it alive).
 */
const childScript = (file: string, event: unknown): string => `
const c0 = process.cpuUsage();
const t0 = performance.now();
const m = ${lambdaLoadSnippet(file)};
const t1 = performance.now();
const c1 = process.cpuUsage(c0);
const context = {
  functionName: 'vigil-bench', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:${REGION}:${ACCOUNT}:function:vigil-bench',
  awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/vigil-bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 29000,
  done() {}, fail() {}, succeed() {},
};
let outcome = 'ok';
let error;
try {
  const result = await m.handler(${JSON.stringify(event)}, context);
  if (result && typeof result.statusCode === 'number') outcome = String(result.statusCode);
} catch (e) {
  outcome = 'threw ' + (e?.name ?? 'error');
  error = String(e?.message ?? e).slice(0, 300);
}
const t2 = performance.now();
process.stdout.write('\\n' + JSON.stringify({ init: t1 - t0, initCpu: (c1.user + c1.system) / 1000, first: t2 - t1, outcome, error }) + '\\n', () => process.exit(0));
`;

const runChild = (file: string, event: unknown, env: Record<string, string>): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      NODE,
      [...NODE_ARGS, '--input-type=module', '-e', childScript(file, event)],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{'))
        return reject(new Error(`${file} exited ${code}: ${out.slice(-2000)}${err.slice(-2000)}`));
      resolve(JSON.parse(last) as Sample);
    });
  });

const outdir = mkdtempSync(join(tmpdir(), 'vigil-cold-start-'));
const xray = createSocket('udp4');
let xraySegments = 0;
xray.on('message', () => {
  xraySegments++;
});
try {
  const emptyEntry = join(outdir, 'empty-entry.ts');
  writeFileSync(emptyEntry, 'export const handler = async () => {};\n');
  const bundles = await bundleLikeNodejsFunction(
    {
      ...Object.fromEntries(FUNCTIONS.map((name) => [name, functionEntry(name)])),
      [EMPTY]: emptyEntry,
      [REFERENCE]: fileURLToPath(new URL('./cold-start-reference.ts', import.meta.url)),
    },
    join(outdir, 'dist'),
  );

  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => xray.bind(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;

  const loaded = await loadVigilConfig();
  // Validated as synth validates it: the functions trust a config whose hash matches.
  const config = parseConfig({
    ...loaded,
    probes: [{ name: 'bench-health', url: `${endpoint}/health`, failureThreshold: 1 }],
    alerts: { ...loaded.alerts, channels: [{ type: 'webhook', url: `${endpoint}/hook` }] },
  });
  const configJson = JSON.stringify(config);

  // What the stack and the Lambda runtime set. No call leaves the machine: AWS_ENDPOINT_URL
  // points every SDK client at the stub, and the X-Ray daemon is a local UDP socket.
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_OPTIONS: '--enable-source-maps',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'vigil-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    LAMBDA_TASK_ROOT: join(outdir, 'dist'),
    AWS_ACCESS_KEY_ID: 'ASIABENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-session',
    AWS_ENDPOINT_URL: endpoint,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${xray.address().port}`,
    _X_AMZN_TRACE_ID: 'Root=1-67a0b1c2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1',
    POWERTOOLS_SERVICE_NAME: 'vigil',
    POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    VIGIL_STAGE: 'dev',
    VIGIL_CONFIG_JSON: configJson,
    VIGIL_CONFIG_SHA256: configJsonHash(configJson),
    EVENT_BUS_NAME: 'vigil-bench-bus',
    ARCHIVE_BUCKET: 'vigil-bench-archive',
    ARCHIVE_BUCKET_DOMAIN: 'vigil-bench-archive.s3.us-east-1.amazonaws.com',
    LEDGER_TABLE: 'vigil-bench-ledger',
    HISTORY_TABLE: 'vigil-bench-history',
    STATUS_TABLE: 'vigil-bench-status',
    READ_TOKENS_SECRET_ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:vigil-bench-read-AbCdEf`,
    TOKENS_SECRET_ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:vigil-bench-AbCdEf`,
    SECRETS_PREFIX: 'vigil/dev/',
    ALERT_TABLE: 'vigil-bench-alerts',
    IDEMPOTENCY_TABLE: 'vigil-bench-idempotency',
    CRITICAL_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:vigil-bench-critical`,
    WARNING_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:vigil-bench-warning`,
  };
  const fileOf = (name: string): string => {
    const file = bundles[name];
    if (!file) throw new Error(`no bundle for ${name}`);
    return file;
  };

  // The events, produced by the handlers themselves: ingest → metrics and history; a failing
  // probe → alert → notify.
  const events = { ingest: ingestEvent(config.project), probe: { group: 'all' } } as Record<
    FunctionName | typeof EMPTY | typeof REFERENCE,
    unknown
  >;
  events[EMPTY] = {};
  events[REFERENCE] = {};
  const produce = async (name: FunctionName, check: () => boolean): Promise<void> => {
    const sample = await runChild(fileOf(name), events[name], baseEnv);
    if (!check())
      throw new Error(`the ${name} function produced no event for the next (${sample.outcome})`);
  };
  await produce('ingest', () => sent.events.length > 0);
  const testRun = sent.events.find((e) => e.DetailType === 'Test Run Reported');
  if (!testRun) throw new Error('the ingest function published no Test Run Reported event');
  events.metrics = busEventOf(testRun);
  events.history = busEventOf(testRun);
  // The status function's rule (EVENT_PATTERNS.status) takes reports, probe runs and alerts.
  events.status = busEventOf(testRun);
  healthStatus = 503;
  sent.events.length = 0;
  await produce('probe', () => sent.events.some((e) => e.DetailType === 'Probe Completed'));
  healthStatus = 200;
  const probeDown = sent.events.find((e) => e.DetailType === 'Probe Completed');
  if (probeDown) events.alert = busEventOf(probeDown);
  await produce('alert', () => sent.snsMessages.length > 0);
  const notification = sent.snsMessages[0];
  if (notification) events.notify = snsEventOf(notification);

  // Every round runs each handler once in each variant, so drift hits all rows alike.
  const names = [EMPTY, REFERENCE, ...FUNCTIONS] as const;
  // A handler invoked without an event would only measure its failure (undefined.source).
  const missing = names.filter((name) => events[name] === undefined);
  if (missing.length) throw new Error(`no sample event for ${missing.join(', ')}`);
  const variants = {
    'without Sentry (SENTRY_DSN unset)': baseEnv,
    'with SENTRY_DSN set': { ...baseEnv, SENTRY_DSN: 'http://publickey@127.0.0.1:9/1' },
  };
  const measured = new Map<string, Map<string, Sample[]>>(
    Object.keys(variants).map((v) => [v, new Map(names.map((n) => [n, []]))]),
  );
  for (let round = 0; round < RUNS; round++)
    for (const name of names)
      for (const [variant, env] of Object.entries(variants))
        measured
          .get(variant)
          ?.get(name)
          ?.push(await runChild(fileOf(name), events[name], env));

  const table = async (title: string): Promise<boolean> => {
    const samples = measured.get(title) ?? new Map<string, Sample[]>();
    const stats = (name: string) => {
      const s = samples.get(name) ?? [];
      return {
        init: median(s.map((x) => x.init)),
        initCpu: median(s.map((x) => x.initCpu)),
        total: median(s.map((x) => x.init + x.first)),
        outcomes: [...new Set(s.map((x) => x.outcome))].join(', '),
      };
    };
    const reference = stats(REFERENCE);
    console.log(`\n${title} (median of ${RUNS} fresh processes, ${NODE} ${await nodeVersion()})`);
    const rows: string[][] = [
      [
        'handler',
        'bundle KiB',
        'init ms',
        'x reference',
        'init CPU ms',
        'x reference',
        'init+1st ms',
        'x reference',
        '1st result',
        '',
      ],
    ];
    let ok = true;
    for (const name of names) {
      const bytes = statSync(fileOf(name)).size;
      const s = stats(name);
      const ratio = s.init / reference.init;
      const over = [
        bytes > SIZE_BUDGET_BYTES ? 'size > 1 MiB' : '',
        ratio > INIT_BUDGET_RATIO ? `init > ${INIT_BUDGET_RATIO}x reference` : '',
      ].filter(Boolean);
      if (over.length) ok = false;
      rows.push([
        name,
        (bytes / 1024).toFixed(0),
        s.init.toFixed(1),
        ratio.toFixed(2),
        s.initCpu.toFixed(1),
        (s.initCpu / reference.initCpu).toFixed(2),
        s.total.toFixed(1),
        (s.total / reference.total).toFixed(2),
        s.outcomes,
        over.join(', ') || 'ok',
      ]);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
    for (const row of rows)
      console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | '));
    for (const name of names) {
      const errors = new Set((samples.get(name) ?? []).flatMap((x) => (x.error ? [x.error] : [])));
      for (const error of errors) console.log(`  ${name} threw: ${error}`);
    }
    return ok;
  };

  let ok = true;
  for (const title of Object.keys(variants)) ok = (await table(title)) && ok;
  console.log(
    `\nstub calls: ${[...calls].map(([what, n]) => `${what} ${n}`).join(', ')}\n` +
      `X-Ray segments received on the local daemon socket: ${xraySegments}`,
  );
  console.log(
    `budgets (bundle ≤ 1 MiB, init ≤ ${INIT_BUDGET_RATIO}x reference): ` +
      (ok ? 'met' : 'NOT met (see the rows above)'),
  );
} finally {
  stub.close();
  xray.close();
  rmSync(outdir, { recursive: true, force: true });
}

async function nodeVersion(): Promise<string> {
  if (NODE === process.execPath) return process.version;
  const child = spawn(NODE, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const chunk of child.stdout) out += String(chunk);
  return out.trim();
}
