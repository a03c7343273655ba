import { dynamo, sns } from '../adapters/aws/clients';
import { DynamoAlertStore } from '../adapters/aws/dynamodb-alert-store';
import { busPublisher, lambdaEntry } from '../adapters/aws/lambda-entry';
import { createBusAnnounce, createSnsDispatch } from '../adapters/aws/sns-dispatch';
import { systemClock } from '../core/ports';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createAlertHandler } from './handler';

/**
 * Lambda entry: Vigil bus events (rule `EVENT_PATTERNS.alerts`) and CloudWatch alarm state
 * changes from the default bus (rule `EVENT_PATTERNS.alarms`) → alert state in DynamoDB →
 * SNS (topic per severity) and an `Alert State Changed` event on the Vigil bus.
 */
const publisher = busPublisher();

export const handler = lambdaEntry(
  'alert',
  createAlertHandler({
    config: await configFromEnv(),
    store: new DynamoAlertStore({ table: requireEnv('ALERT_TABLE'), client: dynamo() }),
    dispatch: createSnsDispatch({
      // Made on the first notification: most invocations change no alert's state.
      client: { send: (command) => sns().send(command) },
      topics: {
        critical: requireEnv('CRITICAL_TOPIC_ARN'),
        warning: requireEnv('WARNING_TOPIC_ARN'),
      },
      publisher,
    }),
    announce: createBusAnnounce(publisher),
    clock: systemClock,
    metrics,
    // The stage's dashboard address, as the stack resolved it (the config's, else the API's).
    ...(process.env.VIGIL_DASHBOARD_URL ? { dashboardUrl: process.env.VIGIL_DASHBOARD_URL } : {}),
  }),
);
