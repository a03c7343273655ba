import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertNotification, ProbeCompletedDetail } from '../../core/events';
import type { Clock } from '../../core/ports';
import type { RunCatalog, RunEntry } from '../../core/status/catalog';
import type { IncidentStore, ProbeHistoryStore } from '../../core/status/types';
import { MemoryIncidentStore, MemoryProbeHistoryStore, MemoryRunCatalog } from './status-memory';

/**
 * Local mode's status stores until the embedded store implements these ports: the memory
 * stores, with every input written ahead to a JSON-lines journal under `<dataDir>/status/` and
 * replayed on start (the stores are idempotent, so a line applied twice changes nothing; a torn
 * last line from a crash is skipped). Swap in another implementation of the same ports at
 * `openLocalStatusStores`.
 */

export interface LocalStatusStores {
  probes: ProbeHistoryStore;
  incidents: IncidentStore;
  catalog: RunCatalog;
}

const isMissing = (e: unknown): boolean => (e as { code?: string }).code === 'ENOENT';

/** Replay a journal into `apply`; returns the append function for new inputs. */
const journal = async <T>(
  file: string,
  apply: (input: T) => void,
): Promise<(input: T) => Promise<void>> => {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      apply(JSON.parse(line) as T);
    } catch {
      // A torn line (a crash mid-append) holds nothing that was acknowledged.
    }
  }
  // A torn last line must not glue itself to the next record.
  let needsNewline = text.length > 0 && !text.endsWith('\n');
  return async (input) => {
    const line = `${needsNewline ? '\n' : ''}${JSON.stringify(input)}\n`;
    needsNewline = false;
    await appendFile(file, line);
    apply(input);
  };
};

export const openLocalStatusStores = async (
  dataDir: string,
  clock: Clock,
  retentionDays: number,
): Promise<LocalStatusStores> => {
  const dir = join(dataDir, 'status');
  await mkdir(dir, { recursive: true });
  const probes = new MemoryProbeHistoryStore(clock);
  const incidents = new MemoryIncidentStore();
  const catalog = new MemoryRunCatalog();
  const [addSample, addNotification, addRun] = await Promise.all([
    journal<ProbeCompletedDetail>(join(dir, 'probes.jsonl'), (s) => probes.recordSync(s)),
    journal<AlertNotification>(join(dir, 'incidents.jsonl'), (n) => incidents.applySync(n)),
    journal<RunEntry>(join(dir, 'runs.jsonl'), (r) => catalog.recordSync(r)),
  ]);
  await probes.prune(new Date(clock.now().getTime() - retentionDays * 86_400_000).toISOString());
  return {
    probes: {
      record: addSample,
      rollups: (q) => probes.rollups(q),
      latest: (project) => probes.latest(project),
      failures: (q) => probes.failures(q),
      prune: (olderThan) => probes.prune(olderThan),
    },
    incidents: { apply: addNotification, list: (q) => incidents.list(q) },
    catalog: {
      record: (entry) => addRun(entry),
      get: (project, runId) => catalog.get(project, runId),
      latest: () => catalog.latest(),
      trend: (q) => catalog.trend(q),
    },
  };
};
