import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { spawnVigil } from '../helpers/vigil-process';

/**
 * Crash safety of a real local-mode process (`vigil dev`), killed with SIGKILL: every run it
 * acknowledged is there after a restart exactly once (event, archive, history, metrics), and an
 * alert it was sending when it died is sent by the next process.
 */

const TOKEN = 'durability-token';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const startVigil = async (dataDir: string, env: Record<string, string> = {}) => {
  const vigil = spawnVigil({
    VIGIL_DATA_DIR: dataDir,
    VIGIL_INGEST_TOKENS: TOKEN,
    VIGIL_CONFIG: '',
    ...env,
  });
  children.push(vigil.child);
  const [, url = ''] = await vigil.waitFor(/listening on (http:\/\/\S+)/);
  return { ...vigil, url };
};

const junit = (runId: string) =>
  `<testsuite name="burst" tests="2" failures="0"><testcase classname="c" name="${runId}-a" time="0.1"/><testcase classname="c" name="${runId}-b" time="0.2"/></testsuite>`;

const post = (url: string, runId: string) =>
  fetch(`${url}/v1/results?project=burst&branch=dev&runId=${runId}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/xml' },
    body: junit(runId),
  });

/** Reads the data dir through a connection of its own (the process may be running). */
const inspect = <T>(dataDir: string, read: (store: LocalStore) => T): T => {
  const store = LocalStore.open(dataDir, { lock: false });
  try {
    return read(store);
  } finally {
    store.close();
  }
};

describe('kill -9 of local mode', () => {
  it('keeps every acknowledged run exactly once in archive, history and metrics after a restart', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-kill-'));
    const first = await startVigil(dataDir);
    const acked: string[] = [];

    // Act: a burst of 80 ingests, SIGKILL once 25 are acknowledged
    const burst = Array.from({ length: 80 }, (_, i) =>
      post(first.url, `kill-${i}`)
        .then((res) => {
          if (res.status === 202) acked.push(`kill-${i}`);
          if (acked.length === 25) first.child.kill('SIGKILL');
        })
        .catch(() => undefined),
    );
    await Promise.all(burst);
    await first.exited;
    const second = await startVigil(dataDir);
    const retried = await post(second.url, acked[0] ?? '');
    // The restarted process works off what the first one left undelivered.
    await vi.waitFor(
      () => {
        const runs = inspect(dataDir, (s) =>
          s.db.q(`SELECT count(*) AS n FROM runs WHERE project = 'burst'`).get(),
        ) as { n: number };
        const events = inspect(
          dataDir,
          (s) => s.log.all().filter((e) => e.source === 'vigil.ingest').length,
        );
        expect(runs.n).toBe(events);
      },
      { timeout: 20_000, interval: 100 },
    );
    second.child.kill('SIGTERM');
    await second.exited;

    // Assess
    expect(acked.length).toBeGreaterThanOrEqual(25);
    expect(retried.status).toBe(200); // a duplicate, not a 409 for a claim of the dead process
    const { events, history, points, readable } = await inspectAll(dataDir);
    for (const runId of acked) {
      expect(events.filter((e) => e === runId)).toHaveLength(1);
      expect(history.filter((r) => r === runId)).toHaveLength(1);
    }
    expect(new Set(events).size).toBe(events.length);
    expect(history.sort()).toEqual([...events].sort());
    expect(points).toBe(events.length); // one TestsTotal point per run: none lost, none twice
    expect(readable).toBe(events.length * 2); // raw and normalized of every run
  }, 60_000);

  it('sends after a restart the FIRING it was delivering when it died (and refuses a second process meanwhile)', async () => {
    // Prepare: a probe that is down; a webhook that holds the first delivery until the kill
    const slack: string[] = [];
    let holding: ServerResponse | undefined;
    const hook: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        if (req.url === '/down') {
          res.writeHead(500).end('down');
          return;
        }
        slack.push(body);
        if (slack.length === 1) holding = res;
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-kill-alert-'));
    const configFile = join(dataDir, '..', `vigil-kill-alert-${Date.now()}.json`);
    await writeFile(
      configFile,
      JSON.stringify({
        project: 'shop',
        probes: [{ name: 'api', url: `${base}/down`, intervalSeconds: 300, failureThreshold: 1 }],
        alerts: { channels: [{ type: 'webhook', url: `${base}/hook` }] },
      }),
    );

    try {
      // Act
      const first = await startVigil(dataDir, { VIGIL_CONFIG: configFile });
      await vi.waitFor(() => expect(holding).toBeDefined(), { timeout: 15_000, interval: 50 });
      // Meanwhile, a second process on the same data directory is refused, naming the first.
      await expect(startVigil(dataDir, { VIGIL_CONFIG: configFile })).rejects.toThrow(
        new RegExp(`in use by another Vigil process \\(pid ${first.child.pid}\\)`),
      );
      first.child.kill('SIGKILL');
      await first.exited;
      holding?.destroy();
      const second = await startVigil(dataDir, { VIGIL_CONFIG: configFile });
      await vi.waitFor(() => expect(slack.length).toBeGreaterThanOrEqual(2), {
        timeout: 15_000,
        interval: 50,
      });
      second.child.kill('SIGTERM');
      await second.exited;

      // Assess
      const kinds = slack.map((b) => (JSON.parse(b) as { kind?: string }).kind);
      expect(kinds.slice(0, 2)).toEqual(['FIRING', 'FIRING']);
    } finally {
      hook.closeAllConnections();
      hook.close();
    }
  }, 60_000);
});

/** What the data dir holds for the burst project. */
const inspectAll = async (dataDir: string) => {
  const store = LocalStore.open(dataDir, { lock: false });
  try {
    const ingest = store.log.all().filter((e) => e.source === 'vigil.ingest');
    const meta = (e: (typeof ingest)[number]) =>
      (e.detail as { metadata: { runId: string; archive: never; normalized: never } }).metadata;
    let readable = 0;
    for (const e of ingest)
      for (const pointer of [meta(e).archive, meta(e).normalized])
        readable += await store.archive.get(pointer).then(
          () => 1,
          () => 0,
        );
    const history = (
      store.db.q(`SELECT body FROM runs WHERE project = 'burst'`).all() as { body: string }[]
    ).map((r) => (JSON.parse(r.body) as { runId: string }).runId);
    const points = store.metrics.query({
      name: 'TestsTotal',
      dimensions: { Project: 'burst' },
    }).length;
    return { events: ingest.map((e) => meta(e).runId), history, points, readable };
  } finally {
    store.close();
  }
};
