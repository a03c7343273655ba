/**
 * The names of Vigil's canonical events (bus sources and detail types) and the bus's size limit:
 * plain constants, without the zod schemas of `events.ts` (which re-exports them), so that what
 * runs at a Lambda function's init (the metrics catalog, the bus publisher) does not build them.
 */
export const SOURCES = {
  ingest: 'vigil.ingest',
  probe: 'vigil.probe',
  alert: 'vigil.alert',
  history: 'vigil.history',
  heartbeat: 'vigil.heartbeat',
  /** Alerts received from Prometheus Alertmanager (`POST /v1/alertmanager`). */
  alertmanager: 'vigil.alertmanager',
  /** CloudWatch alarm state changes arrive from the default bus with this source. */
  cloudwatch: 'aws.cloudwatch',
} as const;

export const DETAIL_TYPES = {
  testRun: 'Test Run Reported',
  coverage: 'Coverage Reported',
  load: 'Load Test Reported',
  benchmark: 'Benchmark Reported',
  security: 'Security Findings Reported',
  probeCompleted: 'Probe Completed',
  heartbeatChecked: 'Heartbeat Checked',
  alertStateChanged: 'Alert State Changed',
  testFlaky: 'Test Flaky Detected',
  cloudwatchAlarm: 'CloudWatch Alarm State Change',
  /** One alert of an Alertmanager webhook (`POST /v1/alertmanager`). */
  alertmanager: 'Alertmanager Alert Received',
} as const;

/** EventBridge's limit for one PutEvents entry (and the whole request). */
export const MAX_EVENT_BYTES = 256 * 1024;
/** How many failed tests an event carries by name; the rest stay in the archive. */
export const MAX_FAILED_TESTS_IN_EVENT = 50;
/** How many new security findings an event (and the ingest answer) lists; the rest are counted. */
export const MAX_FINDINGS_IN_EVENT = 50;
