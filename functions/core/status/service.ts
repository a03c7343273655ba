import { DETAIL_TYPES, SOURCES } from '../event-names';
import type { HeartbeatCheckedDetail, KnownEvent, ProbeCompletedDetail } from '../events';
import type { ArchiveReader } from '../ports';
import { type RunCatalog, runEntryOf } from './catalog';
import { digestOf } from './digest';
import type { IncidentStore, ProbeHistoryStore } from './types';

/**
 * The status subscriber's use case: a probe sample into the probe history, an alert transition
 * into the incidents, an ingest report into the run catalog. Every write is idempotent, so a
 * redelivered event changes nothing.
 */

export interface StatusRecordDeps {
  probes: ProbeHistoryStore;
  incidents: IncidentStore;
  catalog: RunCatalog;
  /** How long catalog entries are kept (the history retention). */
  ttlDays: number;
  /** Where a run's normalized result is read, once, for its digest (absent: no digest). */
  archive?: ArchiveReader;
}

const RUN_KINDS = {
  [DETAIL_TYPES.testRun]: 'tests',
  [DETAIL_TYPES.coverage]: 'coverage',
  [DETAIL_TYPES.load]: 'load',
  [DETAIL_TYPES.benchmark]: 'benchmark',
  [DETAIL_TYPES.security]: 'security',
} as const;

/**
 * A heartbeat result as a sample of the probe history, so the dashboard shows heartbeats beside
 * probes (status now, uptime, recent failures). Its latency is the run's duration when the job
 * said when it started, else 0.
 */
export const heartbeatSample = (h: HeartbeatCheckedDetail): ProbeCompletedDetail => ({
  metadata: {
    project: h.metadata.project,
    probe: h.metadata.heartbeat,
    correlationId: h.metadata.correlationId,
    checkedAt: h.metadata.checkedAt,
    location: h.metadata.location,
  },
  url: '',
  method: 'PING',
  status: h.status,
  latencyMs: (h.durationSeconds ?? 0) * 1000,
  attempt: 1,
  ...(h.status === 'down'
    ? { failure: { assertion: `heartbeat:${h.outcome}`, message: h.message } }
    : {}),
  warnings: [],
  severity: h.severity,
  tags: h.tags,
});

/** What was recorded, for the log line. */
export type Recorded = 'probe' | 'incident' | 'run' | 'ignored';

export const recordStatusEvent = async (
  event: KnownEvent,
  deps: StatusRecordDeps,
): Promise<Recorded> => {
  switch (event.source) {
    case SOURCES.probe:
      await deps.probes.record(event.detail);
      return 'probe';
    case SOURCES.heartbeat:
      await deps.probes.record(heartbeatSample(event.detail));
      return 'probe';
    case SOURCES.alert:
      await deps.incidents.apply(event.detail);
      return 'incident';
    case SOURCES.ingest: {
      const entry = runEntryOf(RUN_KINDS[event.detailType], event.detail);
      // An unreadable archive throws: the retry (or the dead-letter queue) keeps the event.
      const digest = deps.archive && digestOf(await deps.archive.get(entry.normalized));
      await deps.catalog.record(digest ? { ...entry, digest } : entry, deps.ttlDays);
      return 'run';
    }
    default:
      return 'ignored';
  }
};
