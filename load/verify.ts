import { FileArchive } from '../functions/adapters/local/archive';
import { LocalStore } from '../functions/adapters/local/store';
import { type ArchivePointer, SOURCES } from '../functions/core/events';
import type { VerifyCounts } from './summary';

/**
 * Did every accepted result land exactly once? Reads a local-mode data directory (see
 * docs/durability.md) after a run whose run ids all start with one prefix, through a
 * connection of its own (safe while the server runs):
 *
 * - the ledger: a completed entry `<project>#<runId>`;
 * - the event log: exactly one ingest event with that run id, whose raw payload and normalized
 *   result are in the archive with the bytes its pointers name;
 * - the dead letters: none of its events (a dead letter = a downstream handler gave up);
 * - the run history: how many of the runs are recorded (`history`; the history handler may
 *   still be catching up while the server runs).
 *
 * lost = accepted (2xx) but missing or incomplete anywhere above; duplicated = stored more
 * than once; unexpected = stored under this prefix without a 2xx answer (the client gave up
 * or never saw the answer, yet Vigil kept it); late = those of `unexpected` whose request got
 * no answer at all (given in `unanswered`: the client timed out), not a loss; deadLettered =
 * stored, but a downstream target (metrics, alerts, history) gave up on its event: not lost (it
 * waits in the dead letters, as in an SQS dead-letter queue on AWS), but not fully processed
 * either.
 */

export interface VerifyReport extends VerifyCounts {
  accepted: number;
  /** Of `unexpected`: stored although the client gave up waiting (in `unanswered`). */
  late: number;
  ledgerDone: number;
  archived: number;
  normalized: number;
  events: number;
  /** Runs in the run history (each once: a second record counts as duplicated). */
  history: number;
  /** A few run ids of each problem, for the message. */
  examples: { lost: string[]; duplicated: string[]; unexpected: string[]; deadLettered: string[] };
}

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

interface IngestMetadata {
  project?: unknown;
  runId?: unknown;
  archive?: ArchivePointer;
  normalized?: ArchivePointer;
}

const metadataOf = (event: unknown): IngestMetadata =>
  (event as { detail?: { metadata?: IngestMetadata } } | undefined)?.detail?.metadata ?? {};

export const verifyDataDir = async (opts: {
  dataDir: string;
  project: string;
  runPrefix: string;
  /** Run ids answered with a 2xx. */
  accepted: readonly string[];
  /** Run ids whose request got no answer (timeout, network error). */
  unanswered?: readonly string[];
}): Promise<VerifyReport> => {
  const ours = new RegExp(`^${opts.runPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`);
  const ledgerPrefix = `${opts.project}#`;
  const store = LocalStore.open(opts.dataDir, { lock: false });
  const archive = new FileArchive(opts.dataDir);
  const ledgerDone = new Map<string, number>();
  const raw = new Map<string, number>();
  const normalized = new Map<string, number>();
  const events = new Map<string, number>();
  const history = new Map<string, number>();
  const dead = new Map<string, number>();
  try {
    const like = `${ledgerPrefix}${opts.runPrefix}%`;
    for (const { key } of store.db.q('SELECT key FROM ledger WHERE key LIKE ?').all(like) as {
      key: string;
    }[]) {
      const runId = key.slice(ledgerPrefix.length);
      if (key.startsWith(ledgerPrefix) && ours.test(runId)) count(ledgerDone, runId);
    }

    const readable = async (pointer: ArchivePointer | undefined): Promise<boolean> => {
      if (!pointer) return false;
      try {
        await archive.get(pointer);
        return true;
      } catch {
        return false;
      }
    };
    for (const event of store.log.all()) {
      const { project, runId, ...pointers } = metadataOf(event);
      if (
        event.source !== SOURCES.ingest ||
        project !== opts.project ||
        typeof runId !== 'string' ||
        !ours.test(runId)
      )
        continue;
      count(events, runId);
      if (await readable(pointers.archive)) count(raw, runId);
      if (await readable(pointers.normalized)) count(normalized, runId);
    }

    for (const { body } of store.db
      .q('SELECT body FROM runs WHERE project = ?')
      .all(opts.project) as { body: string }[]) {
      const { runId } = JSON.parse(body) as { runId?: unknown };
      if (typeof runId === 'string' && ours.test(runId)) count(history, runId);
    }

    for (const letter of store.log.deadLetters()) {
      const { project, runId } = metadataOf(letter.event);
      if (project === opts.project && typeof runId === 'string' && ours.test(runId))
        count(dead, runId);
    }
  } finally {
    store.close();
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
    if (answers > 1 || (events.get(runId) ?? 0) > 1 || (history.get(runId) ?? 0) > 1)
      duplicated.push(runId);
  }
  const stored = new Set([...ledgerDone.keys(), ...events.keys(), ...history.keys()]);
  const unexpected = [...stored].filter((runId) => !accepted.has(runId));
  const unanswered = new Set(opts.unanswered);

  const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
  return {
    accepted: opts.accepted.length,
    lost: lost.length,
    duplicated: duplicated.length,
    unexpected: unexpected.length,
    late: unexpected.filter((runId) => unanswered.has(runId)).length,
    deadLettered: dead.size,
    ledgerDone: sum(ledgerDone),
    archived: sum(raw),
    normalized: sum(normalized),
    events: sum(events),
    history: sum(history),
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
  `verify: ${v.accepted} accepted; stored ${v.ledgerDone} ledger entries, ${v.archived} payloads, ${v.normalized} normalized, ${v.events} events, ${v.history} in the run history → ${v.lost} lost, ${v.duplicated} duplicated, ${v.unexpected} unexpected, ${v.deadLettered} dead-lettered${
    v.lost + v.duplicated + v.unexpected + v.deadLettered > 0
      ? ` (e.g. ${Object.values(v.examples).flat().slice(0, 3).join(', ')})`
      : ''
  }`;
