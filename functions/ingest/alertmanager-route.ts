import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { alertmanagerEvents } from '../core/alerts/alertmanager';
import { parseAlertmanagerPayload } from '../core/alerts/alertmanager-payload';
import type { VigilConfig } from '../core/config';
import type { Clock, EventPublisher } from '../core/ports';
import { bodyBytes, type HttpResult, json } from '../shared/http';
import { activeSpan } from '../shared/otel/spans';
import { logger } from '../shared/powertools';

/** `POST /v1/alertmanager` (token checked by the caller): one bus event per alert of the webhook. */
export const postAlertmanager = async (
  event: APIGatewayProxyEventV2,
  correlationId: string,
  deps: { config: VigilConfig; publisher: EventPublisher; clock: Clock },
): Promise<HttpResult> => {
  const payload = parseAlertmanagerPayload(bodyBytes(event));
  const events = alertmanagerEvents(payload, {
    project: deps.config.project,
    correlationId,
    ingestedAt: deps.clock.now().toISOString(),
    traceparent: activeSpan()?.traceparent,
  });
  if (events.length > 0) await deps.publisher.publish(events);
  logger.info('alertmanager webhook received', {
    receiver: payload.receiver,
    status: payload.status,
    alerts: events.length,
  });
  return json(200, { accepted: events.length, correlationId });
};
