import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The cold-start reference of `npm run bench:cold-start`: what every Vigil function must load
 * anyway (Powertools Logger, Metrics and Tracer, one AWS SDK v3 client wrapped by the tracer),
 * created at import time as the handlers do, and nothing else. Each handler's init is compared
 * with this one's (target ≤ 1.25×).
 */
const logger = new Logger({ serviceName: 'vigil' });
const tracer = new Tracer({ serviceName: 'vigil' });
const metrics = new Metrics({ namespace: 'Vigil', serviceName: 'vigil', logger });
const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const handler = async (): Promise<void> => {
  void [logger, metrics, dynamo];
};
