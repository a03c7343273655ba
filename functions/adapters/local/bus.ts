import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BusEvent, EventPattern, VigilEvent } from '../../core/events';
import { matchesPattern } from '../../core/patterns';
import type { EventPublisher } from '../../core/ports';
import type { Scoped } from './invocations';

export type Target = (event: BusEvent) => Promise<void>;

interface Rule {
  name: string;
  pattern: EventPattern;
  target: Target;
}

export interface LocalBusOptions {
  dataDir: string;
  /** Delivery attempts per target before the event goes to the dead-letter file. */
  maxAttempts?: number;
  retryDelayMs?: number;
  onDeliveryError?: (rule: string, event: BusEvent, error: unknown, attempt: number) => void;
  /** Runs each delivery in its own invocation scope (see invocations.ts). */
  scope?: Scoped;
}

/**
 * An in-process event bus with EventBridge's behaviour: rules match the same event
 * patterns the CDK rules use, delivery is asynchronous with retries, every event is
 * archived (events.ndjson) and what cannot be delivered lands in dead-letter.ndjson.
 */
export class LocalBus implements EventPublisher {
  readonly #rules: Rule[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #opts: Required<Omit<LocalBusOptions, 'onDeliveryError' | 'scope'>> &
    Pick<LocalBusOptions, 'onDeliveryError' | 'scope'>;
  deadLetters = 0;

  constructor(opts: LocalBusOptions) {
    this.#opts = { maxAttempts: 3, retryDelayMs: 200, ...opts };
  }

  subscribe(name: string, pattern: EventPattern, target: Target): void {
    this.#rules.push({ name, pattern, target });
  }

  async publish(events: VigilEvent[]): Promise<void> {
    const busEvents = events.map(
      (e): BusEvent => ({
        version: '0',
        id: randomUUID(),
        source: e.source,
        account: '000000000000',
        time: new Date().toISOString(),
        region: 'local',
        resources: [],
        'detail-type': e.detailType,
        detail: e.detail,
      }),
    );
    await mkdir(this.#opts.dataDir, { recursive: true });
    await appendFile(
      join(this.#opts.dataDir, 'events.ndjson'),
      busEvents.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
    for (const event of busEvents) {
      for (const rule of this.#rules) {
        if (!matchesPattern(rule.pattern, event)) continue;
        const delivery = this.#deliver(rule, event).finally(() => this.#inFlight.delete(delivery));
        this.#inFlight.add(delivery);
      }
    }
  }

  /** Resolves when every delivery started so far has finished (for tests and shutdown). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #deliver(rule: Rule, event: BusEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const deliver = () => rule.target(event);
        await (this.#opts.scope ? this.#opts.scope(deliver) : deliver());
        return;
      } catch (error) {
        this.#opts.onDeliveryError?.(rule.name, event, error, attempt);
        if (attempt >= this.#opts.maxAttempts) {
          this.deadLetters++;
          const line = { rule: rule.name, error: String(error), event };
          await appendFile(
            join(this.#opts.dataDir, 'dead-letter.ndjson'),
            `${JSON.stringify(line)}\n`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, this.#opts.retryDelayMs * attempt));
      }
    }
  }
}
