import {
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandOutput,
} from '@aws-sdk/client-sns';
import { emailBody, emailSubject } from '../../core/alerts/messages';
import { DETAIL_TYPES, SOURCES } from '../../core/event-names';
import type { AlertNotification } from '../../core/events';
import type { Dispatch, EventPublisher } from '../../core/ports';

/** The part of `SNSClient` the dispatcher uses (a hand-written fake fits in tests). */
export interface SnsPublishClient {
  send(command: PublishCommand): Promise<PublishCommandOutput>;
}

export interface SnsDispatchOptions {
  client: SnsPublishClient;
  /** One topic per severity (env `CRITICAL_TOPIC_ARN`, `WARNING_TOPIC_ARN`). */
  topics: { critical: string; warning: string };
  /** The Vigil bus, for the `Alert State Changed` event. */
  publisher: EventPublisher;
}

const attr = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value || '-',
});

/**
 * The SNS publish for one notification. Per-protocol messages (`MessageStructure: json`):
 * email subscribers get the plain-text body, Lambda/SQS/HTTP(S)/email-json subscribers the
 * AlertNotification JSON (the notify function parses it). Message attributes `severity`,
 * `kind`, `source`, `project` and `checkKey` allow subscription filter policies.
 */
export const snsPublishInput = (n: AlertNotification, topicArn: string) => {
  const json = JSON.stringify(n);
  const text = emailBody(n);
  return {
    TopicArn: topicArn,
    Subject: emailSubject(n),
    MessageStructure: 'json',
    Message: JSON.stringify({
      default: text,
      email: text,
      'email-json': json,
      lambda: json,
      sqs: json,
      http: json,
      https: json,
    }),
    MessageAttributes: {
      severity: attr(n.severity),
      kind: attr(n.kind),
      source: attr(n.source),
      project: attr(n.project),
      checkKey: attr(n.checkKey),
    },
  };
};

/** The `Alert State Changed` event of `n` on the Vigil bus (the alert service's `announce`). */
export const createBusAnnounce =
  (publisher: SnsDispatchOptions['publisher']): Dispatch =>
  async (n) => {
    await publisher.publish([
      { source: SOURCES.alert, detailType: DETAIL_TYPES.alertStateChanged, detail: n },
    ]);
  };

/**
 * AWS dispatch: the `Alert State Changed` event on the Vigil bus, then SNS (topic per
 * severity). Either failure throws, so the alert service keeps the notification in its outbox
 * and the invocation is retried.
 */
export const createSnsDispatch =
  (opts: SnsDispatchOptions): Dispatch =>
  async (n) => {
    await createBusAnnounce(opts.publisher)(n);
    const topic = n.severity === 'critical' ? opts.topics.critical : opts.topics.warning;
    await opts.client.send(new PublishCommand(snsPublishInput(n, topic)));
  };
