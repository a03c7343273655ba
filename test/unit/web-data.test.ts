import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MemoryIncidentStore,
  MemoryProbeHistoryStore,
  MemoryRunCatalog,
} from '../../functions/adapters/local/status-memory';
import { parseConfig } from '../../functions/core/config';
import { publicData } from '../../functions/web/data';
import { apiEvent } from '../helpers/fakes';

/** The web handler's public data wired to the status stores, and the Lambda entry around it. */

const clock = { now: () => new Date('2026-11-25T12:00:00.000Z') };
const pointer = { uri: 'file:///x', bytes: 1, sha256: 'a'.repeat(64) };

const stores = async () => {
  const catalog = new MemoryRunCatalog();
  await catalog.record({
    project: 'shop',
    runId: 'r1',
    kind: 'coverage',
    format: 'lcov',
    branch: 'main',
    ingestedAt: '2026-11-25T11:00:00.000Z',
    correlationId: 'c1',
    gate: 'fail',
    facts: { coverage: { lines: 71.5, branches: 60, functions: 80 } },
    gateChecks: { status: 'fail', checks: [] },
    archive: pointer,
    normalized: pointer,
  });
  return {
    probes: new MemoryProbeHistoryStore(clock),
    incidents: new MemoryIncidentStore(),
    catalog,
  };
};

describe('publicData', () => {
  it('answers each badge kind from the stores and says which are public', async () => {
    const config = parseConfig({
      project: 'shop',
      probes: [{ name: 'api', url: 'https://shop.example.com/health' }],
      badges: { public: { projects: ['shop'], probes: ['api'] } },
    });
    const { badges, status } = publicData({ ...(await stores()), config, clock });
    expect(status).toBeUndefined(); // no statusPage in the config
    expect(badges.isPublic({ kind: 'gate', project: 'shop' })).toBe(true);
    expect(badges.isPublic({ kind: 'coverage', project: 'other' })).toBe(false);
    expect(badges.isPublic({ kind: 'uptime', project: 'shop', probe: 'api' })).toBe(true);
    expect(badges.isPublic({ kind: 'uptime', project: 'other', probe: 'api' })).toBe(false);
    expect(await badges.badge({ kind: 'gate', project: 'shop' })).toMatchObject({
      message: 'failing',
      tone: 'bad',
    });
    expect(await badges.badge({ kind: 'coverage', project: 'shop', branch: 'main' })).toMatchObject(
      {
        message: '71.5%',
      },
    );
    expect(await badges.badge({ kind: 'uptime', project: 'shop', probe: 'api' })).toMatchObject({
      tone: 'unknown',
    });
  });

  it('serves the public status only when the config has a statusPage', async () => {
    const config = parseConfig({
      probes: [{ name: 'api', url: 'https://api.example.com/' }],
      statusPage: { title: 'Shop', components: [{ name: 'API', probes: ['api'] }] },
    });
    const { status } = publicData({ ...(await stores()), config, clock });
    expect(await status?.()).toMatchObject({ title: 'Shop', components: [{ name: 'API' }] });
  });
});

describe('web Lambda entry', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.doUnmock('../../functions/web/assets');
    vi.resetModules();
  });

  it('reads its files once, on the first request, and serves them', async () => {
    for (const [k, v] of Object.entries({
      VIGIL_CONFIG_JSON: JSON.stringify(parseConfig({})),
      STATUS_TABLE: 'status',
      TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:t',
      READ_TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:r',
    }))
      vi.stubEnv(k, v);
    const reads: string[] = [];
    vi.resetModules();
    vi.doMock('../../functions/web/assets', async (actual) => ({
      ...(await actual<typeof import('../../functions/web/assets')>()),
      readAssetDir: async (dir: string) => {
        reads.push(dir);
        return new Map([['index.html', Buffer.from('<!doctype html>')]]);
      },
    }));
    const { handler } = await import('../../functions/web/index');
    const get = (path: string) => handler(apiEvent({ method: 'GET', path }));
    expect((await get('/')).statusCode).toBe(200);
    expect((await get('/status')).statusCode).toBe(404);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/functions\/web\/web\/$/);
    // Importing the entry loads the AWS SDK and Powertools: seconds on a busy machine.
  }, 30_000);
});
