import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { tracer } from './xray-tracer';

/**
 * One AWS SDK v3 client per service and process, created on first use and reused across
 * Lambda invocations (connection reuse). Each is wrapped by the Powertools tracer (xray-tracer.ts),
 * which is a no-op when tracing is disabled.
 *
 * Region and endpoint come from the environment, read by the SDK itself: `AWS_REGION` (set by
 * Lambda; the SDK falls back to the shared config file's profile), and the optional overrides
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_S3`), so pointing the
 * runtime at moto or LocalStack needs no code here.
 */

const lazy = <T>(create: () => T): (() => T) => {
  let instance: T | undefined;
  return () => {
    instance ??= create();
    return instance;
  };
};

export const eventBridge = /* @__PURE__ */ lazy(() =>
  tracer.captureAWSv3Client(new EventBridgeClient({})),
);

export const dynamo = /* @__PURE__ */ lazy(() => tracer.captureAWSv3Client(new DynamoDBClient({})));

export const secrets = /* @__PURE__ */ lazy(() =>
  tracer.captureAWSv3Client(new SecretsManagerClient({})),
);

export const sns = /* @__PURE__ */ lazy(() => tracer.captureAWSv3Client(new SNSClient({})));
