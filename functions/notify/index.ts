import { dynamo } from '../adapters/aws/clients';
import { DynamoDeliveryMarks } from '../adapters/aws/dynamodb-delivery-marks';
import { lambdaEntry, stageSecrets } from '../adapters/aws/lambda-entry';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { createNotifyHandler } from './handler';

/**
 * Lambda entry: SNS (the alert topics) → Slack and webhook channels. `{{secret:NAME}}` in
 * channel URLs and headers reads the Secrets Manager secret `${SECRETS_PREFIX}NAME`, as probes do.
 */
const resolver = stageSecrets();

export const handler = lambdaEntry(
  'notify',
  createNotifyHandler({
    config: await configFromEnv(),
    resolveSecret: (name) => resolver.resolve(name),
    metrics,
    marks: new DynamoDeliveryMarks({ table: requireEnv('ALERT_TABLE'), client: dynamo() }),
  }),
);
