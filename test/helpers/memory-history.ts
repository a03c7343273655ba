import { VigilError } from '../../functions/core/errors';
import type {
  HistoryStore,
  Page,
  RunKind,
  RunQuery,
  RunRecord,
  TestRecord,
  TestStatusFilter,
} from '../../functions/core/history/types';

/** Orders strings close to how DynamoDB orders keys (UTF-8 bytes; equal but for astral characters), not by locale. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** In-memory `HistoryStore` for unit tests (same semantics as the file and DynamoDB stores). */
export class MemoryHistory implements HistoryStore {
  runs = new Map<string, RunRecord>();
  tests = new Map<string, TestRecord>();
  /** Make the next N `putTest` calls lose the race (as if another writer got there first). */
  loseRaces = 0;

  private page<T>(items: T[], limit: number, cursor?: string): Page<T> {
    const start = cursor ? Number(cursor) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new VigilError('bad_request', 'The cursor is not one this API returned.', {
        path: 'query.cursor',
      });
    const end = start + limit;
    return {
      items: items.slice(start, end),
      ...(end < items.length ? { cursor: String(end) } : {}),
    };
  }

  private newestFirst(project: string): RunRecord[] {
    return [...this.runs.values()]
      .filter((r) => r.project === project)
      .sort((a, b) => byCodePoint(b.ingestedAt, a.ingestedAt) || byCodePoint(b.runId, a.runId));
  }

  async putRun(run: RunRecord): Promise<void> {
    this.runs.set(`${run.project}#${run.ingestedAt}#${run.runId}`, structuredClone(run));
  }

  async listRuns(project: string, q: RunQuery): Promise<Page<RunRecord>> {
    const items = this.newestFirst(project).filter(
      (r) =>
        (q.kind === undefined || r.kind === q.kind) &&
        (q.branch === undefined || r.branch === q.branch) &&
        (q.suite === undefined || (r.suite ?? null) === q.suite),
    );
    return this.page(items, q.limit, q.cursor);
  }

  async series(
    project: string,
    kind: RunKind,
    suite: string | undefined,
    branch: string,
    limit: number,
  ): Promise<RunRecord[]> {
    return this.newestFirst(project)
      .filter((r) => r.kind === kind && r.suite === suite && r.branch === branch)
      .slice(0, limit);
  }

  async getTests(project: string, ids: readonly string[]): Promise<Map<string, TestRecord>> {
    const out = new Map<string, TestRecord>();
    for (const id of ids) {
      const t = this.tests.get(`${project}#${id}`);
      if (t) out.set(id, structuredClone(t));
    }
    return out;
  }

  async putTest(record: TestRecord, expectedVersion: number): Promise<boolean> {
    if (this.loseRaces > 0) {
      this.loseRaces--;
      return false;
    }
    if (record.version !== expectedVersion + 1)
      throw new VigilError('internal', `putTest: version must be ${expectedVersion + 1}`);
    const key = `${record.project}#${record.id}`;
    if ((this.tests.get(key)?.version ?? 0) !== expectedVersion) return false;
    this.tests.set(key, structuredClone(record));
    return true;
  }

  async listTests(
    project: string,
    q: { status: TestStatusFilter; limit: number; cursor?: string },
  ): Promise<Page<TestRecord>> {
    const items = [...this.tests.values()]
      .filter((t) => t.project === project)
      .filter((t) => {
        const last = t.outcomes.at(-1)?.status;
        switch (q.status) {
          case 'flaky':
            return t.flaky !== undefined;
          case 'failing':
            return last === 'failed';
          case 'passing':
            return last === 'passed';
          default:
            return true;
        }
      })
      .sort((a, b) => byCodePoint(a.id, b.id));
    return this.page(items, q.limit, q.cursor);
  }
}
