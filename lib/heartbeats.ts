import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { HttpMethod, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Schedule, ScheduleExpression, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import type { StageSettings } from './config';
import {
  functionEntry,
  grantSecretRead,
  secretsPrefixFor,
  VigilFunction,
} from './function-defaults';
import type { IngestApi } from './ingest-api';
import { deadLetterQueue, stateTable } from './resources';

export interface HeartbeatsProps {
  readonly eventBus: IEventBus;
  /** The API whose function answers the pings (`/v1/heartbeats/...`). */
  readonly ingest: IngestApi;
  readonly settings: StageSettings;
  /** Must contain at least one heartbeat (see `Heartbeats.needed`). */
  readonly config: VigilConfig;
}

/**
 * Heartbeat (cron) monitors on AWS: the ping route on the ingest API, their state in a DynamoDB
 * table, and an evaluator function that EventBridge Scheduler invokes once a minute to publish
 * missed and overrun runs onto the bus.
 *
 * The ping route has no API Gateway authorizer: a ping carries either the bearer token (checked
 * by the function like the authorizer does) or the heartbeat's own token in `?token=`, which the
 * authorizer cannot see. The ingest function may read only those heartbeat token secrets.
 */
export class Heartbeats extends Construct {
  static needed(config: VigilConfig): boolean {
    return config.heartbeats.length > 0;
  }

  readonly table: Table;
  readonly handler: VigilFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;
  readonly routes: HttpRoute[];

  constructor(scope: Construct, id: string, props: HeartbeatsProps) {
    super(scope, id);
    if (!Heartbeats.needed(props.config))
      throw new Error('Heartbeats needs a config with at least one heartbeat.');
    const { settings } = props;
    const stack = Stack.of(this);

    this.table = stateTable(this, 'Table', {
      partitionKey: 'pk',
      timeToLiveAttribute: 'expiresAt',
      settings,
    });
    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      settings,
      'the heartbeat schedule and evaluator',
    );
    this.handler = new VigilFunction(this, 'Handler', {
      entry: functionEntry('heartbeat'),
      description: `Vigil ${settings.stage}: heartbeat evaluator (missed and overrun runs)`,
      settings,
      config: props.config,
      memorySizeMb: 256,
      timeoutSeconds: 50,
      reservedConcurrentExecutions: 1,
      environment: {
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        HEARTBEAT_TABLE: this.table.tableName,
      },
    });
    const fn = this.handler.function;
    props.eventBus.grantPutEventsTo(fn);
    this.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:PutItem');
    // A late evaluation is covered by the next one a minute later: no retries, no backlog.
    fn.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(2),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    // The pings: the ingest function writes the state and reads the heartbeats' own tokens.
    const ingestFn = props.ingest.handler.function;
    ingestFn.addEnvironment('HEARTBEAT_TABLE', this.table.tableName);
    this.table.grant(ingestFn, 'dynamodb:GetItem', 'dynamodb:PutItem');
    const prefix = secretsPrefixFor(settings.stage);
    const tokenSecrets = [
      ...new Set(props.config.heartbeats.flatMap((h) => (h.tokenSecret ? [h.tokenSecret] : []))),
    ];
    if (tokenSecrets.length) ingestFn.addEnvironment('SECRETS_PREFIX', prefix);
    for (const name of tokenSecrets) {
      const arn = grantSecretRead(ingestFn, `${prefix}${name}-*`);
      Validations.of(props.ingest.handler.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arn}]`,
        reason:
          `The heartbeat token secret ${prefix}${name}; Secrets Manager appends a random ` +
          'suffix to secret names, hence the trailing wildcard.',
      });
    }
    this.routes = props.ingest.api.addRoutes({
      path: '/v1/heartbeats/{proxy+}',
      methods: [HttpMethod.GET, HttpMethod.POST],
      integration: props.ingest.integration,
    });
    for (const route of this.routes)
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'A heartbeat ping is authorized by the ingest function: a bearer token, or the ' +
          "heartbeat's own token in ?token= (which a request authorizer cannot see).",
      });

    const schedulerRole = new Role(this, 'SchedulerRole', {
      description: `Vigil ${settings.stage}: EventBridge Scheduler invokes the heartbeat evaluator`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Vigil ${settings.stage}: evaluate every heartbeat once a minute`,
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(fn, {
        role: schedulerRole,
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    const fnResource = fn.node.defaultChild;
    if (!(fnResource instanceof CfnFunction))
      throw new Error('Heartbeat function has no CfnFunction');
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fnResource)}.Arn>:*]`,
      reason:
        'LambdaInvoke grants lambda:InvokeFunction on the heartbeat evaluator and its versions ' +
        '(function ARN + ":*"); no other function is reachable.',
    });
  }
}
