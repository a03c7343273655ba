/**
 * `npm run bench:disk`: the disk a probe costs in local mode's store (`<dataDir>/vigil.db`).
 * N HTTP probes run through the local pipeline (`startLocal`: scheduler, worker thread, bus,
 * stores) against an HTTP server on loopback for a bounded time, in a fresh data directory.
 * SQLite's `dbstat` table gives each table's pages (its indexes included) before and after:
 *
 * - measured: the bytes each check adds (pages, free space in them included) to the raw metric
 *   points, the event log and the probes' per-check keys (`probe_seen`); the bytes in use per
 *   row of the probe rollups and the latest sample; then, after a retention pass that rolls
 *   the raw points up per hour (all but those of the newest instant), the bytes per hourly
 *   metric rollup.
 * - computed: the bytes a probe adds a day and holds in steady state with the default
 *   retention, for checks every 10, 60 and 300 s: per-check bytes × the checks each kind
 *   keeps, plus the rollups' rows per probe.
 *
 * Options: --probes 20, --interval 1 (s), --seconds 60.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'libsql';
import { LocalStore } from '../functions/adapters/local/store';
import { DB_FILE } from '../functions/adapters/local/store/database';
import { MINUTE_RETENTION_DAYS } from '../functions/core/status/rollup';
import { startWithProbes } from './bench-local-probes';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '20' },
    interval: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '60' },
  },
});
const PROBES = Number(values.probes);
const INTERVAL_S = Number(values.interval);
const SECONDS = Number(values.seconds);

const DAY_S = 86_400;
/** The default retention (docs/durability.md "Retention"), days. */
const RETENTION = { metricDays: 30, rollupDays: 400, eventDays: 1, statusDays: 90 };

/** The kind of data each table holds. */
const KIND: Record<string, string> = {
  metrics: 'raw metric points',
  metric_rollups: 'hourly metric rollups',
  events: 'events',
  acks: 'events',
  cursors: 'events',
  probe_seen: 'probe check keys',
  probe_buckets: 'probe rollups',
  probe_latest: 'probe latest sample',
  probe_failures: 'probe failures',
};

interface TableSize {
  /** Bytes of its pages and its indexes' pages. */
  pages: number;
  /** Of which in use (the pages' free space not counted). */
  used: number;
  rows: number;
}

/** Each table's size from SQLite's dbstat (indexes counted with their table). */
const sizes = (dataDir: string): Map<string, TableSize> => {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT m.tbl_name AS name, sum(s.pgsize) AS pages, sum(s.pgsize - s.unused) AS used
         FROM dbstat s JOIN sqlite_schema m ON m.name = s.name GROUP BY m.tbl_name`,
      )
      .all() as { name: string; pages: number; used: number }[];
    return new Map(
      rows.map((r) => {
        const { n } = db.prepare(`SELECT count(*) AS n FROM "${r.name}"`).get() as { n: number };
        return [r.name, { pages: r.pages, used: r.used, rows: n }];
      }),
    );
  } finally {
    db.close();
  }
};
const empty: TableSize = { pages: 0, used: 0, rows: 0 };
const of = (m: Map<string, TableSize>, table: string): TableSize => m.get(table) ?? empty;
/** Bytes in use per row of a table. */
const perRow = (t: TableSize): number => (t.rows ? t.used / t.rows : 0);
const load = () => `load average ${loadavg()[0]?.toFixed(2)}`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

const server = createServer((_, res) => res.end('ok'));
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-disk-'));
console.log(
  `disk bench: ${PROBES} HTTP probes every ${INTERVAL_S} s for ${SECONDS} s through local mode ` +
    `(fresh data directory, target on loopback); ${load()}`,
);
try {
  const pipeline = await startWithProbes(base, PROBES, INTERVAL_S, dataDir);
  const before = sizes(dataDir);
  pipeline.probes.start();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await pipeline.probes.stop();
  await pipeline.close();
  const after = sizes(dataDir);

  const checks = of(after, 'probe_seen').rows;
  const series = new Database(join(dataDir, DB_FILE), { readonly: true });
  const { n: seriesPerProbe } = series
    .prepare('SELECT count(DISTINCT name || dims) * 1.0 / ? AS n FROM metrics')
    .get(PROBES) as { n: number };
  series.close();

  // Measured: what each kind of data grew by, per check.
  const grown = new Map<string, number>();
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const kind = KIND[name] ?? 'other';
    const delta = of(after, name).pages - of(before, name).pages;
    grown.set(kind, (grown.get(kind) ?? 0) + delta);
  }
  console.log(
    `\nmeasured: ${checks} checks (${(checks / PROBES).toFixed(0)} per probe); bytes the tables grew by per check (pages; probe rollups and the latest sample are counted by row below):`,
  );
  for (const [kind, bytes] of [...grown].sort((a, b) => b[1] - a[1]))
    console.log(`  ${kind.padEnd(24)} ${(bytes / checks).toFixed(0).padStart(6)} B`);
  const bucketRow = perRow(of(after, 'probe_buckets'));
  const latestRow = perRow(of(after, 'probe_latest'));
  console.log(
    `measured: bytes in use per row: probe rollup ${bucketRow.toFixed(0)} B, latest sample ` +
      `${latestRow.toFixed(0)} B; metric series per probe: ${seriesPerProbe.toFixed(2)} (a series of all probes counts 1/${PROBES})`,
  );

  // A retention pass that rolls the raw points up per hour (all but the newest instant's, the
  // reference) and drops the delivered events: as
  // retention counts from the newest record, never past it (a clock moved ahead drops nothing),
  // with no days of raw points and no hours of events kept.
  const store = LocalStore.open(dataDir);
  const cpu = process.cpuUsage();
  const pruned = store.prune({ metricDays: 0, eventHours: 0 });
  store.close(); // flushes the group commit the dashboard data's prune is queued in
  const { user, system } = process.cpuUsage(cpu);
  const kept = sizes(dataDir);
  const rollupRow = perRow(of(kept, 'metric_rollups'));
  console.log(
    `measured: retention pass (raw points rolled up): ${((user + system) / 1000).toFixed(0)} ms CPU; ` +
      `events dropped ${pruned.events}, metric points rolled up ${pruned.metrics}; rows left: ` +
      ['metrics', 'events', 'probe_seen', 'probe_buckets', 'metric_rollups']
        .map((t) => `${t} ${of(kept, t).rows}`)
        .join(', ') +
      `; bytes in use per hourly metric rollup ${rollupRow.toFixed(0)} B`,
  );

  // Computed: per probe, with the default retention.
  /** The kinds of data each check adds, with the days they are kept. */
  const perCheck = (
    [
      ['raw metric points', RETENTION.metricDays],
      ['events', RETENTION.eventDays],
      ['probe check keys', MINUTE_RETENTION_DAYS],
    ] as const
  ).map(([kind, days]) => ({ bytes: (grown.get(kind) ?? 0) / checks, days }));
  console.log(
    '\ncomputed: disk per probe with the default retention (per-check bytes × checks kept, ' +
      'plus rollup rows × bytes per row)',
  );
  console.log(
    `  ${'interval'.padEnd(9)}${'added/day'.padStart(11)}${'steady state'.padStart(14)}` +
      '   (raw points 30 d, events 1 d, check keys 2 d, probe rollups, metric rollups 370 d)',
  );
  for (const interval of [10, 60, 300]) {
    const perDay = DAY_S / interval;
    /** Probe rollup rows a day: the minutes with a check, 24 hours, 1 day. */
    const bucketsPerDay = Math.min(1440, perDay) + 25;
    const parts = [
      ...perCheck.map((k) => k.bytes * perDay * k.days),
      bucketRow *
        (bucketsPerDay * MINUTE_RETENTION_DAYS +
          25 * (RETENTION.statusDays - MINUTE_RETENTION_DAYS)) +
        latestRow,
      rollupRow * seriesPerProbe * 24 * (RETENTION.rollupDays - RETENTION.metricDays),
    ];
    const added = perCheck.reduce((sum, k) => sum + k.bytes * perDay, bucketRow * bucketsPerDay);
    console.log(
      `  ${`${interval} s`.padEnd(9)}${kb(added).padStart(11)}${mib(parts.reduce((a, b) => a + b)).padStart(14)}` +
        `   (${parts.map(kb).join(' + ')})`,
    );
  }
  console.log(load());
} finally {
  server.close();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(0);
