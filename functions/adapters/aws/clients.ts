import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
 *
 * The S3, Secrets Manager and EventBridge clients are in modules of their own (`s3-client.ts`,
 * `secrets-client.ts`, `eventbridge-client.ts`) that the Lambda entries can load with `import()`
 * when first needed (see docs/performance.md, Cold start).
 */

const lazy = <T>(create: () => T): (() => T) => {
  let instance: T | undefined;
  return () => {
    instance ??= create();
    return instance;
  };
};

export const dynamo = /* @__PURE__ */ lazy(() => tracer.captureAWSv3Client(new DynamoDBClient({})));

export const sns = /* @__PURE__ */ lazy(() => tracer.captureAWSv3Client(new SNSClient({})));
