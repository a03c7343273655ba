import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HeartbeatConfig, parseConfig } from '../../functions/core/config';
import { configJsonHash } from '../../functions/core/config-access';
import { configFromEnv } from '../../functions/shared/lambda-config';

/** What synth puts in a function's environment (lib/function-defaults.ts). */
const synthEnv = (config: unknown): NodeJS.ProcessEnv => {
  const json = JSON.stringify(config);
  return { VIGIL_CONFIG_JSON: json, VIGIL_CONFIG_SHA256: configJsonHash(json) };
};

describe('configFromEnv', () => {
  it('uses the config baked in at synth as it is while its hash matches', async () => {
    const validated = parseConfig({
      project: 'shop',
      probes: [{ name: 'home', url: 'https://example.com/' }],
      alerts: { maintenance: [{ cron: '0 2 * * *', durationMinutes: 30 }] },
    });

    const config = await configFromEnv(synthEnv(validated));

    expect(config).toEqual(validated);
  });

  it('does not validate again on a match: a value the schema refuses passes through', async () => {
    // Proof that the schema was skipped, with a hash only synth could have computed.
    const config = await configFromEnv(synthEnv({ probes: [{ name: 'no-url' }] }));

    expect(config).toEqual({ probes: [{ name: 'no-url' }] });
  });

  it('validates a config changed after synth (hash no longer matches), with defaults', async () => {
    const env = synthEnv(parseConfig({ project: 'shop' }));
    const changed = { ...env, VIGIL_CONFIG_JSON: JSON.stringify({ project: 'other' }) };

    const config = await configFromEnv(changed);

    expect(config).toEqual(parseConfig({ project: 'other' }));
  });

  it('refuses a changed config that is invalid, naming the variable and the field', async () => {
    const env = synthEnv(parseConfig({}));
    const changed = { ...env, VIGIL_CONFIG_JSON: JSON.stringify({ probes: [{ name: 'x' }] }) };

    await expect(configFromEnv(changed)).rejects.toThrow(/VIGIL_CONFIG_JSON: probes\.0/);
  });

  it('loads the schema from the side file beside the bundle in a Lambda bundle', async () => {
    // A Lambda bundle defines VIGIL_SIDE_FILES (test/infra/bundle.test.ts runs the real file).
    vi.stubGlobal('VIGIL_SIDE_FILES', true);
    try {
      await expect(configFromEnv({})).rejects.toThrow(/functions\/core\/config-schema\.mjs/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('validates a config without a hash, and an absent config is the defaults', async () => {
    await expect(
      configFromEnv({ VIGIL_CONFIG_JSON: JSON.stringify({ probes: [{ name: 'no-url' }] }) }),
    ).rejects.toThrow(/Invalid Vigil config in VIGIL_CONFIG_JSON/);
    expect(await configFromEnv({})).toEqual(parseConfig({}));
  });
});

describe('cron-parser, loaded only where a cron window exists', () => {
  // Fresh maintenance and cron modules per test, to see cron-parser load; none left to the next file.
  beforeEach(() => {
    vi.resetModules();
  });
  afterAll(() => {
    vi.resetModules();
  });

  const cronWindow = parseConfig({
    alerts: { maintenance: [{ cron: '0 2 * * *', durationMinutes: 60 }] },
  }).alerts.maintenance;
  const dated = parseConfig({
    alerts: { maintenance: [{ start: '2026-11-25T00:00:00Z', end: '2026-11-26T00:00:00Z' }] },
  }).alerts.maintenance;
  const at = new Date('2026-11-25T02:30:00Z');

  it('is not loaded for windows without a cron, which still work', async () => {
    const m = await import('../../functions/core/alerts/maintenance');

    await (await import('../../functions/core/cron')).loadCronParser(dated);

    expect(m.activeWindow(dated, { tags: [] }, at)).toMatch(/until 2026-11-26/);
    expect(() => m.activeWindow(cronWindow, { tags: [] }, at)).toThrow(/not loaded/);
  });

  it('is loaded for a cron window, and then evaluates it', async () => {
    const m = await import('../../functions/core/alerts/maintenance');

    await (await import('../../functions/core/cron')).loadCronParser(cronWindow);

    expect(m.activeWindow(cronWindow, { tags: [] }, at)).toMatch(/until 2026-11-25T03:00/);
  });

  it('is loaded by alert processing when its windows have a cron', async () => {
    const m = await import('../../functions/core/alerts/maintenance');
    const { listAlerts } = await import('../../functions/core/alerts/service');
    const store = { list: async () => ({ active: [], history: [] }) };

    await listAlerts(store as never, { maintenance: cronWindow });

    expect(m.activeWindow(cronWindow, { tags: [] }, at)).toBeDefined();
  });

  it('is loaded by the heartbeat service for a cron heartbeat, not for a periodic one', async () => {
    const { evaluateHeartbeats, recordPing } = await import(
      '../../functions/core/checks/heartbeat-service'
    );
    const { loadedCronParser } = await import('../../functions/core/cron');
    const withHeartbeat = (heartbeat: Record<string, unknown>) => {
      const config = parseConfig({ heartbeats: [heartbeat] });
      const deps = {
        config,
        store: { get: async () => undefined, putIfVersion: async () => true },
        publisher: { publish: async () => {} },
        clock: { now: () => at },
        location: 'test',
      };
      return { deps, cfg: config.heartbeats[0] as HeartbeatConfig };
    };
    const failed: unknown[] = [];

    const periodic = withHeartbeat({ name: 'sync', periodSeconds: 60 });
    await evaluateHeartbeats(periodic.deps, (_, e) => failed.push(e));
    await recordPing(periodic.deps, periodic.cfg, { kind: 'success' });
    expect(() => loadedCronParser()).toThrow(/not loaded/);

    const nightly = withHeartbeat({ name: 'backup', cron: '30 2 * * *' });
    const answer = await recordPing(nightly.deps, nightly.cfg, { kind: 'success' });
    // The next 02:30 UTC after the ping, plus the default grace of 5 minutes.
    expect(answer.nextDueAt).toBe('2026-11-26T02:35:00.000Z');
    expect(await evaluateHeartbeats(nightly.deps, (_, e) => failed.push(e))).toEqual([]);
    expect(failed).toEqual([]);
  });
});
