import { DETAIL_TYPES, type KnownEvent, SOURCES } from '../events';
import { type RunCatalog, runEntryOf } from './catalog';
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
}

const RUN_KINDS = {
  [DETAIL_TYPES.testRun]: 'tests',
  [DETAIL_TYPES.coverage]: 'coverage',
  [DETAIL_TYPES.load]: 'load',
  [DETAIL_TYPES.benchmark]: 'benchmark',
  [DETAIL_TYPES.security]: 'security',
} as const;

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
    case SOURCES.alert:
      await deps.incidents.apply(event.detail);
      return 'incident';
    case SOURCES.ingest:
      await deps.catalog.record(
        runEntryOf(RUN_KINDS[event.detailType], event.detail),
        deps.ttlDays,
      );
      return 'run';
    default:
      return 'ignored';
  }
};
