import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../functions/adapters/local/store';
import { spawnVigil } from '../helpers/vigil-process';

/**
 * Crash safety of a real local-mode process (`vigil dev`), killed with SIGKILL in the middle of
 * a burst of ingests while it is sending an alert: every run it acknowledged is there after a
 * restart exactly once (event, archive, history, metrics), the alert it was sending is sent by
 * the next process, and a second process on the same data directory is refused meanwhile.
 */

const TOKEN = 'durability-token';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const startVigil = async (dataDir: string, config: string) => {
  const vigil = await spawnVigil({
    VIGIL_DATA_DIR: dataDir,
    VIGIL_INGEST_TOKENS: TOKEN,
    VIGIL_CONFIG: config,
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

/**
 * A POST whose body is half sent once this resolves: the server cannot have answered it.
 * `answered` says whether any answer came before the connection ended.
 */
const halfSent = async (url: string): Promise<{ answered: Promise<boolean> }> => {
  const { hostname, port } = new URL(url);
  const body = junit('in-flight');
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.on('data', (c: Buffer) => {
    answer += c.toString();
  });
  const answered = new Promise<boolean>((resolve) =>
    socket.on('close', () => resolve(answer !== '')),
  );
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) =>
    socket.write(
      `POST /v1/results?project=burst&branch=dev&runId=in-flight HTTP/1.1\r\nhost: ${hostname}\r\n` +
        `authorization: Bearer ${TOKEN}\r\ncontent-type: application/xml\r\n` +
        `content-length: ${body.length}\r\n\r\n${body.slice(0, body.length / 2)}`,
      () => resolve(),
    ),
  );
  return { answered };
};

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
  it('keeps every acknowledged run exactly once and sends the FIRING it was delivering, after a restart', async () => {
    // Prepare: a probe that is down; a webhook that holds the first delivery until the kill.
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
        // Only the channel's deliveries: a stray request from another suite's process whose
        // target port this server now has (once in CI: a body that was no JSON) is not one.
        if (req.method !== 'POST' || req.url !== '/hook') {
          res.writeHead(404).end();
          return;
        }
        slack.push(body);
        if (slack.length === 1) holding = res;
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-kill-'));
    const config = join(dataDir, '..', `${basename(dataDir)}.json`);
    await writeFile(
      config,
      JSON.stringify({
        project: 'shop',
        probes: [{ name: 'api', url: `${base}/down`, intervalSeconds: 300, failureThreshold: 1 }],
        alerts: { channels: [{ type: 'webhook', url: `${base}/hook` }] },
      }),
    );

    try {
      const first = await startVigil(dataDir, config);
      await vi.waitFor(() => expect(holding).toBeDefined(), { timeout: 30_000, interval: 50 });
      // A second process on the same data directory is refused, naming the first.
      await expect(startVigil(dataDir, config)).rejects.toThrow(
        new RegExp(`in use by another Vigil process \\(pid ${first.child.pid}\\)`),
      );

      // Act: a burst of ingests, 8 at a time, and SIGKILL once 10 are acknowledged (the other 7
      // in flight then: enough for the fault, fewer runs for both processes to work through)
      const acked: string[] = [];
      let sent = 0;
      let killed = false;
      let lostInFlight = 0; // sent before the kill, never answered
      const sender = async () => {
        while (!killed && sent < 100) {
          const runId = `kill-${sent++}`;
          try {
            const res = await post(first.url, runId);
            if (res.status === 202) acked.push(runId);
            if (acked.length === 10 && !killed) {
              killed = true;
              // One request surely in flight (its body half sent), whatever the others' timing.
              const half = await halfSent(first.url);
              first.child.kill('SIGKILL');
              if (!(await half.answered)) lostInFlight++;
            }
          } catch {
            lostInFlight++;
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, sender));
      if (!killed) first.child.kill('SIGKILL'); // (then the assertions below say why)
      await first.exited;
      holding?.destroy();
      const second = await startVigil(dataDir, config);
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
          expect(slack.length).toBeGreaterThanOrEqual(2);
        },
        { timeout: 30_000, interval: 100 },
      );
      second.child.kill('SIGTERM');
      await second.exited;

      // Assess: the kill landed in the middle of the burst (requests it never answered)...
      expect(acked.length).toBeGreaterThanOrEqual(10);
      expect(lostInFlight).toBeGreaterThan(0);
      // ...and every acknowledged run is there once.
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
      // The FIRING held when the process died is sent again by the next one.
      const kinds = slack.map((b) => (JSON.parse(b) as { kind?: string }).kind);
      expect(kinds.slice(0, 2)).toEqual(['FIRING', 'FIRING']);
    } finally {
      hook.closeAllConnections();
      hook.close();
    }
  }, 120_000);
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
