import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import {
  cachedCheck,
  configCheck,
  type HealthCheck,
  runHealthChecks,
  shortReason,
} from '../../functions/core/health';
import { createIngestHandler, type IngestHandlerDeps } from '../../functions/ingest/handler';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';

const ok = (name: string): HealthCheck => ({ name, check: async () => {} });
const failing = (name: string, message: string): HealthCheck => ({
  name,
  check: async () => {
    throw new Error(message);
  },
});
const hanging = (name: string): HealthCheck => ({
  name,
  check: () => new Promise<void>(() => {}),
});

const handlerWith = (health: HealthCheck[], healthTimeoutMs?: number) => {
  const deps: IngestHandlerDeps = {
    config: parseConfig({}),
    stage: 'dev',
    publisher: new MemoryPublisher(),
    archive: new MemoryArchive(),
    ledger: new MemoryLedger(),
    clock: fixedClock(),
    tokens: { tokens: async () => ['t'] },
    version: '1.2.3',
    health,
    ...(healthTimeoutMs === undefined ? {} : { healthTimeoutMs }),
  };
  return createIngestHandler(deps);
};

const getHealth = async (health: HealthCheck[], healthTimeoutMs?: number) => {
  const res = await handlerWith(
    health,
    healthTimeoutMs,
  )(apiEvent({ method: 'GET', path: '/v1/health' }));
  return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
};

describe('GET /v1/health', () => {
  it('answers 200 with version, stage and every check ok', async () => {
    // Act
    const res = await getHealth([ok('config'), ok('bus'), ok('store')]);
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      version: '1.2.3',
      stage: 'dev',
      checks: { config: 'ok', bus: 'ok', store: 'ok' },
    });
  });

  it('answers 503 with the failing check and its short reason', async () => {
    // Act
    const res = await getHealth([
      ok('config'),
      failing('bus', 'event bus not reachable: ResourceNotFoundException\nstack...'),
      ok('store'),
    ]);
    // Assess
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'degraded',
      version: '1.2.3',
      stage: 'dev',
      checks: {
        config: 'ok',
        bus: 'error: event bus not reachable: ResourceNotFoundException',
        store: 'ok',
      },
    });
  });

  it('fails a hanging check at its timeout, running the checks concurrently', async () => {
    // Prepare
    const started = Date.now();
    // Act
    const res = await getHealth([hanging('bus'), hanging('store'), ok('config')], 200);
    // Assess
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({
      bus: 'error: timed out after 200 ms',
      store: 'error: timed out after 200 ms',
      config: 'ok',
    });
    expect(elapsed).toBeLessThan(1000);
  });

  it('caps long reasons', async () => {
    // Act
    const report = await runHealthChecks([failing('bus', 'x'.repeat(500))]);
    // Assess
    expect(report.ok).toBe(false);
    expect(report.checks.bus?.length).toBeLessThanOrEqual('error: '.length + 120);
  });
});

describe('shortReason and configCheck', () => {
  it('reads the first line of a message, the name of an error without one, or the value', () => {
    expect(shortReason(new Error('first\nsecond'))).toBe('first');
    expect(shortReason(new RangeError(''))).toBe('RangeError');
    expect(shortReason('plain')).toBe('plain');
  });

  it('fails without a configuration object', async () => {
    expect(await runHealthChecks([configCheck({})])).toEqual({
      ok: true,
      checks: { config: 'ok' },
    });
    expect(await runHealthChecks([configCheck(null)])).toEqual({
      ok: false,
      checks: { config: 'error: no configuration loaded' },
    });
  });
});

describe('cachedCheck', () => {
  it('remembers a success for the ttl and never a failure', async () => {
    // Prepare
    let calls = 0;
    let fail = false;
    let now = 0;
    const check = cachedCheck(
      {
        name: 'bus',
        check: async () => {
          calls++;
          if (fail) throw new Error('down');
        },
      },
      { ttlMs: 30_000, now: () => now },
    );
    // Act
    await check.check();
    now = 29_999;
    await check.check();
    const cachedCalls = calls;
    now = 30_000;
    fail = true;
    const afterTtl = check.check();
    // Assess
    expect(cachedCalls).toBe(1);
    await expect(afterTtl).rejects.toThrow('down');
    await expect(check.check()).rejects.toThrow('down');
    expect(calls).toBe(3);
  });
});
