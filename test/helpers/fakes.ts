import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { ArchivePointer, VigilEvent } from '../../functions/core/events';
import type {
  ArchiveInput,
  EventPublisher,
  LedgerClaim,
  PayloadArchive,
  RunLedger,
} from '../../functions/core/ports';
import type { RunEntry } from '../../functions/core/status/catalog';

/** In-memory port implementations for unit tests. */

export class MemoryPublisher implements EventPublisher {
  events: VigilEvent[] = [];
  failWith?: Error;
  async publish(events: VigilEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }
}

export class MemoryArchive implements PayloadArchive {
  objects = new Map<string, ArchiveInput>();
  async put(input: ArchiveInput): Promise<ArchivePointer> {
    // The body is lent (see ArchiveInput): keep a copy.
    this.objects.set(input.key, { ...input, body: Buffer.from(input.body) });
    return { uri: `mem://${input.key}`, bytes: input.body.byteLength, sha256: input.sha256 };
  }
}

export class MemoryLedger implements RunLedger {
  entries = new Map<
    string,
    { fingerprint: string; state: 'in_progress' | 'done'; response?: unknown }
  >();
  async claim(key: string, fingerprint: string): Promise<LedgerClaim> {
    const e = this.entries.get(key);
    if (!e) {
      this.entries.set(key, { fingerprint, state: 'in_progress' });
      return { state: 'new' };
    }
    if (e.fingerprint !== fingerprint)
      return { state: 'conflict', reason: 'different_content', fingerprint: e.fingerprint };
    if (e.state === 'in_progress') return { state: 'conflict', reason: 'in_progress' };
    return { state: 'duplicate', response: e.response };
  }
  async complete(key: string, fingerprint: string, response: unknown): Promise<void> {
    this.entries.set(key, { fingerprint, state: 'done', response });
  }
  async release(key: string): Promise<void> {
    if (this.entries.get(key)?.state === 'in_progress') this.entries.delete(key);
  }
}

export const fixedClock = (iso = '2026-11-25T10:00:00.000Z') => ({ now: () => new Date(iso) });

export const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/** An API Gateway HTTP API (payload v2) event, as API Gateway sends it. */
export const apiEvent = (opts: {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
}): APIGatewayProxyEventV2 => {
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const query = opts.query ?? {};
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: opts.path ?? '/v1/results',
    rawQueryString: new URLSearchParams(query).toString(),
    headers: opts.headers ?? {},
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: opts.method ?? 'POST',
        path: opts.path ?? '/v1/results',
        protocol: 'HTTP/1.1',
        sourceIp: '10.0.0.1',
        userAgent: 'test',
      },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: 1795600800000,
    },
    body: body?.toString('base64'),
    isBase64Encoded: body !== undefined,
  };
};

/** The Lambda context of an invocation of `functionName` with 29 s left. */
export const lambdaContext = (functionName: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: 'b3f2c7e0-0000-4000-8000-000000000001',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2026/11/25/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 29_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** A passing JUnit run of `shop` on main as the run catalog records it, with `over` applied. */
export const runEntry = (over: Partial<RunEntry> = {}): RunEntry => ({
  project: 'shop',
  runId: 'r1',
  kind: 'tests',
  format: 'junit',
  branch: 'main',
  ingestedAt: '2026-11-25T10:00:00.000Z',
  correlationId: 'c',
  gate: 'pass',
  facts: {},
  gateChecks: { status: 'pass', checks: [] },
  archive: { uri: 'mem://a', bytes: 1, sha256: 'a'.repeat(64) },
  normalized: { uri: 'mem://n', bytes: 1, sha256: 'b'.repeat(64) },
  ...over,
});
