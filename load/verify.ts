import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { SOURCES } from '../functions/core/events';
import type { VerifyCounts } from './summary';

/**
 * Did every accepted result land exactly once? Reads a local-mode data directory (see README,
 * "Local mode") after a run whose run ids all start with one prefix:
 *
 * - `runs/*.json` (ledger): a completed entry `<project>#<runId>`;
 * - `archive/<project>/…/<runId>.<ext>` and `<runId>.normalized.json`: one of each;
 * - `events.ndjson`: exactly one ingest event with that run id;
 * - `dead-letter.ndjson`: none of its events (a dead letter = a downstream handler gave up).
 *
 * lost = accepted (2xx) but missing or incomplete anywhere above; duplicated = stored more
 * than once; unexpected = stored under this prefix without a 2xx answer (the client gave up
 * or never saw the answer, yet Vigil kept it); deadLettered = stored, but a downstream target
 * (metrics, alerts, history) gave up on its event: not lost (it waits in the dead-letter file,
 * as in an SQS dead-letter queue on AWS), but not fully processed either.
 */

export interface VerifyReport extends VerifyCounts {
  accepted: number;
  ledgerDone: number;
  ledgerInProgress: number;
  archived: number;
  normalized: number;
  events: number;
  /** A few run ids of each problem, for the message. */
  examples: { lost: string[]; duplicated: string[]; unexpected: string[]; deadLettered: string[] };
}

const isMissing = (e: unknown): boolean => (e as { code?: string }).code === 'ENOENT';

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/** Lines of an ndjson file that mention `needle`, parsed. */
const ndjsonWith = async (path: string, needle: string): Promise<unknown[]> => {
  const out: unknown[] = [];
  try {
    const lines = createInterface({
      input: createReadStream(path),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      if (!line.includes(needle)) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // A line still being written: its run counts as missing, which is what it is so far.
      }
    }
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  return out;
};

const filesUnder = async (dir: string): Promise<string[]> => {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
};

const runIdOfEvent = (event: unknown): { source?: unknown; project?: unknown; runId?: unknown } => {
  const e = event as {
    source?: unknown;
    detail?: { metadata?: { project?: unknown; runId?: unknown } };
  };
  return {
    source: e.source,
    project: e.detail?.metadata?.project,
    runId: e.detail?.metadata?.runId,
  };
};

export const verifyDataDir = async (opts: {
  dataDir: string;
  project: string;
  runPrefix: string;
  /** Run ids answered with a 2xx. */
  accepted: readonly string[];
}): Promise<VerifyReport> => {
  const ours = new RegExp(`^${opts.runPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`);
  const ledgerPrefix = `${opts.project}#`;

  // Ledger.
  const ledgerDone = new Map<string, number>();
  const ledgerOpen = new Map<string, number>();
  for (const file of await filesUnder(join(opts.dataDir, 'runs'))) {
    if (!file.endsWith('.json')) continue;
    const text = await readFile(file, 'utf8');
    if (!text.includes(opts.runPrefix)) continue;
    const entry = JSON.parse(text) as { key?: string; state?: string };
    if (!entry.key?.startsWith(ledgerPrefix)) continue;
    const runId = entry.key.slice(ledgerPrefix.length);
    if (!ours.test(runId)) continue;
    count(entry.state === 'done' ? ledgerDone : ledgerOpen, runId);
  }

  // Archive: raw payload and normalized result per run.
  const raw = new Map<string, number>();
  const normalized = new Map<string, number>();
  for (const file of await filesUnder(join(opts.dataDir, 'archive', opts.project))) {
    const name = basename(file);
    if (name.endsWith('.normalized.json')) {
      const runId = name.slice(0, -'.normalized.json'.length);
      if (ours.test(runId)) count(normalized, runId);
    } else {
      const runId = name.slice(0, name.lastIndexOf('.'));
      if (ours.test(runId)) count(raw, runId);
    }
  }

  // Events on the bus, and events a target gave up on.
  const events = new Map<string, number>();
  for (const event of await ndjsonWith(join(opts.dataDir, 'events.ndjson'), opts.runPrefix)) {
    const { source, project, runId } = runIdOfEvent(event);
    if (
      source === SOURCES.ingest &&
      project === opts.project &&
      typeof runId === 'string' &&
      ours.test(runId)
    )
      count(events, runId);
  }
  const dead = new Map<string, number>();
  for (const line of await ndjsonWith(join(opts.dataDir, 'dead-letter.ndjson'), opts.runPrefix)) {
    const { project, runId } = runIdOfEvent((line as { event?: unknown }).event);
    if (project === opts.project && typeof runId === 'string' && ours.test(runId))
      count(dead, runId);
  }

  const accepted = new Map<string, number>();
  for (const runId of opts.accepted) count(accepted, runId);

  const lost: string[] = [];
  const duplicated: string[] = [];
  for (const [runId, answers] of accepted) {
    const complete =
      ledgerDone.get(runId) === 1 &&
      (raw.get(runId) ?? 0) >= 1 &&
      (normalized.get(runId) ?? 0) >= 1 &&
      (events.get(runId) ?? 0) >= 1;
    if (!complete) lost.push(runId);
    if (
      answers > 1 ||
      (raw.get(runId) ?? 0) > 1 ||
      (normalized.get(runId) ?? 0) > 1 ||
      (events.get(runId) ?? 0) > 1
    )
      duplicated.push(runId);
  }
  const stored = new Set([
    ...ledgerDone.keys(),
    ...ledgerOpen.keys(),
    ...raw.keys(),
    ...normalized.keys(),
    ...events.keys(),
  ]);
  const unexpected = [...stored].filter((runId) => !accepted.has(runId));

  const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
  return {
    accepted: opts.accepted.length,
    lost: lost.length,
    duplicated: duplicated.length,
    unexpected: unexpected.length,
    deadLettered: dead.size,
    ledgerDone: sum(ledgerDone),
    ledgerInProgress: sum(ledgerOpen),
    archived: sum(raw),
    normalized: sum(normalized),
    events: sum(events),
    examples: {
      lost: lost.slice(0, 5),
      duplicated: duplicated.slice(0, 5),
      unexpected: unexpected.slice(0, 5),
      deadLettered: [...dead.keys()].slice(0, 5),
    },
  };
};

/** One line for the console. */
export const describeVerify = (v: VerifyReport): string =>
  `verify: ${v.accepted} accepted; stored ${v.ledgerDone} ledger entries (${v.ledgerInProgress} in progress), ${v.archived} payloads, ${v.normalized} normalized, ${v.events} events → ${v.lost} lost, ${v.duplicated} duplicated, ${v.unexpected} unexpected, ${v.deadLettered} dead-lettered${
    v.lost + v.duplicated + v.unexpected + v.deadLettered > 0
      ? ` (e.g. ${Object.values(v.examples).flat().slice(0, 3).join(', ')})`
      : ''
  }`;
