import type { VigilConfig } from '../config';
import { firstIssue, VigilError } from '../errors';
import { DETAIL_TYPES, SOURCES } from '../event-names';
import * as z from '../zod-mini';
import { alarmSeverity, clip, IMMEDIATE } from './sources';
import type { Observation } from './state';

/**
 * CloudWatch alarm state changes (from the default bus) as observations. Apart from sources.ts
 * because it needs a zod schema: the alert function loads this module with `import()` when an
 * alarm arrives, so its init builds no schema (docs/performance.md#cold-start).
 */

const alarmStateSchema = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string(),
  /** CloudWatch writes `2019-10-02T17:04:40.985+0000` (no colon in the offset). */
  timestamp: z.string(),
  reasonData: z.optional(z.string()),
});

/**
 * The parts of EventBridge's `CloudWatch Alarm State Change` event that Vigil reads
 * (source `aws.cloudwatch`; metric and composite alarms share this shape).
 */
export const cloudWatchAlarmEventSchema = z.object({
  id: z.string(),
  source: z.literal(SOURCES.cloudwatch),
  'detail-type': z.literal(DETAIL_TYPES.cloudwatchAlarm),
  time: z.string(),
  region: z.string(),
  account: z.string(),
  resources: z.array(z.string()),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: alarmStateSchema,
    previousState: z.optional(alarmStateSchema),
    configuration: z.optional(z.looseObject({ description: z.nullish(z.string()) })),
  }),
});

export type CloudWatchAlarmEvent = z.infer<typeof cloudWatchAlarmEventSchema>;

/** `2019-10-02T17:04:40.985+0000` → ISO 8601; falls back to the event time. */
const alarmTime = (timestamp: string, fallback: string): string => {
  const t = Date.parse(timestamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isFinite(t)) return new Date(t).toISOString();
  const f = Date.parse(fallback);
  return Number.isFinite(f) ? new Date(f).toISOString() : fallback;
};

/**
 * A CloudWatch alarm state change → an observation. ALARM fails, OK passes,
 * INSUFFICIENT_DATA is ignored. Throws a zod error on a malformed event.
 */
export const observationFromAlarm = (
  input: unknown,
  config: VigilConfig,
): Observation | undefined => {
  const event = cloudWatchAlarmEventSchema.parse(input);
  const { alarmName, state, configuration } = event.detail;
  if (state.value === 'INSUFFICIENT_DATA') return undefined;
  const description = configuration?.description;
  return {
    id: event.id,
    checkKey: `alarm:${alarmName}`,
    ok: state.value === 'OK',
    at: alarmTime(state.timestamp, event.time),
    source: 'alarm',
    project: config.project,
    severity: alarmSeverity(alarmName),
    title: `Alarm ${alarmName}`,
    target: clip(description ? `${description} (${event.region})` : event.region, 300),
    ...(state.value === 'ALARM' ? { error: clip(state.reason) } : {}),
    correlationId: event.id,
    policy: IMMEDIATE,
    tags: [],
  };
};

/** `observationFromAlarm`, with a malformed event as a `bad_request` naming its first issue. */
export const alarmObservation = (input: unknown, config: VigilConfig): Observation | undefined => {
  try {
    return observationFromAlarm(input, config);
  } catch (e) {
    if (e instanceof z.$ZodError) {
      throw new VigilError('bad_request', `Invalid CloudWatch alarm event: ${firstIssue(e)}`);
    }
    throw e;
  }
};
