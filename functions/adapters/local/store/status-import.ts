import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertNotification, ProbeCompletedDetail } from '../../../core/events';
import type { RunCatalog, RunEntry } from '../../../core/status/catalog';
import type { IncidentStore, ProbeHistoryStore } from '../../../core/status/types';
import { logger } from '../../../shared/powertools';

/**
 * Earlier versions kept the dashboard's data as JSON-lines journals under `<dataDir>/status/`.
 * On the first start with the embedded store they are replayed into it (the stores are
 * idempotent; a torn line, or one that is not a record, is skipped and counted) and the folder is renamed
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
  // A line that parses but is not a record (a flipped bit in a key) is skipped too.
  let invalid = 0;
  const replay = async <T>(records: unknown[], apply: (r: T) => Promise<unknown>) => {
    let done = 0;
    for (const record of records)
      try {
        await apply(record as T);
        done++;
      } catch (error) {
        invalid++;
        logger.warn('skipped a record of the status journal it could not replay', { error });
      }
    return done;
  };
  const imported = {
    probes: await replay(probes.records, (s: ProbeCompletedDetail) => stores.probes.record(s)),
    incidents: await replay(incidents.records, (n: AlertNotification) => stores.incidents.apply(n)),
    runs: await replay(runs.records, (r: RunEntry) => stores.catalog.record(r, ttlDays)),
  };
  await rename(dir, join(dataDir, 'status.imported'));
  return { ...imported, skipped: probes.skipped + incidents.skipped + runs.skipped + invalid };
};
