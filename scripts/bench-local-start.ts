import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../functions/core/config';
import { startLocal } from '../functions/runtime/local/runtime';
import { junitBodies } from '../load/scenarios/ingest';

/**
 * Two costs of local mode's bus worker thread, printed:
 * - a `startLocal` (start until the subscribers deliver, then close), several in one process as
 *   the test suites do: wall time and CPU time of the whole process (every thread);
 * - the main thread's waits for SQLite's write lock while the worker works off a backlog:
 *   `--reports` 50 KB JUnit reports posted 10 at a time, then one every 500 ms while the
 *   backlog drains; every `BEGIN IMMEDIATE` of the main thread's connection is timed, and the
 *   main event loop's delay is sampled.
 * The machine is shared: print the load average with the figures.
 */

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '5' },
    reports: { type: 'string', default: '60' },
  },
});
const config = parseConfig({ project: 'shop' });
const options = { config, port: 0, tokens: ['t'], probes: false, webFiles: new Map() };
const ms = (micros: { user: number; system: number }) => (micros.user + micros.system) / 1000;

for (let i = 0; i < Number(values.starts); i++) {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-start-'));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const pipeline = await startLocal({ ...options, dataDir });
  const wall = performance.now() - started;
  await pipeline.close();
  console.log(
    `start ${i + 1}: ${wall.toFixed(0)} ms to ready, ${ms(process.cpuUsage(cpu)).toFixed(0)} ms CPU with close`,
  );
  await rm(dataDir, { recursive: true, force: true });
}

const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-wait-'));
const pipeline = await startLocal({ ...options, dataDir });
const waits: number[] = [];
const db = pipeline.store.db.db;
const exec = db.exec.bind(db);
db.exec = (sql: string) => {
  if (sql !== 'BEGIN IMMEDIATE') return exec(sql);
  const t = performance.now();
  try {
    return exec(sql);
  } finally {
    waits.push(performance.now() - t);
  }
};
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const body = junitBodies()[0]?.plain;
let posted = 0;
const post = async () => {
  const query = `project=shop&format=junit&suite=unit&branch=main&runId=r-${++posted}`;
  const res = await fetch(`${pipeline.url}/v1/results?${query}`, {
    method: 'POST',
    headers: { authorization: 'Bearer t', 'content-type': 'application/xml' },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
};
const started = performance.now();
const total = Number(values.reports);
await Promise.all(
  Array.from({ length: 10 }, async () => {
    while (posted < total) await post();
  }),
);
const behind = () => Math.max(...Object.values(pipeline.bus.backlog()));
for (let i = 0; i < 120 && behind() > 5; i++) {
  await post();
  await new Promise((r) => setTimeout(r, 500));
}
await pipeline.bus.drain();
const seconds = (performance.now() - started) / 1000;
delay.disable();
await pipeline.close();
await rm(dataDir, { recursive: true, force: true });

const sorted = waits.sort((a, b) => a - b);
const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(
  `${posted} reports delivered in ${seconds.toFixed(1)} s (${(posted / seconds).toFixed(1)} reports/s)`,
);
console.log(
  `main thread's BEGIN IMMEDIATE (${sorted.length}): p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
);
console.log(
  `main event loop delay: p50 ${(delay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
);
console.log(`load average ${loadavg()[0]?.toFixed(1)} on this machine`);
