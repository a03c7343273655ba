import { Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnRoute,
  type CfnStage,
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import { UPLOADS_PREFIX } from '../functions/core/ingest/uploads';
import type { StageSettings } from './config';
import { cliAfterBundling, functionEntry, VigilFunction } from './function-defaults';
import { stateTable } from './resources';

export interface IngestApiProps {
  /** Where the ingest function publishes canonical events. */
  readonly eventBus: IEventBus;
  readonly settings: StageSettings;
  readonly config: VigilConfig;
  /**
   * Steady-state request rate of the API's default stage, per second.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst capacity of the API's default stage, in requests.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Concurrent executions reserved for the ingest function: a flood of reports cannot take the
   * account's concurrency from the other functions (nor exceed this). Shared by every route the
   * function serves: reports, reads and health. 0: none reserved.
   * @default 20
   */
  readonly ingestReservedConcurrency?: number;
  /**
   * Steady-state rate (per second) and burst of the ingest routes (`POST /v1/results`, `POST /v1/uploads`).
   * @default - the stage's throttle
   */
  readonly ingestThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Steady-state rate (per second) and burst of the read routes (history API, health).
   * @default { rateLimit: 20, burstLimit: 40 }
   */
  readonly readThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Protect the ledger table against deletion (including by CloudFormation).
   * @default - true when the stage retains its data (`settings.removalPolicy` is RETAIN)
   */
  readonly deletionProtection?: boolean;
}

/** Noncurrent versions of archived reports (overwritten or deleted) are kept this long. */
const NONCURRENT_VERSION_DAYS = 30;

/**
 * `POST /v1/results`, `GET /v1/health` and the history API (`GET /v1/projects/...`) on an HTTP
 * API, served by the ingest function with what it needs: the raw-report archive (S3), the
 * idempotency ledger (DynamoDB) and the ingest tokens (Secrets Manager). The history table's
 * read access is granted by `History.grantQuery`.
 */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** Base URL of the API (`https://{id}.execute-api.{region}.amazonaws.com/`). */
  readonly url: string;
  readonly handler: VigilFunction;
  /** The ingest function behind the API, for routes added by other constructs (heartbeats). */
  readonly integration: HttpLambdaIntegration;
  readonly archiveBucket: Bucket;
  readonly accessLogsBucket: Bucket;
  readonly ledgerTable: Table;
  /** The ingest bearer tokens: a comma-separated list (or JSON `{"tokens": [...]}`). */
  readonly tokensSecret: Secret;
  /** Read-only bearer tokens (every GET route, never POST), in the same format. */
  readonly readTokensSecret: Secret;
  /** The API's Lambda authorizer (bearer tokens, answers cached 5 minutes per header). */
  readonly authorizerFunction: VigilFunction;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const { settings } = props;
    // Non-retained buckets are emptied on stack deletion, else CloudFormation cannot delete them.
    const autoDeleteObjects = settings.removalPolicy === RemovalPolicy.DESTROY;

    // Server access logs of the archive bucket (cdk-nag S1 exempts a bucket that is a log target).
    this.accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(settings.archiveRetentionDays) },
      ],
      removalPolicy: settings.removalPolicy,
      autoDeleteObjects,
    });
    this.archiveBucket = new Bucket(this, 'ArchiveBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        {
          id: 'expire-reports',
          expiration: Duration.days(settings.archiveRetentionDays),
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Staged uploads are ingested within minutes; what is left is not needed.
        { id: 'expire-staged-uploads', prefix: UPLOADS_PREFIX, expiration: Duration.days(1) },
      ],
      removalPolicy: settings.removalPolicy,
      autoDeleteObjects,
    });

    this.ledgerTable = stateTable(this, 'Ledger', {
      partitionKey: 'pk',
      timeToLiveAttribute: 'expiresAt',
      settings,
      deletionProtection: props.deletionProtection,
    });

    this.tokensSecret = new Secret(this, 'TokensSecret', {
      description: `Vigil ${settings.stage}: ingest bearer tokens (comma-separated, or {"tokens": [...]})`,
      // One random token. generateSecretString can only place a string under a key, not a
      // JSON array, so the value is the plain token; the token source accepts a comma list.
      generateSecretString: {
        passwordLength: 48,
        excludePunctuation: true,
        includeSpace: false,
        requireEachIncludedType: true,
      },
      removalPolicy: settings.removalPolicy,
    });
    Validations.of(this.tokensSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Ingest tokens are shared with CI systems outside AWS, so rotation is a manual, ' +
        'overlapping procedure (add the new token to the list, update CI, remove the old one; ' +
        'see docs/deploy.md). A rotation Lambda could not update the CI side.',
    });

    this.readTokensSecret = new Secret(this, 'ReadTokensSecret', {
      description: `Vigil ${settings.stage}: read-only bearer tokens for the dashboard API (comma-separated, or {"tokens": [...]})`,
      generateSecretString: {
        passwordLength: 48,
        excludePunctuation: true,
        includeSpace: false,
        requireEachIncludedType: true,
      },
      removalPolicy: settings.removalPolicy,
    });
    Validations.of(this.readTokensSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Read tokens are handed to people and tools outside AWS (dashboard users), so rotation ' +
        'is the same manual, overlapping procedure as for the ingest tokens.',
    });

    const reserved = props.ingestReservedConcurrency ?? 20;
    this.handler = new VigilFunction(this, 'Handler', {
      entry: functionEntry('ingest'),
      description: `Vigil ${settings.stage}: ingest CI reports, answer gate verdicts`,
      settings,
      config: props.config,
      ...(reserved > 0 ? { reservedConcurrentExecutions: reserved } : {}),
      environment: {
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        ARCHIVE_BUCKET: this.archiveBucket.bucketName,
        ARCHIVE_BUCKET_DOMAIN: this.archiveBucket.bucketRegionalDomainName,
        LEDGER_TABLE: this.ledgerTable.tableName,
        TOKENS_SECRET_ARN: this.tokensSecret.secretArn,
        READ_TOKENS_SECRET_ARN: this.readTokensSecret.secretArn,
      },
      // GET /v1/cli/vigil.mjs serves the single-file CLI, built into the bundle beside the handler.
      afterBundling: cliAfterBundling,
    });
    const fn = this.handler.function;
    props.eventBus.grantPutEventsTo(fn);
    this.archiveBucket.grantPut(fn);
    // The ledger uses single-item operations only (see functions/adapters/aws/dynamodb-ledger.ts).
    this.ledgerTable.grant(
      fn,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    this.tokensSecret.grantRead(fn);
    this.readTokensSecret.grantRead(fn);
    // Run detail and the raw report read archived objects back (GetObject only).
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.archiveBucket.arnForObjects('*')],
      }),
    );
    // GET /v1/health checks that the bus exists and the ledger is reachable
    // (functions/adapters/aws/health.ts): read-only, on exactly these two resources.
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:DescribeEventBus'],
        resources: [props.eventBus.eventBusArn],
      }),
    );
    this.ledgerTable.grant(fn, 'dynamodb:DescribeTable');
    const archiveBucketResource = this.archiveBucket.node.defaultChild;
    if (!(archiveBucketResource instanceof CfnBucket))
      throw new Error('Archive bucket has no CfnBucket');
    const archivePut =
      'Reports are archived under keys chosen per run, so the function may put any object in ' +
      'its own archive bucket (bucket.grantPut: s3:PutObject* and s3:Abort* for multipart ' +
      'uploads), and nothing else in S3.';
    const archiveArn = `<${Stack.of(this).getLogicalId(archiveBucketResource)}.Arn>`;
    Validations.of(this.handler.role).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::s3:Abort*]', reason: archivePut },
      {
        id: `AwsSolutions-IAM5[Resource::${archiveArn}/*]`,
        reason: `${archivePut} The dashboard API reads a run's archived objects back (s3:GetObject), staged uploads included.`,
      },
    );

    // Bearer tokens are checked by API Gateway before a request reaches the ingest function.
    this.authorizerFunction = new VigilFunction(this, 'Authorizer', {
      entry: functionEntry('authorizer'),
      description: `Vigil ${settings.stage}: bearer-token authorizer of the ingest API`,
      settings,
      config: props.config,
      memorySizeMb: 256,
      environment: {
        TOKENS_SECRET_ARN: this.tokensSecret.secretArn,
        READ_TOKENS_SECRET_ARN: this.readTokensSecret.secretArn,
      },
    });
    this.tokensSecret.grantRead(this.authorizerFunction.function);
    this.readTokensSecret.grantRead(this.authorizerFunction.function);
    const authorizer = new HttpLambdaAuthorizer(
      'TokenAuthorizer',
      this.authorizerFunction.function,
      {
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: ['$request.header.Authorization'],
        resultsCacheTtl: Duration.minutes(5),
      },
    );

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });

    this.api = new HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-ingest`,
      description: `Vigil ${settings.stage}: CI results ingest`,
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttlingRateLimit ?? 50,
        burstLimit: props.throttlingBurstLimit ?? 100,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });
    this.url = this.stage.url;

    const integration = new HttpLambdaIntegration('IngestIntegration', fn, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    this.integration = integration;
    // Authorized by API Gateway (functions/authorizer) before the ingest function, which checks
    // again what a token may do (read-only tokens: GET only).
    for (const [path, method] of [
      ['/v1/results', HttpMethod.POST],
      ['/v1/uploads', HttpMethod.POST],
      // Prometheus Alertmanager's webhook (functions/core/alerts/alertmanager.ts).
      ['/v1/alertmanager', HttpMethod.POST],
      // The history API: /v1/projects/{project}/tests|runs|benchmarks/{name}, where the project
      // and benchmark names may hold "/" (a greedy parameter; the function parses the path).
      ['/v1/projects/{proxy+}', HttpMethod.GET],
      // The dashboard API (functions/core/status/api.ts).
      ['/v1/projects', HttpMethod.GET],
      ['/v1/probes', HttpMethod.GET],
      ['/v1/probes/{proxy+}', HttpMethod.GET],
      ['/v1/incidents', HttpMethod.GET],
      // Failed browser checks' screenshots and traces (functions/ingest/artifact-route.ts).
      ['/v1/artifacts/{proxy+}', HttpMethod.GET],
    ] as const) {
      this.api.addRoutes({ path, methods: [method], integration, authorizer });
    }
    // HEAD of health and the status model as GET without the body (uptime checkers send it).
    for (const [path, methods] of [
      ['/v1/health', [HttpMethod.GET, HttpMethod.HEAD]],
      ['/v1/cli/vigil.mjs', [HttpMethod.GET]],
      ['/v1/status', [HttpMethod.GET, HttpMethod.HEAD]],
    ] as const) {
      for (const route of this.api.addRoutes({ path, methods: [...methods], integration })) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Public by design: GET /v1/health reveals nothing but liveness; GET /v1/cli/vigil.mjs ' +
            'is the CLI program (no secrets in it); GET /v1/status only answers when the config ' +
            'has a statusPage, with what it makes public.',
        });
      }
    }

    // Every route has its own throttle bucket, the routes other constructs add (the dashboard's,
    // heartbeats) too: a GET or HEAD is throttled as a read, anything else as a write. So a burst
    // of requests to one route never uses up another's rate. It does not isolate capacity: the
    // ingest function serves reads, writes and health with one reserved concurrency, so posts
    // that hold all of it get reads throttled by Lambda (5xx), and the reverse.
    const ingestThrottle = props.ingestThrottle ?? {
      rateLimit: props.throttlingRateLimit ?? 50,
      burstLimit: props.throttlingBurstLimit ?? 100,
    };
    const readThrottle = props.readThrottle ?? { rateLimit: 20, burstLimit: 40 };
    const limits = (t: { rateLimit: number; burstLimit: number }) => ({
      ThrottlingRateLimit: t.rateLimit,
      ThrottlingBurstLimit: t.burstLimit,
    });
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.addPropertyOverride(
      'RouteSettings',
      Lazy.any({
        produce: () =>
          Object.fromEntries(
            this.api.node
              .findAll()
              .filter((c): c is CfnRoute => c instanceof CfnRoute)
              .map(({ routeKey }) => [
                routeKey,
                limits(/^(GET|HEAD) /.test(routeKey) ? readThrottle : ingestThrottle),
              ]),
          ),
      }),
    );
  }
}
