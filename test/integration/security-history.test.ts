import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHistoryStore } from '../../functions/adapters/aws/dynamodb-history-store';
import { parseConfig } from '../../functions/core/config';
import { parseBusEvent } from '../../functions/core/events';
import { recordReport } from '../../functions/core/history/service';
import { ingest } from '../../functions/core/ingest/service';
import type { ArchiveReader } from '../../functions/core/ports';
import { MAX_STORED_FINGERPRINTS } from '../../functions/core/security/analysis';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher } from '../helpers/fakes';
import { createHistoryTable, type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

/**
 * The base comparison on the AWS adapters: ingest (core) records nothing itself; the history
 * service writes each security run with its fingerprints into DynamoDB (moto), and the next
 * ingest reads the base run back from the table's series to tell new findings from known ones.
 */

const withMoto = motoAvailable('security base comparison on DynamoDB (security-history.test.ts)');
const TABLE = 'vigil-security-history';
let moto: MotoServer;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  if (!withMoto) return;
  moto = await startMoto();
  dynamo = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await createHistoryTable(dynamo, TABLE);
});

afterAll(async () => {
  dynamo?.destroy();
  await moto?.stop();
});

const NPM = readFileSync(
  new URL('../fixtures/security/npm-audit-v2-audit-ci-allowlisted-path.json', import.meta.url),
  'utf8',
);

/** The npm audit report with one more (critical) vulnerable package. */
const withNewPackage = (): string => {
  const doc = JSON.parse(NPM) as { vulnerabilities: Record<string, unknown> };
  doc.vulnerabilities['left-pad'] = {
    name: 'left-pad',
    severity: 'critical',
    isDirect: true,
    via: [
      {
        source: 1,
        name: 'left-pad',
        title: 'Padding overflow',
        url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
        severity: 'critical',
        cwe: ['CWE-787'],
      },
    ],
    effects: [],
    range: '<1.3.1',
    nodes: ['node_modules/left-pad'],
    fixAvailable: true,
  };
  return JSON.stringify(doc);
};

describe.skipIf(!withMoto)('security runs in the DynamoDB history (moto)', () => {
  const pipeline = (iso: string) => {
    const store = new DynamoHistoryStore({ table: TABLE, client: dynamo });
    const archive = new MemoryArchive();
    const publisher = new MemoryPublisher();
    const reader: ArchiveReader = {
      get: async (p) => {
        const o = archive.objects.get(p.uri.replace('mem://', ''));
        if (!o) throw new Error(`no ${p.uri}`);
        return o.body;
      },
    };
    const config = parseConfig({ project: 'shop' });
    const clock = fixedClock(iso);
    const post = async (query: Record<string, string>, body: string) => {
      const { result } = await ingest(
        { query, body: Buffer.from(body), correlationId: `c-${query.runId}` },
        { config, publisher, archive, ledger: new MemoryLedger(), clock, history: store },
      );
      for (const e of publisher.events.splice(0))
        await recordReport(
          parseBusEvent({ source: e.source, 'detail-type': e.detailType, detail: e.detail }),
          {
            store,
            archive: reader,
            publisher,
            config,
            clock,
          },
        );
      return result;
    };
    return { store, post };
  };

  it('writes the base run with its fingerprints and compares the next run with it', async () => {
    const t1 = pipeline('2026-11-25T10:00:00.000Z');
    const base = await t1.post({ project: 'deps', branch: 'main', runId: 'base-1' }, NPM);
    expect(base.gate.status).toBe('fail'); // no base yet: its 3 high findings gate.
    const [stored] = await t1.store.series('deps', 'security', undefined, 'main', 5);
    expect(
      stored?.kind === 'security' && stored.summary.fingerprints[0]?.fingerprints,
    ).toHaveLength(3);

    const t2 = pipeline('2026-11-25T11:00:00.000Z');
    const pr = await t2.post(
      { project: 'deps', branch: 'feature/x', base: 'main', runId: 'pr-1' },
      withNewPackage(),
    );
    expect(pr.summary).toMatchObject({ findings: 4, new: 1, fixed: 0 });
    expect(pr.security?.bases).toEqual([
      { tool: 'npm audit', baseRunId: 'base-1', baseAt: '2026-11-25T10:00:00.000Z' },
    ]);
    expect(pr.security?.newFindings.map((f) => [f.severity, f.location, f.ruleId])).toEqual([
      ['critical', 'left-pad <1.3.1', 'GHSA-aaaa-bbbb-cccc'],
    ]);
    expect(pr.gate.status).toBe('fail');

    // The same report back on main, later: nothing new, the base being the previous main run.
    const t3 = pipeline('2026-11-25T12:00:00.000Z');
    const again = await t3.post({ project: 'deps', branch: 'main', runId: 'base-2' }, NPM);
    expect(again.gate.status).toBe('pass');
    expect(again.security?.bases[0]?.baseRunId).toBe('base-1');
  });

  it('keeps the fingerprints of a scan with thousands of findings within one item', async () => {
    const results = Array.from({ length: MAX_STORED_FINGERPRINTS + 500 }, (_, i) => ({
      ruleId: `rule-${i % 40}`,
      level: 'error',
      message: { text: `finding ${i}` },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: `src/f${i}.js` }, region: { startLine: 1 } },
        },
      ],
    }));
    const big = JSON.stringify({
      version: '2.1.0',
      runs: [{ tool: { driver: { name: 'Semgrep' } }, results }],
    });
    const t = pipeline('2026-11-26T10:00:00.000Z');
    await t.post({ project: 'big', branch: 'main', runId: 'big-1' }, big);
    const [run] = await t.store.series('big', 'security', undefined, 'main', 1);
    if (run?.kind !== 'security') throw new Error('no security run stored');
    expect(run.summary.findings).toBe(MAX_STORED_FINGERPRINTS + 500);
    expect(run.summary.fingerprints[0]?.fingerprints).toHaveLength(MAX_STORED_FINGERPRINTS);

    // The identical scan on a pull request: the 500 findings beyond the stored fingerprints are
    // unknown, not new, and the gate passes (it failed with 500 false "new" findings before).
    const pr = await t.post(
      { project: 'big', branch: 'feature', base: 'main', runId: 'big-pr' },
      big,
    );
    expect(pr.security?.newTotal).toBe(0);
    expect(pr.security?.unknownTotal).toBe(500);
    expect(pr.security?.bases[0]?.note).toBe(
      `the base run kept ${MAX_STORED_FINGERPRINTS} of its ${MAX_STORED_FINGERPRINTS + 500} fingerprints: findings not among them are unknown, not new`,
    );
    expect(pr.gate.status).toBe('pass');
  });
});
