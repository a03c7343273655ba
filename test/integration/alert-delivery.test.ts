import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalAlertDispatcher,
  type LocalAlertDispatcherOptions,
} from '../../functions/adapters/local/alert-dispatcher';
import { backoffMs, DELIVERY_DEFAULTS } from '../../functions/core/alerts/delivery';
import type { AlertStateStore } from '../../functions/core/alerts/service';
import { listAlerts, processObservation } from '../../functions/core/alerts/service';
import type { Observation } from '../../functions/core/alerts/state';
import type { ChannelConfig } from '../../functions/core/config';
import type { AlertNotification } from '../../functions/core/events';
import { MemoryPublisher } from '../helpers/fakes';
import { storeOf } from '../helpers/local-store';

/**
 * Local alert delivery with real HTTP receivers: each channel on its own (a failing Slack never
 * holds back a healthy webhook), retries on a timer with backoff, a restart in the middle, and
 * the dead letter after the retry budget (kept until a full disk lets it be appended). The
 * delivery state is what `GET /v1/alerts` shows.
 */

let server: Server;
let base: string;
/** Polls wait this long: the machine may be busy. */
const WAIT = { timeout: 5_000, interval: 20 };
/** What each receiver path answers (default 200), and what it received (kinds). */
const answers = new Map<string, number>();
const received = new Map<string, string[]>();
/** Requests to a path answered `HANG`: held without an answer until the test lets them go. */
const HANG = 0;
const held: (() => void)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const status = answers.get(req.url ?? '') ?? 200;
      const ok = () => {
        const kind = /(FIRING|RESOLVED|REMINDER|NOTICE)/.exec(body)?.[1] ?? '?';
        received.set(req.url ?? '', [...(received.get(req.url ?? '') ?? []), kind]);
        res.writeHead(200).end('ok');
      };
      if (status === HANG) held.push(ok);
      else if (status === 200) ok();
      else res.writeHead(status).end('down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  answers.clear();
  received.clear();
});

const channels = (): ChannelConfig[] => [
  { type: 'slack', webhookUrl: `${base}/slack` },
  { type: 'webhook', url: `${base}/hook`, headers: {} },
];

const obs = (id: string, ok: boolean, at: string): Observation => ({
  id,
  checkKey: 'probe:shop/api',
  ok,
  at,
  source: 'probe',
  project: 'shop',
  severity: 'critical',
  title: 'Probe api',
  correlationId: `c-${id}`,
  policy: { failureThreshold: 1, recoveryThreshold: 1 },
  tags: [],
});

const setup = async (policy = { baseDelayMs: 20, maxAttempts: 50 }) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-delivery-'));
  const store = storeOf(dataDir).alerts;
  const make = (configured = channels(), extra: Partial<LocalAlertDispatcherOptions> = {}) =>
    new LocalAlertDispatcher({
      channels: configured,
      dataDir,
      resolveSecret: async () => '',
      publisher: new MemoryPublisher(),
      store,
      policy,
      scanMs: 20,
      ...extra,
    });
  const observe = (o: Observation, dispatcher: LocalAlertDispatcher) =>
    processObservation(o, {
      store,
      dispatch: dispatcher.dispatch,
      clock: { now: () => new Date() },
      maintenance: [],
      repeatMinutes: 60,
    });
  return { dataDir, store, make, observe };
};

/** A FIRING, then (once the webhook has it) a RESOLVED: both reach the webhook, Slack or not. */
const firingThenResolved = async (
  observe: Awaited<ReturnType<typeof setup>>['observe'],
  dispatcher: LocalAlertDispatcher,
): Promise<void> => {
  await observe(obs('1', false, new Date(Date.now() - 60_000).toISOString()), dispatcher);
  await expect.poll(() => received.get('/hook'), WAIT).toEqual(['FIRING']);
  await observe(obs('2', true, new Date().toISOString()), dispatcher);
  await expect.poll(() => received.get('/hook'), WAIT).toEqual(['FIRING', 'RESOLVED']);
};

/**
 * A full disk under the dead-letter file: a link to `/dev/full`, where every write fails with
 * ENOSPC (or, without one, a directory in the file's place: EISDIR). `free` gives the space back.
 */
const fillDisk = async (file: string): Promise<void> => {
  if (existsSync('/dev/full')) await symlink('/dev/full', file);
  else await mkdir(file);
};
const free = (file: string): Promise<void> => rm(file, { recursive: true, force: true });

/** The lines of the dead-letter file ([] while there is none, or only the fault). */
const deadLines = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

/** Every log call's message and details, as one string each. */
const logSink = () => {
  const lines: string[] = [];
  const push = (...args: unknown[]) => {
    lines.push(JSON.stringify(args, (_k, v) => (v instanceof Error ? v.message : v)));
  };
  return { lines, logger: { info: push, warn: push, error: push } };
};

const deliveries = async (store: AlertStateStore) =>
  (await listAlerts(store)).deliveries.map((d) => `${d.channel} ${d.kind} ${d.status}`);

describe('local alert delivery, one channel at a time', () => {
  it('delivers to the healthy webhook at once while Slack fails, then Slack in order on the timer', async () => {
    // Prepare: Slack answers 500.
    const { store, make, observe } = await setup();
    answers.set('/slack', 500);
    const dispatcher = make();
    await dispatcher.start();

    // Act and assess: FIRING, then RESOLVED while Slack still fails; the RESOLVED reached the
    // webhook without waiting for Slack or a new observation.
    await firingThenResolved(observe, dispatcher);
    const view = await listAlerts(store);
    const slack = view.deliveries.filter((d) => d.channel === 'slack[0]');
    expect(slack.map((d) => [d.kind, d.status])).toEqual([
      ['FIRING', 'pending'],
      ['RESOLVED', 'pending'],
    ]);
    expect(slack[0]?.attempts).toBeGreaterThanOrEqual(1);
    expect(slack[0]?.lastError).toContain('HTTP 500');
    expect(slack[0]?.nextAttemptAt).toBeDefined();
    // Slack comes back: the timer sends what waited, FIRING before RESOLVED.
    answers.delete('/slack');
    await expect.poll(() => received.get('/slack'), WAIT).toEqual(['FIRING', 'RESOLVED']);
    await expect
      .poll(() => deliveries(store), WAIT)
      .toEqual([
        'slack[0] FIRING delivered',
        'webhook[1] FIRING delivered',
        'slack[0] RESOLVED delivered',
        'webhook[1] RESOLVED delivered',
      ]);
    expect(received.get('/hook')).toEqual(['FIRING', 'RESOLVED']);
    await dispatcher.stop();
  });

  it('sends the webhook its next message while a Slack attempt hangs, and Slack in order after', async () => {
    // Prepare: Slack takes requests and does not answer (an attempt gives up after 10 s).
    const { make, observe } = await setup();
    answers.set('/slack', HANG);
    const dispatcher = make();
    await dispatcher.start();

    // Act and assess: FIRING, then RESOLVED while Slack's FIRING is still in flight; the
    // webhook's RESOLVED did not wait for Slack's answer.
    await firingThenResolved(observe, dispatcher);
    expect(held).toHaveLength(1);
    // Slack answers at last: its FIRING, then its RESOLVED.
    answers.delete('/slack');
    for (const answer of held.splice(0)) answer();
    await expect.poll(() => received.get('/slack'), WAIT).toEqual(['FIRING', 'RESOLVED']);
    await dispatcher.stop();
  });

  it('finishes pending deliveries after a restart, and an outbox claimed by a dead process', async () => {
    // Prepare: the webhook is down; a FIRING is queued, then the process "dies".
    const { store, make, observe } = await setup();
    answers.set('/hook', 503);
    const first = make();
    await first.start();
    await observe(obs('1', false, new Date().toISOString()), first);
    await expect.poll(() => received.get('/slack'), WAIT).toEqual(['FIRING']);
    await first.stop();
    // A second check whose FIRING was claimed by a sender that died mid-hand-over (lease over).
    const state = await store.get('probe:shop/api');
    const n = state?.deliveries?.[0]?.notification as AlertNotification;
    const orphan = { ...n, checkKey: 'probe:shop/db', incidentId: 'inc-db' };
    await store.putIfVersion(
      {
        ...(state as NonNullable<typeof state>),
        checkKey: 'probe:shop/db',
        deliveries: [],
        outbox: [],
        sending: { notifications: [orphan], until: new Date(Date.now() - 1).toISOString() },
        version: 1,
      },
      0,
    );

    // Act: the webhook recovers; a new process starts on the same data.
    answers.delete('/hook');
    const second = make();
    await second.start();

    // Assess: the webhook gets the pending FIRING, and both channels the orphaned one; Slack
    // does not get the first FIRING twice.
    await expect
      .poll(() => [...(received.get('/hook') ?? [])].sort(), WAIT)
      .toEqual(['FIRING', 'FIRING']);
    await expect.poll(() => received.get('/slack'), WAIT).toEqual(['FIRING', 'FIRING']);
    await expect.poll(() => second.pending, WAIT).toBe(0);
    const db = await store.get('probe:shop/db');
    expect(db?.outbox).toEqual([]);
    expect(db?.sending).toBeUndefined();
    await second.stop();
  });

  it('dead-letters a pending delivery whose channel was removed from the config before a restart', async () => {
    // Prepare: the webhook is down, its FIRING stays pending when the process stops.
    const { dataDir, store, make, observe } = await setup();
    answers.set('/hook', 503);
    const first = make();
    await first.start();
    await observe(obs('1', false, new Date().toISOString()), first);
    await expect.poll(() => received.get('/slack'), WAIT).toEqual(['FIRING']);
    await first.stop();

    // Act: restart with the webhook gone from the config.
    const second = make(channels().slice(0, 1));
    await second.start();
    await expect.poll(() => second.stats.deadLetters, WAIT).toBe(1);
    await second.stop();

    // Assess: dead-lettered at once, saying why; Slack is not sent the FIRING again.
    // The count moves before the append lands: wait for the line itself.
    const deadFile = join(dataDir, 'notify-dead-letter.ndjson');
    await expect.poll(() => readFile(deadFile, 'utf8').catch(() => '')).toMatch(/\n$/);
    const dead = JSON.parse(await readFile(deadFile, 'utf8'));
    expect(dead).toMatchObject({
      channel: 'webhook[1]',
      error: expect.stringContaining('the channel is no longer in the config'),
      notification: { kind: 'FIRING', checkKey: 'probe:shop/api' },
    });
    expect(await deliveries(store)).toEqual([
      'slack[0] FIRING delivered',
      'webhook[1] FIRING dead',
    ]);
    expect(received.get('/slack')).toEqual(['FIRING']);
    expect(received.get('/hook')).toBeUndefined();
  });

  it('dead-letters a delivery after its retry budget, with backoff between attempts', async () => {
    // Prepare
    const { dataDir, store, make, observe } = await setup({ baseDelayMs: 5, maxAttempts: 3 });
    answers.set('/slack', 500);
    const dispatcher = make();
    await dispatcher.start();

    // Act
    await observe(obs('1', false, new Date().toISOString()), dispatcher);

    // Assess
    await expect
      .poll(() => dispatcher.stats)
      .toEqual({
        delivered: 1,
        deadLetters: 1,
      });
    // The count moves before the append lands: wait for the line itself.
    const deadFile = join(dataDir, 'notify-dead-letter.ndjson');
    await expect.poll(() => readFile(deadFile, 'utf8').catch(() => '')).toMatch(/\n$/);
    const dead = JSON.parse(await readFile(deadFile, 'utf8'));
    expect(dead).toMatchObject({
      channel: 'slack[0]',
      attempts: 3,
      error: expect.stringContaining('HTTP 500'),
    });
    expect(await deliveries(store)).toEqual([
      'slack[0] FIRING dead',
      'webhook[1] FIRING delivered',
    ]);
    expect(received.get('/slack')).toBeUndefined();
    await dispatcher.stop();
  });

  it('ends a delivery at once on an answer that retrying cannot fix, and backs off exponentially', async () => {
    const { store, make, observe } = await setup();
    answers.set('/hook', 404);
    const dispatcher = make();
    await dispatcher.start();
    await observe(obs('1', false, new Date().toISOString()), dispatcher);
    await expect.poll(() => dispatcher.stats.deadLetters, WAIT).toBe(1);
    expect(
      (await listAlerts(store)).deliveries.find((d) => d.channel === 'webhook[1]'),
    ).toMatchObject({
      status: 'dead',
      attempts: 1,
    });
    await dispatcher.stop();
    const policy = { ...DELIVERY_DEFAULTS, baseDelayMs: 1_000, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy))).toEqual([1_000, 2_000, 4_000, 5_000]);
  });

  it('keeps a dead letter a full disk refused, and appends it once there is space, without a restart', async () => {
    // Prepare: the webhook answers 404 (dead at once); the dead-letter file's disk is full.
    const { dataDir, store, make, observe } = await setup();
    const deadFile = join(dataDir, 'notify-dead-letter.ndjson');
    await fillDisk(deadFile);
    answers.set('/hook', 404);
    const log = logSink();
    const dispatcher = make(channels(), { logger: log.logger });
    await dispatcher.start();

    // Act: the FIRING dies on the webhook; its dead letter cannot be appended, nor on the scans
    // after (every 20 ms).
    await observe(obs('1', false, new Date().toISOString()), dispatcher);
    await expect.poll(() => dispatcher.stats.deadLetters, WAIT).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    const webhook = async () =>
      (await listAlerts(store)).deliveries.find((d) => d.channel === 'webhook[1]');
    const whileFull = await webhook();
    const failures = log.lines.filter((l) => l.includes('could not file'));

    // Space returns: the scan appends the line, once, and the delivery is marked filed.
    await free(deadFile);
    await expect.poll(() => deadLines(deadFile), WAIT).toHaveLength(1);
    await expect.poll(async () => (await webhook())?.unfiled, WAIT).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    const lines = await deadLines(deadFile);
    expect(lines).toHaveLength(1);
    // While the disk was full: dead, kept as not filed (`GET /v1/alerts` says so), logged once.
    expect(whileFull).toMatchObject({ status: 'dead', unfiled: true });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/ENOSPC|EISDIR/);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      channel: 'webhook[1]',
      attempts: 1,
      error: expect.stringContaining('HTTP 404'),
      notification: { kind: 'FIRING', checkKey: 'probe:shop/api' },
    });
    expect(dispatcher.stats.deadLetters).toBe(1);
    await dispatcher.stop();
  });

  it('appends a dead letter a full disk refused at the next start', async () => {
    // Prepare: the dead letter is refused; the process stops with it still not filed.
    const { dataDir, store, make, observe } = await setup();
    const deadFile = join(dataDir, 'notify-dead-letter.ndjson');
    await fillDisk(deadFile);
    answers.set('/hook', 404);
    const first = make();
    await first.start();
    await observe(obs('1', false, new Date().toISOString()), first);
    await expect.poll(() => first.stats.deadLetters, WAIT).toBe(1);
    await first.stop();
    expect(await deliveries(store)).toEqual([
      'slack[0] FIRING delivered',
      'webhook[1] FIRING dead',
    ]);
    const whileFull = (await store.get('probe:shop/api'))?.deliveries?.[1];

    // Act: space returns; a new process starts on the same data (its scan timer far off, so
    // only the start finds the dead letter).
    await free(deadFile);
    expect(await deadLines(deadFile)).toEqual([]);
    const second = make(channels(), { scanMs: 60_000 });
    await second.start();

    // Assess: the line is appended once and the delivery marked filed; nothing is sent again
    // and nothing is counted twice.
    await expect.poll(() => deadLines(deadFile), WAIT).toHaveLength(1);
    await second.idle();
    expect(whileFull).toMatchObject({ status: 'dead', unfiled: true });
    expect((await store.get('probe:shop/api'))?.deliveries?.[1]?.unfiled).toBeUndefined();
    expect(JSON.parse((await deadLines(deadFile))[0] as string)).toMatchObject({
      channel: 'webhook[1]',
      notification: { kind: 'FIRING' },
    });
    expect(second.stats.deadLetters).toBe(0);
    expect(received.get('/slack')).toEqual(['FIRING']);
    expect(received.get('/hook')).toBeUndefined();
    await second.stop();
    expect(await deadLines(deadFile)).toHaveLength(1);
  });
});
