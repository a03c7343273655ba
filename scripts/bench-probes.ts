/**
 * `npm run bench:probes`: how truly local mode's probes measure under load. 200 HTTP probes every
 * 5 s run through the local pipeline (`startLocal`: scheduler, worker thread, bus, stores)
 * against a local target, in a process of its own, that records for each request the delay it
 * measured itself (from the request's arrival to the end of its answer, plus the time it waits
 * on purpose). The measurement error of a run is the latency the probe reported minus that
 * delay; the bench prints its p50, p99 and max (target: p99 ≤ 10 ms), how spread the runs were,
 * and the scheduler's accounting (runs made of those scheduled, late, skipped).
 *
 * Options (env): BENCH_PROBES (default 200), BENCH_INTERVAL_S (5), BENCH_CYCLES (3, after one
 * cycle of warm-up), BENCH_DELAY_MS (the target's own delay, default 0), BENCH_INGEST=0 (no
 * ingest load).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeOffsetMs } from '../functions/adapters/local/probe-schedule';
import type { ProbeCompletedDetail } from '../functions/core/events';
import { generateJunit } from '../test/helpers/generate-junit';
import { storedEvents } from '../test/helpers/local-store';
import { startWithProbes } from './bench-local-probes';

const PROBES = Number(process.env.BENCH_PROBES ?? 200);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 3);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 0);
const INGEST = process.env.BENCH_INGEST !== '0';

// The target runs in a process of its own (bench-probes-target.ts), away from the pipeline's
// event loop, so the delay it measures is all the delay a request met there.
const target = fork(new URL('./bench-probes-target.ts', import.meta.url), {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, BENCH_DELAY_MS: String(DELAY_MS) },
});
const base = await new Promise<string>((resolve) =>
  target.once('message', (m) => resolve(`http://127.0.0.1:${(m as { port: number }).port}`)),
);

const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-probes-'));
const pipeline = await startWithProbes(base, PROBES, INTERVAL_S, dataDir);
// Work for the main event loop meanwhile, as a busy instance has: a 5,000-case JUnit report
// ingested every second (parse, archive, ledger, then metrics and history deliveries).
const report = generateJunit({ cases: 5000, failRate: 0.02, withOutput: true, seed: 3 });
let posts = 0;
const inFlight = new Set<Promise<unknown>>();
const load = setInterval(() => {
  if (!INGEST) return;
  const post = fetch(`${pipeline.url}/v1/results?project=bench&runId=load-${posts++}`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench', 'content-type': 'application/xml' },
    body: report,
  })
    .then((r) => r.arrayBuffer())
    .finally(() => inFlight.delete(post));
  inFlight.add(post);
}, 1000);

const cycleMs = INTERVAL_S * 1000;
console.log(
  `probes bench: ${PROBES} HTTP probes every ${INTERVAL_S} s through local mode, ` +
    `1 cycle of warm-up then ${CYCLES} measured; target delay ${DELAY_MS} ms; ` +
    (INGEST ? 'a 5,000-case report ingested every second' : 'no ingest load') +
    `; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`,
);
const startedAt = Date.now();
pipeline.probes.start();
await new Promise((r) => setTimeout(r, cycleMs * (CYCLES + 1) + 500));
clearInterval(load);
await Promise.allSettled(inFlight);
// The ticks end here (a tick still waiting for its probe's run is dropped, not skipped).
const stoppedAt = Date.now();
await pipeline.probes.stop();
await pipeline.close();
/** The delay the target measured per request, by the probe name in its path. */
const measured = await new Promise<Record<string, number[]>>((resolve) => {
  target.once('message', (m) => resolve((m as { measured: Record<string, number[]> }).measured));
  target.send('report');
});

const results = storedEvents(dataDir)
  .filter((e) => e['detail-type'] === 'Probe Completed')
  .map((e) => e.detail as ProbeCompletedDetail);
await rm(dataDir, { recursive: true, force: true });

// The runs the schedule called for: one per probe at start, then one per offset passed. The
// schedule begins in the worker thread once it has loaded: at the first run's start.
const scheduledAt = Math.min(...results.map((r) => Date.parse(r.metadata.checkedAt)));
const ticks = (offset: number): number =>
  Math.floor((stoppedAt - offset) / cycleMs) - Math.floor((scheduledAt - offset) / cycleMs);
const expected = Array.from({ length: PROBES }, (_, i) =>
  ticks(probeOffsetMs(`p${i}`, cycleMs)),
).reduce((a, b) => a + b, PROBES);

// Pair the n-th result of each probe with the n-th request its target saw; skip each probe's
// first run (the warm-up cycle, where all start together and the worker thread loads).
const errors: number[] = [];
const seen = new Map<string, number>();
const starts: number[] = [];
/** How long after its time each measured run started (ms). */
const delays: number[] = [];
for (const r of results.sort((a, b) => a.metadata.checkedAt.localeCompare(b.metadata.checkedAt))) {
  const name = r.metadata.probe;
  const n = seen.get(name) ?? 0;
  seen.set(name, n + 1);
  const own = measured[name]?.[n];
  if (n === 0 || own === undefined || r.status !== 'up') continue;
  errors.push(r.latencyMs - own);
  starts.push(Date.parse(r.metadata.checkedAt) % cycleMs);
  // A timer may fire a millisecond early: a start just before its time counts as early, not late.
  const sinceTime = (Date.parse(r.metadata.checkedAt) - probeOffsetMs(name, cycleMs)) % cycleMs;
  delays.push(sinceTime > cycleMs / 2 ? sinceTime - cycleMs : sinceTime);
}
const { stats } = pipeline.probes;
const pctOf =
  (values: number[]) =>
  (p: number): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  };
const pct = pctOf(errors);
const delay = pctOf(delays);
const buckets = new Array<number>(10).fill(0);
for (const t of starts)
  buckets[Math.floor((t / cycleMs) * 10)] = (buckets[Math.floor((t / cycleMs) * 10)] ?? 0) + 1;
console.log(
  `runs measured: ${errors.length} (of ${results.length} results; reports ingested: ${posts})\n` +
    `measurement error (reported latency - delay the target measured), ms: ` +
    `p50 ${pct(0.5).toFixed(1)}, p99 ${pct(0.99).toFixed(1)}, max ${pct(1).toFixed(1)} ` +
    `(target: p99 ≤ 10 ms: ${pct(0.99) <= 10 ? 'met' : 'NOT met'})\n` +
    `runs per tenth of the interval: ${buckets.join(' ')}\n` +
    `start after the run's time, ms: p50 ${delay(0.5)}, p99 ${delay(0.99)}, max ${delay(1)}\n` +
    `the schedule began ${scheduledAt - startedAt} ms after start() (the worker thread loading)\n` +
    `runs: ${stats.runs} of ${expected} the schedule called for; late (> 10% of the interval): ` +
    `${stats.lateRuns}, at most ${stats.maxLateMs} ms; skipped: ${stats.skippedTicks}; ` +
    `unaccounted for: ${expected - stats.runs - stats.skippedTicks} ` +
    `(load average now ${loadavg()[0]?.toFixed(1)})`,
);
process.exit(0);
