import { Duration, Stack } from 'aws-cdk-lib';
import { Archive, type EventPattern as CdkEventPattern, EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { EventPattern } from '../functions/core/events';

export interface VigilEventBusProps {
  /** How long the archive keeps every event on the bus, for replay. */
  readonly archiveRetentionDays: number;
  /** @default - a generic description */
  readonly description?: string;
}

/**
 * The stage's custom event bus (its name is generated from the stack, so stages deploy side
 * by side) with an archive of everything published to it, for replay into new or fixed rules.
 */
export class VigilEventBus extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: VigilEventBusProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      description: props.description ?? 'Vigil: canonical CI result and monitoring events',
    });
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: 'Every event on the Vigil bus, for replay',
      // Every event on this bus comes from this account (the archive needs some pattern).
      eventPattern: { account: [Stack.of(this).account] },
      retention: Duration.days(props.archiveRetentionDays),
    });
  }
}

/** Top-level fields of an EventBridge pattern and their names in CDK's `EventPattern`. */
const CDK_KEYS = {
  version: 'version',
  id: 'id',
  'detail-type': 'detailType',
  source: 'source',
  account: 'account',
  time: 'time',
  region: 'region',
  resources: 'resources',
  detail: 'detail',
} as const satisfies Record<string, keyof CdkEventPattern>;

type MutablePattern = { [key: string]: unknown };

/**
 * A core event pattern (EventBridge's JSON shape, shared with the local bus) as CDK's
 * `EventPattern`. CDK types the envelope fields as `string[]`, yet renders every value
 * unchanged, so content filters (`{ prefix: ... }`) pass through as EventBridge expects.
 */
export const toCdkEventPattern = (pattern: EventPattern): CdkEventPattern => {
  const out: MutablePattern = {};
  for (const [key, value] of Object.entries(pattern)) {
    if (!Object.hasOwn(CDK_KEYS, key)) {
      throw new Error(
        `Event pattern field '${key}' is not an EventBridge envelope field ` +
          `(${Object.keys(CDK_KEYS).join(', ')}); put event content under 'detail'.`,
      );
    }
    // A deep copy: CDK must not share (or mutate) the core's frozen-by-type objects.
    out[CDK_KEYS[key as keyof typeof CDK_KEYS]] = structuredClone(value);
  }
  return out as CdkEventPattern;
};
