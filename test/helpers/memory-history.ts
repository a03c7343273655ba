import type {
  HistoryStore,
  Page,
  RunKind,
  RunQuery,
  RunRecord,
  TestRecord,
  TestStatusFilter,
} from '../../functions/core/history/types';

/** In-memory `HistoryStore` for unit tests (same semantics as the file and DynamoDB stores). */
export class MemoryHistory implements HistoryStore {
  runs = new Map<string, RunRecord>();
  tests = new Map<string, TestRecord>();
  /** Make the next N `putTest` calls lose the race (as if another writer got there first). */
  loseRaces = 0;

  private page<T>(items: T[], limit: number, cursor?: string): Page<T> {
    const start = cursor ? Number(cursor) : 0;
    const end = start + limit;
    return {
      items: items.slice(start, end),
      ...(end < items.length ? { cursor: String(end) } : {}),
    };
  }

  private newestFirst(project: string): RunRecord[] {
    return [...this.runs.values()]
      .filter((r) => r.project === project)
      .sort((a, b) => b.ingestedAt.localeCompare(a.ingestedAt) || b.runId.localeCompare(a.runId));
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
          case 'all':
            return true;
        }
      })
      .sort((a, b) => a.id.localeCompare(b.id));
    return this.page(items, q.limit, q.cursor);
  }
}
