import { VigilError } from './errors';
import { MAX_EVENT_BYTES } from './event-names';

/**
 * The bus's size rule, one definition for both runtimes: the EventBridge publisher and the local
 * event log refuse the same events, so a report that passes locally passes on AWS.
 */

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Size of an event as EventBridge counts it, never under-estimated.
 *
 * AWS documents the entry size as the UTF-8 bytes of Source, DetailType, Detail and each
 * Resource (plus 14 for Time); the API reference adds that "the necessary characters and keys
 * of the JSON representation of the event" count too. So this measures the event as
 * delivered: the JSON envelope (with id, account, time and region at their maximum lengths)
 * around the detail, which is always more than the documented sum. (Vigil sets no Time and
 * no Resources.)
 */
export const eventBytes = (source: string, detailType: string, detailJson: string): number => {
  const envelope = JSON.stringify({
    version: '0',
    id: 'x'.repeat(36),
    'detail-type': detailType,
    source,
    account: 'x'.repeat(12),
    time: 'x'.repeat(20),
    region: 'x'.repeat(32),
    resources: [],
    detail: null,
  });
  return utf8Bytes(envelope) - 'null'.length + utf8Bytes(detailJson);
};

/**
 * Refuses an event over the limit: `413`, since only a report's content makes an event this big
 * (the ingest bounds its lists, see `buildEvent`), and retrying the same report cannot help.
 */
export const assertEventFits = (
  index: number,
  source: string,
  detailType: string,
  size: number,
): void => {
  if (size <= MAX_EVENT_BYTES) return;
  throw new VigilError(
    'payload_too_large',
    `event #${index} (${source} / ${detailType}) is about ${size} bytes, over the event bus ` +
      `limit of ${MAX_EVENT_BYTES} bytes; nothing was published. The report carries too much ` +
      'for one event (e.g. very long names): split it into smaller reports.',
  );
};
