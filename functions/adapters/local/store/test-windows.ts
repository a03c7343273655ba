import type { TestOutcome } from '../../../core/history/types';
import { bumpMeta, metaValue, type StoreDb } from './database';

/**
 * A test's window of outcomes as the embedded store keeps it. What the outcomes of one run share
 * (run id, time, branch, commit: most of an outcome's bytes) is stored once, as a row of
 * `window_runs` numbered by `ref`; a window is then a JSON array of three numbers per outcome,
 * oldest first: the ref, the status (0 skipped, 1 passed, 2 failed; 3 more when retried) and the
 * duration in ms. A full window is ~0.3 KB instead of ~6 KB of JSON, so a report writes about
 * an eighth of the bytes. Refs are never reused (AUTOINCREMENT).
 *
 * Each connection keeps the refs it has seen in memory. A ref is remembered only once the
 * transaction that created it has committed, and `prune` (which deletes the refs no live window
 * can hold any more) bumps a counter in `meta` that makes every connection forget them.
 */

interface RunPart {
  ref: number;
  project: string;
  runId: string;
  at: string;
  branch: string | undefined;
  commit: string | undefined;
}

interface RunRow {
  ref: number;
  project: string;
  run_id: string;
  at: string;
  branch: string | null;
  commit_id: string | null;
}

const STATUSES = ['skipped', 'passed', 'failed'] as const;
/** Each status's code: its index in STATUSES. */
const CODES = Object.fromEntries(STATUSES.map((s, i) => [s, i])) as Record<
  TestOutcome['status'],
  number
>;
const NONE: readonly RunPart[] = [];
const RETRIED = 3;
const PRUNED = 'window_runs_pruned';

const part = (
  ref: number,
  project: string,
  runId: string,
  at: string,
  branch: string | undefined,
  commit: string | undefined,
): RunPart => ({ ref, project, runId, at, branch, commit });

/**
 * An outcome of the run. Written out as one literal in the common case: spreading a shared
 * object into each outcome made reading a window ~30 times slower.
 */
const outcomeOf = (
  { runId, at, branch, commit }: RunPart,
  status: TestOutcome['status'],
  retried: boolean,
  durationMs: number,
): TestOutcome => {
  if (branch !== undefined && commit !== undefined)
    return { runId, at, branch, commit, status, retried, durationMs };
  const o: TestOutcome = { runId, at, status, retried, durationMs };
  if (branch !== undefined) o.branch = branch;
  if (commit !== undefined) o.commit = commit;
  return o;
};

const sameRun = (p: RunPart, project: string, o: TestOutcome): boolean =>
  p.project === project && p.at === o.at && p.branch === o.branch && p.commit === o.commit;

export interface EncodedWindow {
  /** The JSON of `numbers`: what is stored. */
  window: string;
  /** The smallest ref in the window (null when empty): what `prune` keeps. */
  minRef: number | null;
  numbers: number[];
}

/** A window encoded before (still stored), as the start of the next one (see `encode`). */
export interface PreviousWindow {
  outcomes: readonly TestOutcome[];
  encoded: EncodedWindow;
}

/** The text of the elements of the JSON array of numbers `json` from element `from` on. */
const elementsFrom = (json: string, from: number): string => {
  let at = 1;
  for (let k = 0; k < from; k++) at = json.indexOf(',', at) + 1;
  return json.slice(at, -1);
};

/**
 * The numbers of `previous` that `outcomes` keeps, and their JSON text, when `outcomes` is
 * `previous` less some of its oldest outcomes (the very same objects) plus one new outcome
 * last: what appending a run's outcome to a window gives. None when it is anything else, or
 * there is no `previous`.
 */
const keptOf = (
  previous: PreviousWindow | undefined,
  outcomes: readonly TestOutcome[],
): { numbers: number[]; text: string } => {
  const none = { numbers: [], text: '' };
  if (!previous) return none;
  const kept = outcomes.length - 1;
  const drop = previous.outcomes.length - kept;
  if (drop < 0) return none;
  for (let j = 0; j < kept; j++) if (outcomes[j] !== previous.outcomes[j + drop]) return none;
  const numbers = previous.encoded.numbers.slice(drop * 3);
  return {
    numbers,
    text: numbers.length === 0 ? '' : elementsFrom(previous.encoded.window, drop * 3),
  };
};

export class TestWindows {
  readonly #db: StoreDb;
  readonly #byRef = new Map<number, RunPart>();
  readonly #byRunId = new Map<string, RunPart[]>();
  #pruned: string | undefined;

  constructor(db: StoreDb) {
    this.#db = db;
  }

  #remember(part: RunPart): void {
    this.#byRef.set(part.ref, part);
    const same = this.#byRunId.get(part.runId);
    if (!same) this.#byRunId.set(part.runId, [part]);
    else if (!same.some((p) => p.ref === part.ref)) same.push(part);
  }

  /**
   * Starts encoding in a write transaction: forgets the refs if a prune ran since. `fresh`
   * collects the refs found or made in it; pass it to `committed` once the transaction is.
   */
  begin(): RunPart[] {
    const pruned = metaValue(this.#db, PRUNED);
    if (pruned !== this.#pruned) {
      this.#byRef.clear();
      this.#byRunId.clear();
      this.#pruned = pruned;
    }
    return [];
  }

  committed(fresh: readonly RunPart[]): void {
    for (const part of fresh) this.#remember(part);
  }

  #ref(project: string, o: TestOutcome, fresh: RunPart[]): number {
    // Plain loops: this runs for every outcome of every window written (12,000 per report).
    for (const p of this.#byRunId.get(o.runId) ?? NONE) if (sameRun(p, project, o)) return p.ref;
    for (const p of fresh) if (p.runId === o.runId && sameRun(p, project, o)) return p.ref;
    const args = [project, o.runId, o.at, o.branch ?? null, o.commit ?? null];
    const found = this.#db
      .q(
        `SELECT ref FROM window_runs WHERE project = ? AND run_id = ? AND at = ? AND branch IS ?
         AND commit_id IS ?`,
      )
      .get(...args) as { ref: number } | undefined;
    const ref =
      found?.ref ??
      Number(
        this.#db
          .q(
            'INSERT INTO window_runs (project, run_id, at, branch, commit_id) VALUES (?, ?, ?, ?, ?)',
          )
          .run(...args).lastInsertRowid,
      );
    fresh.push(part(ref, project, o.runId, o.at, o.branch, o.commit));
    return ref;
  }

  /**
   * The stored form of a window; in the write transaction `begin` was called in. With the
   * `previous` encoding of the same test's window (still stored), a window that is it plus one
   * outcome reuses its numbers: only the new outcome is looked up (a report appends one outcome
   * to each of its tests' windows).
   */
  encode(
    project: string,
    outcomes: readonly TestOutcome[],
    fresh: RunPart[],
    previous?: PreviousWindow,
  ): EncodedWindow {
    // The numbers kept are not written again: their text is cut from the previous JSON.
    const { numbers, text: keptText } = keptOf(previous, outcomes);
    const added: number[] = [];
    for (let i = numbers.length / 3; i < outcomes.length; i++) {
      const o = outcomes[i] as TestOutcome;
      const status = CODES[o.status];
      added.push(this.#ref(project, o, fresh), o.retried ? status + RETRIED : status, o.durationMs);
    }
    numbers.push(...added);
    let minRef: number | null = null;
    for (let i = 0; i < numbers.length; i += 3) {
      const ref = numbers[i] as number;
      if (minRef === null || ref < minRef) minRef = ref;
    }
    const addedText = JSON.stringify(added).slice(1, -1);
    const window = `[${keptText}${keptText && addedText ? ',' : ''}${addedText}]`;
    return { window, minRef, numbers };
  }

  /** The outcomes of a stored window; undefined when it is damaged. */
  decode(window: unknown): TestOutcome[] | undefined {
    let numbers: unknown;
    try {
      numbers = typeof window === 'string' ? JSON.parse(window) : undefined;
    } catch {
      return undefined;
    }
    if (!Array.isArray(numbers) || numbers.length % 3 !== 0) return undefined;
    const outcomes: TestOutcome[] = [];
    for (let i = 0; i < numbers.length; i += 3) {
      const run = this.#part(numbers[i]);
      const code: unknown = numbers[i + 1];
      const status = typeof code === 'number' ? STATUSES[code % RETRIED] : undefined;
      const durationMs: unknown = numbers[i + 2];
      if (!run || !status || typeof durationMs !== 'number') return undefined;
      outcomes.push(outcomeOf(run, status, (code as number) >= RETRIED, durationMs));
    }
    return outcomes;
  }

  #part(ref: unknown): RunPart | undefined {
    const cached = this.#byRef.get(ref as number);
    if (cached || typeof ref !== 'number') return cached;
    const r = this.#db.q('SELECT * FROM window_runs WHERE ref = ?').get(ref) as RunRow | undefined;
    if (!r) return undefined;
    const found = part(
      r.ref,
      r.project,
      r.run_id,
      r.at,
      r.branch ?? undefined,
      r.commit_id ?? undefined,
    );
    this.#remember(found);
    return found;
  }

  /**
   * Deletes the refs no live window holds: per project, those below the smallest `min_ref` of
   * its tests (all of them when it has none). In a write transaction, after the expired tests
   * are deleted.
   */
  prune(): number {
    const live = new Map(
      (
        this.#db.q('SELECT project, min(min_ref) AS m FROM tests GROUP BY project').all() as {
          project: string;
          m: number | null;
        }[]
      ).map((r) => [r.project, r.m ?? Number.MAX_SAFE_INTEGER]),
    );
    const projects = this.#db.q('SELECT DISTINCT project FROM window_runs').all() as {
      project: string;
    }[];
    let deleted = 0;
    for (const { project } of projects)
      deleted += this.#db
        .q('DELETE FROM window_runs WHERE project = ? AND ref < ?')
        .run(project, live.get(project) ?? Number.MAX_SAFE_INTEGER).changes;
    if (deleted > 0) bumpMeta(this.#db, PRUNED);
    return deleted;
  }
}

/**
 * Stores the windows of the tests still in the old form (the whole record as JSON in `body`,
 * `window` NULL): written by a version before windows were compact, or imported from a
 * file-format data directory. In a write transaction. Returns how many it converted.
 */
export const compactWindows = (db: StoreDb): number => {
  const windows = new TestWindows(db);
  const fresh = windows.begin();
  const rows = db.q('SELECT project, id, body FROM tests WHERE window IS NULL').all() as {
    project: string;
    id: string;
    body: string;
  }[];
  const update = db.q(
    'UPDATE tests SET body = ?, window = ?, min_ref = ? WHERE project = ? AND id = ?',
  );
  let converted = 0;
  for (const r of rows) {
    let record: { outcomes?: unknown } | undefined;
    try {
      record = JSON.parse(r.body) as { outcomes?: unknown };
    } catch {
      continue; // damaged: stays unreadable, as it was, until a write replaces it
    }
    if (!Array.isArray(record?.outcomes)) continue;
    const {
      outcomes,
      project: _p,
      id: _i,
      version: _v,
      ...rest
    } = record as Record<string, unknown> & { outcomes: TestOutcome[] };
    const { window, minRef } = windows.encode(r.project, outcomes, fresh);
    update.run(JSON.stringify(rest), window, minRef, r.project, r.id);
    // Remembered at once: this codec goes with the transaction, committed or not.
    windows.committed(fresh.splice(0));
    converted++;
  }
  return converted;
};
