import type { Context } from 'aws-lambda';
import { PIPELINE_METRICS } from '../../core/metrics/catalog';
import { requireEnv } from '../../shared/lambda-config';
import { flushSpans } from '../../shared/otel/spans';
import { emitPipelineMetric, withColdStartMetric } from '../../shared/pipeline-metrics';
import { metrics } from '../../shared/powertools';
import { withSentry } from '../../shared/sentry';
import { dynamo, eventBridge, secrets } from './clients';
import { EventBridgePublisher } from './eventbridge-publisher';
import { archiveEndpoint, S3ArchiveReader } from './s3-archive-reader';
import { SecretsManagerSecretResolver } from './secrets-resolver';
import { sentryDsn } from './sentry-dsn';
// The X-Ray tracer of every handler (the shared code's tracer is off until this installs it).
import './xray-tracer';

/** What every Lambda entry (functions/<name>/index.ts) wires the same way. */

/**
 * A handler as Lambda runs it: Sentry outermost (DSN from env or the stage secret), cold-start
 * metric, and the OpenTelemetry spans sent (at most the flush budget) before it returns or
 * throws, since the sandbox may freeze right after.
 */
export const lambdaEntry = <E, R>(
  name: string,
  handler: (event: E, context?: Context) => Promise<R>,
): ((event: E, context?: Context) => Promise<R>) => {
  const flushed = async (event: E, context?: Context): Promise<R> => {
    try {
      return await handler(event, context);
    } finally {
      await flushSpans();
    }
  };
  return withSentry(name, withColdStartMetric(metrics, flushed), { dsn: sentryDsn });
};

/**
 * The stage's Vigil bus (`EVENT_BUS_NAME`), counting publish retries as a pipeline metric. Its
 * client is made on the first publish, not at init: most invocations of the alert and history
 * functions publish nothing (docs/performance.md#cold-start).
 */
export const busPublisher = (): EventBridgePublisher =>
  new EventBridgePublisher({
    busName: requireEnv('EVENT_BUS_NAME'),
    client: { send: (command) => eventBridge().send(command) },
    onRetry: () => emitPipelineMetric(metrics, PIPELINE_METRICS.publishRetries, {}),
  });

/**
 * `{{secret:NAME}}` lookups under the stage's `SECRETS_PREFIX` (`vigil/<stage>/`); the client is
 * made on the first lookup (a config without secret references makes none).
 */
export const stageSecrets = (): SecretsManagerSecretResolver =>
  new SecretsManagerSecretResolver({
    client: { send: (command) => secrets().send(command) },
    prefix: process.env.SECRETS_PREFIX ?? '',
  });

/**
 * The archive bucket's reader (`ARCHIVE_BUCKET`, at `ARCHIVE_BUCKET_DOMAIN` or the endpoint
 * override), signing with the DynamoDB client's configuration: no S3 SDK in the functions that
 * only read the archive (docs/performance.md#cold-start).
 */
export const archiveReader = (): S3ArchiveReader =>
  new S3ArchiveReader({
    bucket: requireEnv('ARCHIVE_BUCKET'),
    endpoint: archiveEndpoint(process.env, requireEnv('ARCHIVE_BUCKET_DOMAIN')),
    client: dynamo(),
  });
