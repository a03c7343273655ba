import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertNotification, ProbeCompletedDetail } from '../../../core/events';
import type { RunCatalog, RunEntry } from '../../../core/status/catalog';
import type { IncidentStore, ProbeHistoryStore } from '../../../core/status/types';

/**
 * Earlier versions kept the dashboard's data as JSON-lines journals under `<dataDir>/status/`.
 * On the first start with the embedded store they are replayed into it (the stores are
 * idempotent; a torn last line from a crash is skipped) and the folder is renamed
 * `status.imported`, so the import runs once.
 */

export interface StatusStores {
  probes: ProbeHistoryStore;
  incidents: IncidentStore;
  catalog: RunCatalog;
}

export interface StatusImport {
  probes: number;
  incidents: number;
  runs: number;
  skipped: number;
}

const lines = async (file: string): Promise<{ records: unknown[]; skipped: number }> => {
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  const records: unknown[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
};

export const importStatusJournal = async (
  dataDir: string,
  stores: StatusStores,
  ttlDays: number,
): Promise<StatusImport | undefined> => {
  const dir = join(dataDir, 'status');
  if (!existsSync(dir)) return undefined;
  const [probes, incidents, runs] = await Promise.all([
    lines(join(dir, 'probes.jsonl')),
    lines(join(dir, 'incidents.jsonl')),
    lines(join(dir, 'runs.jsonl')),
  ]);
  for (const s of probes.records) await stores.probes.record(s as ProbeCompletedDetail);
  for (const n of incidents.records) await stores.incidents.apply(n as AlertNotification);
  for (const r of runs.records) await stores.catalog.record(r as RunEntry, ttlDays);
  await rename(dir, join(dataDir, 'status.imported'));
  return {
    probes: probes.records.length,
    incidents: incidents.records.length,
    runs: runs.records.length,
    skipped: probes.skipped + incidents.skipped + runs.skipped,
  };
};
