import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Archive } from '../../functions/adapters/aws/s3-archive';
import { S3ArchiveLinks } from '../../functions/adapters/aws/s3-archive-links';
import {
  MemoryIncidentStore,
  MemoryProbeHistoryStore,
  MemoryRunCatalog,
} from '../../functions/adapters/local/status-memory';
import { parseConfig } from '../../functions/core/config';
import type { VigilEvent } from '../../functions/core/events';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import { createStatusHandler } from '../../functions/status/handler';
import { apiEvent, fixedClock, MemoryLedger, MemoryPublisher } from '../helpers/fakes';
import { generateJunit } from '../helpers/generate-junit';
import {
  type MotoServer,
  motoArchiveReader,
  motoAvailable,
  motoS3,
  startMoto,
} from '../helpers/moto';

/**
 * The raw report download on AWS (`GET /v1/projects/{p}/runs/{id}/report`): the archive keeps
 * reports decompressed, so one posted gzipped can be far above what a Lambda function may
 * answer (6 MB). Such a report is answered with a presigned S3 GET instead; the archive on
 * moto_server, the rest in memory.
 */

const TOKEN = 'read-token';
const BUCKET = 'archive';
/** What a synchronous Lambda invocation may answer, its JSON envelope included. */
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;
const withMoto = motoAvailable('report-download.test.ts');

describe.skipIf(!withMoto)('raw report download with the S3 archive', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let deps: IngestHandlerDeps;
  let publisher: MemoryPublisher;

  beforeAll(async () => {
    moto = await startMoto();
    s3 = motoS3(moto);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const archive = new S3Archive({ bucket: BUCKET, client: s3 });
    publisher = new MemoryPublisher();
    // As functions/ingest/index.ts wires it.
    deps = {
      config: parseConfig({ project: 'shop' }),
      publisher,
      archive,
      archiveReader: motoArchiveReader(moto, BUCKET),
      archiveLinks: new S3ArchiveLinks({ bucket: BUCKET, client: s3 }),
      artifactUri: (name) => `s3://${BUCKET}/artifacts/${name}`,
      ledger: new MemoryLedger(),
      clock: fixedClock(),
      tokens: { tokens: async () => ['ingest-token'] },
      readTokens: { tokens: async () => [TOKEN] },
      version: 'test',
      status: {
        probes: new MemoryProbeHistoryStore(),
        incidents: new MemoryIncidentStore(),
        catalog: new MemoryRunCatalog(),
      },
    };
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  /** Ingest a report and record its run in the catalog, as the status function does. */
  const ingest = async (report: string, branch: string): Promise<string> => {
    const res = await createIngestHandler(deps)(
      apiEvent({
        query: { project: 'shop', branch },
        headers: { authorization: 'Bearer ingest-token', 'content-encoding': 'gzip' },
        body: gzipSync(report),
      }),
    );
    expect(res.statusCode).toBe(202);
    const status = createStatusHandler({
      ...(deps.status as NonNullable<IngestHandlerDeps['status']>),
      ttlDays: 90,
    });
    for (const e of publisher.events.splice(0) as VigilEvent[])
      await status({
        version: '0',
        id: 'x',
        source: e.source,
        account: 'local',
        time: '2026-11-25T10:00:00.000Z',
        region: 'local',
        resources: [],
        'detail-type': e.detailType,
        detail: e.detail,
      });
    return JSON.parse(res.body ?? '{}').runId;
  };

  const getReport = async (runId: string, headers: Record<string, string> = {}) => {
    const res = await createIngestHandler(deps)(
      apiEvent({
        method: 'GET',
        path: `/v1/projects/shop/runs/${runId}/report`,
        headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      }),
    );
    // What Lambda would have to send back: the whole result, serialized.
    expect(Buffer.byteLength(JSON.stringify(res))).toBeLessThan(LAMBDA_RESPONSE_LIMIT);
    return res;
  };

  it('links a report too large for a Lambda answer: 303 to a short-lived S3 GET, or JSON when asked', async () => {
    // Prepare: about 8 MB of JUnit (700 KB gzipped)
    const report = generateJunit({ cases: 60_000, withOutput: true, seed: 11 });
    expect(Buffer.byteLength(report)).toBeGreaterThan(LAMBDA_RESPONSE_LIMIT);
    const runId = await ingest(report, 'big');

    // Act
    const redirect = await getReport(runId);
    const asJson = await getReport(runId, { accept: 'application/json' });

    // Assess: the redirect names the file as the inline answer does, and serves the report
    expect(redirect.statusCode).toBe(303);
    const location = redirect.headers.location ?? '';
    const link = new URL(location);
    expect(link.pathname).toMatch(new RegExp(`/${BUCKET}/shop/.+/${runId}\\.xml$`));
    expect(link.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(link.searchParams.get('response-content-type')).toBe('text/plain; charset=utf-8');
    expect(link.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="${runId}.xml"`,
    );
    expect(redirect.headers['cache-control']).toBe('no-store');
    const served = await fetch(location);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(report);
    // A script (the dashboard) cannot read a redirect to S3: it gets the same link as JSON.
    expect(asJson.statusCode).toBe(200);
    expect(JSON.parse(asJson.body ?? '{}')).toMatchObject({
      url: expect.stringContaining(`/${runId}.xml?`),
      fileName: `${runId}.xml`,
      bytes: Buffer.byteLength(report),
    });
  });

  it('still answers a report that fits inline, whatever the client accepts', async () => {
    // Prepare
    const report = generateJunit({ cases: 50, seed: 12 });
    const runId = await ingest(report, 'small');

    // Act
    const res = await getReport(runId, { accept: 'application/json, */*;q=0.5' });

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`inline; filename="${runId}.xml"`);
    expect(res.body).toBe(report);
  });

  it("links a browser check's trace too large to answer inline, and answers a small one", async () => {
    // Prepare: a 5 MiB trace and a small one, archived as a browser check archives them
    const get = async (bytes: Buffer, accept?: string) => {
      const name = `${createHash('sha256').update(bytes).digest('hex')}.zip`;
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `artifacts/${name}`, Body: bytes }),
      );
      const res = await createIngestHandler(deps)(
        apiEvent({
          method: 'GET',
          path: `/v1/artifacts/${name}`,
          query: { bytes: String(bytes.byteLength) },
          headers: { authorization: `Bearer ${TOKEN}`, ...(accept ? { accept } : {}) },
        }),
      );
      expect(Buffer.byteLength(JSON.stringify(res))).toBeLessThan(LAMBDA_RESPONSE_LIMIT);
      return { name, res };
    };
    const large = randomBytes(5 * 1024 * 1024);
    const small = randomBytes(1024);

    // Act
    const linked = await get(large);
    const asJson = await get(large, 'application/json');
    const inline = await get(small);

    // Assess
    expect(linked.res.statusCode).toBe(303);
    const link = new URL(linked.res.headers.location ?? '');
    expect(link.searchParams.get('response-content-type')).toBe('application/zip');
    expect(link.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="${linked.name}"`,
    );
    const served = await fetch(link);
    expect(Buffer.from(await served.arrayBuffer()).equals(large)).toBe(true);
    expect(JSON.parse(asJson.res.body ?? '{}')).toMatchObject({
      fileName: linked.name,
      bytes: large.byteLength,
    });
    expect(inline.res.statusCode).toBe(200);
    expect(Buffer.from(inline.res.body ?? '', 'base64').equals(small)).toBe(true);
  });
});
