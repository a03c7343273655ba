import { dynamo, eventBridge, sns } from '../adapters/aws/clients';
import { DynamoAlertStore } from '../adapters/aws/dynamodb-alert-store';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher';
import { sentryDsn } from '../adapters/aws/sentry-dsn';
import { createSnsDispatch } from '../adapters/aws/sns-dispatch';
import { PIPELINE_METRICS } from '../core/metrics/catalog';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { emitPipelineMetric, withColdStartMetric } from '../shared/pipeline-metrics';
import { metrics } from '../shared/powertools';
import { withSentry } from '../shared/sentry';
import { createAlertHandler } from './handler';

/**
 * Lambda entry: Vigil bus events (rule `EVENT_PATTERNS.alerts`) and CloudWatch alarm state
 * changes from the default bus (rule `EVENT_PATTERNS.alarms`) → alert state in DynamoDB →
 * SNS (topic per severity) and an `Alert State Changed` event on the Vigil bus.
 */
export const handler = withSentry(
  'alert',
  withColdStartMetric(
    metrics,
    createAlertHandler({
      config: configFromEnv(),
      store: new DynamoAlertStore({ table: requireEnv('ALERT_TABLE'), client: dynamo() }),
      dispatch: createSnsDispatch({
        client: sns(),
        topics: {
          critical: requireEnv('CRITICAL_TOPIC_ARN'),
          warning: requireEnv('WARNING_TOPIC_ARN'),
        },
        publisher: new EventBridgePublisher({
          busName: requireEnv('EVENT_BUS_NAME'),
          client: eventBridge(),
          onRetry: () => emitPipelineMetric(metrics, PIPELINE_METRICS.publishRetries, {}),
        }),
      }),
      clock: systemClock,
      metrics,
    }),
  ),
  { dsn: sentryDsn },
);
