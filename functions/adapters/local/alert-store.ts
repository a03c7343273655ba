import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasPendingWork } from '../../core/alerts/delivery';
import type { AlertStateStore } from '../../core/alerts/service';
import type { AlertState } from '../../core/alerts/state';
import { VigilError } from '../../core/errors';
import type { AlertNotification } from '../../core/events';

/**
 * Alert state on the file system, under `<dataDir>/alerts/`:
 *
 * - `state/<sha256(checkKey)>.json`: one file per check, replaced atomically (temp + rename);
 * - `history.ndjson`: the latest notifications (bounded, oldest first).
 *
 * `putIfVersion` holds a per-check lock file (exclusive create, `wx`) while it compares the
 * stored version and renames the new state in place, so it is a compare-and-swap across
 * processes as well as within one. A lock left by a crashed process is taken over after
 * `staleLockMs`.
 */

export interface FileAlertStoreOptions {
  /** Notifications kept in history.ndjson. Default 200. */
  historyLimit?: number;
  /** How long to wait for a lock before failing. Default 5 000. */
  lockTimeoutMs?: number;
  /** A lock older than this is considered abandoned. Default 10 000. */
  staleLockMs?: number;
}

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FileAlertStore implements AlertStateStore {
  readonly #dir: string;
  readonly #stateDir: string;
  readonly #historyFile: string;
  readonly #historyLimit: number;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;

  constructor(dataDir: string, opts: FileAlertStoreOptions = {}) {
    this.#dir = join(dataDir, 'alerts');
    this.#stateDir = join(this.#dir, 'state');
    this.#historyFile = join(this.#dir, 'history.ndjson');
    this.#historyLimit = opts.historyLimit ?? 200;
    this.#lockTimeoutMs = opts.lockTimeoutMs ?? 5_000;
    this.#staleLockMs = opts.staleLockMs ?? 10_000;
  }

  #statePath(checkKey: string): string {
    return join(this.#stateDir, `${createHash('sha256').update(checkKey).digest('hex')}.json`);
  }

  async get(checkKey: string): Promise<AlertState | undefined> {
    return this.#readState(this.#statePath(checkKey));
  }

  async putIfVersion(state: AlertState, expectedVersion: number): Promise<boolean> {
    await mkdir(this.#stateDir, { recursive: true });
    const path = this.#statePath(state.checkKey);
    return this.#withLock(path, async () => {
      const current = await this.#readState(path);
      if ((current?.version ?? 0) !== expectedVersion) return false;
      await this.#replace(path, `${JSON.stringify(state)}\n`);
      return true;
    });
  }

  async appendHistory(notification: AlertNotification): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await this.#withLock(this.#historyFile, async () => {
      const lines = (await this.#readText(this.#historyFile)).split('\n').filter(Boolean);
      lines.push(JSON.stringify(notification));
      await this.#replace(this.#historyFile, `${lines.slice(-this.#historyLimit).join('\n')}\n`);
    });
  }

  async list(
    opts: { historyLimit?: number } = {},
  ): Promise<{ active: AlertState[]; history: AlertNotification[] }> {
    let files: string[] = [];
    try {
      files = (await readdir(this.#stateDir)).filter((f) => f.endsWith('.json'));
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
    const states = await Promise.all(files.map((f) => this.#readState(join(this.#stateDir, f))));
    const active = states.filter(
      (s): s is AlertState =>
        s !== undefined &&
        (s.status !== 'OK' || hasPendingWork(s) || (s.deliveries?.length ?? 0) > 0),
    );
    const limit = opts.historyLimit ?? this.#historyLimit;
    const history: AlertNotification[] = [];
    const lines = (await this.#readText(this.#historyFile)).split('\n').filter(Boolean);
    for (const line of lines.slice(-limit).reverse()) {
      try {
        history.push(JSON.parse(line) as AlertNotification);
      } catch {
        // A torn line (crash while writing an older version of the file): skip it.
      }
    }
    return { active, history };
  }

  async #readText(path: string): Promise<string> {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      if (code(e) === 'ENOENT') return '';
      throw e;
    }
  }

  async #readState(path: string): Promise<AlertState | undefined> {
    const text = await this.#readText(path);
    return text ? (JSON.parse(text) as AlertState) : undefined;
  }

  /** Atomic replace: readers see the old or the new file, never a partial one. */
  async #replace(path: string, content: string): Promise<void> {
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, content);
    await rename(tmp, path);
  }

  async #withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const lock = `${path}.lock`;
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (e) {
        if (code(e) !== 'EEXIST') throw e;
      }
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > this.#staleLockMs) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline)
        throw new VigilError('unavailable', 'alert state is locked by another writer; try again');
      await sleep(wait + Math.random() * wait);
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}
