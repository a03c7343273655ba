import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalMetricStore } from '../../functions/adapters/local/metric-store';
import { createLocalMetrics } from '../../functions/adapters/local/metrics';
import { parseConfig } from '../../functions/core/config';
import { PIPELINE_METRICS } from '../../functions/core/metrics/catalog';
import { createIngestHandler } from '../../functions/ingest/handler';
import { validateEmf } from '../helpers/emf';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';

const GRADLE = readFileSync('test/fixtures/corpus/junit/datadog-java-gradle.xml');
const TOKEN = 'metrics-token';

const setup = () => {
  const store = new LocalMetricStore();
  const lines: string[] = [];
  const metrics = createLocalMetrics(store, {
    namespace: 'Vigil',
    serviceName: 'vigil',
    echo: (line) => lines.push(line),
  });
  const handler = createIngestHandler({
    config: parseConfig({}),
    stage: 'dev',
    publisher: new MemoryPublisher(),
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(),
    tokens: { tokens: async () => [TOKEN] },
    version: '1.2.3',
    metrics,
  });
  return { store, lines, handler };
};

const post = (query: Record<string, string>, headers: Record<string, string> = {}) =>
  apiEvent({
    query,
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body: GRADLE,
  });

describe('ingest pipeline metrics', () => {
  it('counts reports ingested by format and outcome, as valid EMF', async () => {
    // Prepare
    const { store, lines, handler } = setup();
    // Act
    await handler(post({ project: 'shop', runId: 'r1' }));
    await handler(post({ project: 'shop', runId: 'r1' }));
    // Assess
    const name = PIPELINE_METRICS.reportsIngested.name;
    expect(
      store.query({ name, dimensions: { Format: 'junit', Outcome: 'accepted' } }),
    ).toHaveLength(1);
    expect(
      store.query({ name, dimensions: { Format: 'junit', Outcome: 'duplicate' } }),
    ).toHaveLength(1);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(validateEmf(line)).toEqual([]);
      const doc = JSON.parse(line) as {
        _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] };
      };
      // Bounded dimensions only: never the project or the run id.
      expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'Format', 'Outcome']]);
      expect(line).not.toMatch(/"(shop|r1)"/);
    }
  });

  it('counts rejected inputs by error code', async () => {
    // Prepare
    const { store, lines, handler } = setup();
    // Act
    await handler(post({ project: 'shop' }, { authorization: 'Bearer wrong' }));
    await handler(post({}));
    await handler(apiEvent({ method: 'GET', path: '/nope' }));
    // Assess
    const name = PIPELINE_METRICS.inputsRejected.name;
    const codes = store.query({ name }).map((p) => p.dimensions.Code);
    expect(codes).toEqual(['unauthorized', 'bad_request', 'not_found']);
    for (const line of lines) expect(validateEmf(line)).toEqual([]);
  });

  it('emits nothing for a health check', async () => {
    // Prepare
    const { lines, handler } = setup();
    // Act
    await handler(apiEvent({ method: 'GET', path: '/v1/health' }));
    // Assess
    expect(lines).toEqual([]);
  });
});
