import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerClaim, RunLedger } from '../../core/ports';

interface Entry {
  key: string;
  fingerprint: string;
  state: 'in_progress' | 'done';
  claimedAt: number;
  response?: unknown;
}

const isMissing = (e: unknown): boolean => (e as { code?: string }).code === 'ENOENT';

/**
 * Run ledger as one small JSON file per run under `<dataDir>/runs/`. `claim` is an
 * exclusive create (`wx`), the file-system twin of DynamoDB's conditional put.
 */
export class FileRunLedger implements RunLedger {
  readonly #dir: string;
  readonly #staleClaimMs: number;
  readonly #now: () => number;

  constructor(dataDir: string, opts: { staleClaimMs?: number; now?: () => number } = {}) {
    this.#dir = join(dataDir, 'runs');
    this.#staleClaimMs = opts.staleClaimMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  #path(key: string): string {
    return join(this.#dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async claim(key: string, fingerprint: string): Promise<LedgerClaim> {
    await mkdir(this.#dir, { recursive: true });
    const entry: Entry = { key, fingerprint, state: 'in_progress', claimedAt: this.#now() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(this.#path(key), JSON.stringify(entry), { flag: 'wx' });
        return { state: 'new' };
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
      }
      const existing = await this.#read(key);
      if (!existing) continue;
      if (existing.state === 'done')
        return existing.fingerprint === fingerprint
          ? { state: 'duplicate', response: existing.response }
          : { state: 'conflict', reason: 'different_content', fingerprint: existing.fingerprint };
      if (this.#now() - existing.claimedAt < this.#staleClaimMs)
        return existing.fingerprint === fingerprint
          ? { state: 'conflict', reason: 'in_progress' }
          : { state: 'conflict', reason: 'different_content', fingerprint: existing.fingerprint };
      await this.release(key); // a stale claim from a crashed ingest: take it over
    }
    return { state: 'conflict', reason: 'in_progress' };
  }

  async complete(key: string, fingerprint: string, response: unknown): Promise<void> {
    const entry: Entry = { key, fingerprint, state: 'done', claimedAt: this.#now(), response };
    const tmp = `${this.#path(key)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, this.#path(key));
  }

  async release(key: string): Promise<void> {
    const existing = await this.#read(key);
    if (existing?.state !== 'in_progress') return;
    await unlink(this.#path(key)).catch((e) => {
      if (!isMissing(e)) throw e;
    });
  }

  async #read(key: string): Promise<Entry | undefined> {
    try {
      return JSON.parse(await readFile(this.#path(key), 'utf8')) as Entry;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }
}
