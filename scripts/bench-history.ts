/**
 * `npm run bench:history`: what the local history costs, in this process, over the real
 * embedded store (a fresh `vigil.db` in a temporary directory) and the real history service.
 *
 * - Bytes written to record one run of a project of 20,000 tests whose windows are full (30
 *   outcomes each): the bytes the process passed to write calls (`wchar` of /proc/self/io: the
 *   write-ahead log and its checkpoints), for three runs in a row.
 * - CPU time to record one 50 KB JUnit report (the report of `bench:capacity`), its tests'
 *   windows full: median and p90 over 30 reports, as the bus worker spends it per report.
 * - The 20,000-test project's history queries: a page of 500 tests (all, failing, flaky; the
 *   API's largest page) and a read of 25 tests (the service's batch), median of 20 (wall time).
 *
 * Options (environment): BENCH_TESTS (20000), BENCH_REPORTS (30), BENCH_KEEP=1 (keep the data directory).
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../functions/adapters/local/store';
import { parseConfig } from '../functions/core/config';
import type { ArchivePointer, EventMetadata, KnownEvent } from '../functions/core/events';
import { parseReport } from '../functions/core/formats';
import { evaluateGate } from '../functions/core/gates/gate';
import { groupCases, recordReport } from '../functions/core/history/service';
import type { HistoryStore, TestOutcome, TestRecord } from '../functions/core/history/types';
import { buildEvent } from '../functions/core/ingest/service';
import { systemClock } from '../functions/core/ports';
import { junitReport } from '../load/scenarios/ingest';
import { generateJunit } from '../test/helpers/generate-junit';

const TESTS = Number(process.env.BENCH_TESTS ?? 20_000);
const REPORTS = Number(process.env.BENCH_REPORTS ?? 30);
const WINDOW = 30;
const HOUR = 3_600_000;

const objects = new Map<string, Uint8Array>();
const archive = {
  get: async (p: ArchivePointer) => objects.get(p.uri) as Uint8Array,
};
const config = parseConfig({ project: 'bench' });
const publisher = { publish: async () => {} };

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
let runs = 0;

/** The event ingest publishes for this JUnit report as a new run, its normalized result stored. */
const reportEvent = (project: string, xml: string, at: Date): KnownEvent => {
  const report = parseReport(xml, 'junit');
  const gate = evaluateGate(report, config.gates);
  const runId = `bench-${++runs}-${hex(8)}`;
  const common = { project, runId, correlationId: `corr-${runId}`, format: report.format };
  const uri = `mem://${project}/${runId}`;
  const body = Buffer.from(JSON.stringify({ ...common, report, gate }));
  objects.set(uri, body);
  const normalized = { uri, bytes: body.byteLength, sha256: '0'.repeat(64) };
  const metadata: EventMetadata = {
    ...common,
    branch: 'main',
    commit: hex(20),
    ingestedAt: at.toISOString(),
    archive: normalized,
    normalized,
  };
  return buildEvent(report, metadata, gate) as KnownEvent;
};

/** Every test of the report, with a full window of earlier runs (2% failures), written directly. */
const seed = async (store: HistoryStore, project: string, xml: string, until: Date) => {
  const earlier = Array.from({ length: WINDOW }, (_, i) => ({
    runId: hex(16),
    at: new Date(until.getTime() - (WINDOW - i) * HOUR).toISOString(),
    branch: 'main',
    commit: hex(20),
  }));
  const records: TestRecord[] = [];
  let n = 0;
  const report = parseReport(xml, 'junit');
  if (report.kind !== 'tests') throw new Error('not a test report');
  for (const [id, g] of groupCases(report.cases)) {
    const outcomes: TestOutcome[] = earlier.map((r) => ({
      ...r,
      status: ++n % 50 === 0 ? 'failed' : 'passed',
      retried: false,
      durationMs: 1 + (n % 300),
    }));
    records.push({ project, id, ...g.first, outcomes, version: 1 });
  }
  for (let i = 0; i < records.length; i += 500) {
    const writes = records.slice(i, i + 500).map((record) => ({ record, expectedVersion: 0 }));
    await (store.putTests?.(writes, 90) ?? Promise.resolve([]));
  }
  return records.length;
};

const written = (): number =>
  Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const median = async (times: number, fn: () => Promise<unknown>): Promise<number> => {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return quantile(ms, 0.5);
};
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-history-'));
const store = LocalStore.open(dir);
const deps = { store: store.history, archive, publisher, config, clock: systemClock };
try {
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  // Bytes per run, 20,000 tests.
  const big = generateJunit({ cases: TESTS, seed: 11 });
  const tests = await seed(store.history, 'big', big, new Date());
  console.log(`project "big": ${tests} tests, windows of ${WINDOW} outcomes`);
  for (let i = 1; i <= 3; i++) {
    const event = reportEvent('big', big, new Date());
    const [bytes, cpu, wall] = [written(), cpuMs(), performance.now()];
    await recordReport(event, deps);
    console.log(
      `run ${i}: ${mb(written() - bytes)} written, ${(cpuMs() - cpu).toFixed(0)} ms CPU, ${(performance.now() - wall).toFixed(0)} ms wall`,
    );
  }

  // CPU per 50 KB report.
  const small = junitReport();
  const smallTests = await seed(store.history, 'capacity', small, new Date());
  const cpu: number[] = [];
  for (let i = 0; i < REPORTS; i++) {
    const event = reportEvent('capacity', small, new Date());
    const before = cpuMs();
    await recordReport(event, deps);
    cpu.push(cpuMs() - before);
  }
  console.log(
    `50 KB report (${smallTests} tests), ${REPORTS} reports: CPU median ${quantile(cpu, 0.5).toFixed(1)} ms, p90 ${quantile(cpu, 0.9).toFixed(1)} ms`,
  );

  // Queries on the 20,000-test project.
  const page = (status: 'all' | 'failing' | 'flaky') => () =>
    store.history.listTests('big', { status, limit: 500 });
  const ids = (await store.history.listTests('big', { status: 'all', limit: 25 })).items.map(
    (t) => t.id,
  );
  for (const [name, fn] of [
    ['page of 500, status=all', page('all')],
    ['page of 500, status=failing', page('failing')],
    ['page of 500, status=flaky', page('flaky')],
    ['getTests of 25', () => store.history.getTests('big', ids)],
  ] as const)
    console.log(`query ${name}: ${(await median(20, fn)).toFixed(1)} ms (median of 20)`);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  store.close();
  if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
