import { CfnElement, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_TABLE_KEYS } from '../../functions/adapters/aws/dynamodb-history-store';
import { LOG_RETENTION_DAYS, type VigilConfig } from '../../functions/core/config';
import { configJsonHash } from '../../functions/core/config-access';
import { EVENT_PATTERNS } from '../../functions/core/events';
import { alarmEventPattern } from '../../lib/alerting';
import { parseStage, stackNameFor, stageSettings, toRetentionDays } from '../../lib/config';
import { toCdkEventPattern } from '../../lib/event-bus';
import type { VigilStack } from '../../lib/vigil-stack';
import {
  type CfnResourceJson,
  type Deployed,
  deployedStages,
  nagFindings,
  STAGES_UNDER_TEST,
  type Synthesized,
  synthesize,
} from './synth';

let deployed: Deployed;
let config: VigilConfig;

const EMAIL = 'oncall@example.com';

beforeAll(async () => {
  deployed = await deployedStages();
  config = deployed.config;
});

const logicalIdOf = (stack: VigilStack, construct: IConstruct): string => {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no L1`);
  return stack.getLogicalId(resource);
};

const resourceOf = (s: Synthesized, construct: IConstruct): CfnResourceJson => {
  const resource = s.resources[logicalIdOf(s.stack, construct)];
  if (!resource) throw new Error(`${construct.node.path} is not in the template`);
  return resource;
};

const propsOf = (s: Synthesized, construct: IConstruct): Record<string, unknown> =>
  resourceOf(s, construct).Properties ?? {};

/** Properties that would fix a resource's physical name, per resource type. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Events::EventBus': 'Name',
  'AWS::Events::Archive': 'ArchiveName',
  'AWS::Events::Rule': 'Name',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::ApiGatewayV2::Api': 'Name',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

const physicalNames = (s: Synthesized): Map<string, unknown> => {
  const names = new Map<string, unknown>();
  for (const [id, resource] of Object.entries(s.resources)) {
    const key = NAME_PROPERTIES[resource.Type];
    const value = key ? resource.Properties?.[key] : undefined;
    if (value !== undefined) names.set(id, value);
  }
  return names;
};

/** Every statement of the inline policies attached to a role. */
const roleStatements = (s: Synthesized, role: IConstruct): { Action: string | string[] }[] => {
  const policies = s.template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: logicalIdOf(s.stack, role) }] },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
        .Properties.PolicyDocument.Statement,
  );
};

/** The actions a role's policies allow, sorted and without duplicates. */
const roleActions = (s: Synthesized, role: IConstruct): string[] =>
  [...new Set(roleStatements(s, role).flatMap((st) => [st.Action].flat()))].sort();

describe.each(STAGES_UNDER_TEST)('Vigil stack (%s)', (stage) => {
  const s = (): Synthesized => deployed[stage];

  it('runs both functions on Node.js 22, arm64, with active tracing and the shared env', () => {
    const { ingest, processors } = s().stack;
    const common = [
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_LOG_LEVEL',
      'VIGIL_STAGE',
      'VIGIL_CONFIG_JSON',
    ];
    const expectations = [
      {
        fn: ingest.handler.function,
        env: [...common, 'EVENT_BUS_NAME', 'ARCHIVE_BUCKET', 'LEDGER_TABLE', 'TOKENS_SECRET_ARN'],
      },
      { fn: processors.metrics.function, env: [...common, 'IDEMPOTENCY_TABLE'] },
    ];
    for (const { fn, env } of expectations) {
      const props = propsOf(s(), fn);
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 512,
        Timeout: 29,
        Handler: 'index.handler',
      });
      const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables)).toEqual(expect.arrayContaining(env));
      expect(variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'Vigil',
        POWERTOOLS_LOG_LEVEL: stageSettings(config, stage).logLevel,
        VIGIL_STAGE: stage,
      });
      expect(JSON.parse(String(variables.VIGIL_CONFIG_JSON))).toEqual(config);
      // The function trusts the config without validating it again only with this hash.
      expect(variables.VIGIL_CONFIG_SHA256).toBe(
        configJsonHash(String(variables.VIGIL_CONFIG_JSON)),
      );
      // The config names a collector: each function exports its spans there.
      expect(variables.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('https://otel.example.com');
    }
  });

  it('wires the ingest function to this stage’s bus, bucket, table and secret', () => {
    const { ingest, events } = s().stack;
    const variables = (
      propsOf(s(), ingest.handler.function).Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(variables).toMatchObject({
      EVENT_BUS_NAME: { Ref: logicalIdOf(s().stack, events.bus) },
      ARCHIVE_BUCKET: { Ref: logicalIdOf(s().stack, ingest.archiveBucket) },
      ARCHIVE_BUCKET_DOMAIN: {
        'Fn::GetAtt': [logicalIdOf(s().stack, ingest.archiveBucket), 'RegionalDomainName'],
      },
      LEDGER_TABLE: { Ref: logicalIdOf(s().stack, ingest.ledgerTable) },
      TOKENS_SECRET_ARN: { Ref: logicalIdOf(s().stack, ingest.tokensSecret) },
    });
  });

  it('grants the ingest function only what it uses', () => {
    const { ingest } = s().stack;
    const actions = roleActions(s(), ingest.handler.role);
    expect(actions).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query', // the history table, read only (see below)
        'dynamodb:UpdateItem',
        'events:DescribeEventBus',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:Abort*',
        's3:GetObject', // run detail, raw report (dashboard API) and staged uploads
        's3:PutObject',
        's3:PutObjectLegalHold',
        's3:PutObjectRetention',
        's3:PutObjectTagging',
        's3:PutObjectVersionTagging',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('sets no physical names (the bus name is generated per stack)', () => {
    const names = physicalNames(s());
    const { events, ingest } = s().stack;
    const busId = logicalIdOf(s().stack, events.bus);
    const apiId = logicalIdOf(s().stack, ingest.api);
    expect([...names.keys()].sort()).toEqual([apiId, busId].sort());
    // EventBridge requires a name; CDK derives it from the stack name and construct path.
    expect(names.get(busId)).toMatch(new RegExp(`^Vigil${stage}`));
    expect(names.get(apiId)).toBe(`${stackNameFor(stage)}-ingest`);
  });

  it('encrypts the buckets, blocks public access and denies plain HTTP', () => {
    const { ingest } = s().stack;
    for (const bucket of [ingest.archiveBucket, ingest.accessLogsBucket]) {
      const id = logicalIdOf(s().stack, bucket);
      expect(propsOf(s(), bucket)).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      const policies = s().template.findResources('AWS::S3::BucketPolicy', {
        Properties: { Bucket: { Ref: id } },
      });
      expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
    }
    const { archiveRetentionDays } = stageSettings(config, stage);
    expect(propsOf(s(), ingest.archiveBucket)).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalIdOf(s().stack, ingest.accessLogsBucket) },
      },
      LifecycleConfiguration: {
        Rules: [
          { ExpirationInDays: archiveRetentionDays },
          { Id: 'expire-staged-uploads', Prefix: '_uploads/', ExpirationInDays: 1 },
        ],
      },
    });
  });

  it.each([
    ['ledger', (st: VigilStack) => st.ingest.ledgerTable, ['pk'], 'expiresAt'],
    [
      'history',
      (st: VigilStack) => st.history.table,
      [HISTORY_TABLE_KEYS.partitionKey, HISTORY_TABLE_KEYS.sortKey],
      HISTORY_TABLE_KEYS.ttl,
    ],
    [
      'metrics idempotency',
      (st: VigilStack) => st.processors.idempotencyTable,
      ['id'],
      'expiration',
    ],
    ['alert state', (st: VigilStack) => st.alerting.table, ['pk', 'sk'], 'expiresAt'],
  ] as const)(
    'keeps the %s table with its keys, PITR, TTL, on-demand and encrypted',
    (_name, table, keys, ttl) => {
      expect(propsOf(s(), table(s().stack))).toMatchObject({
        KeySchema: keys.map((k, i) => ({ AttributeName: k, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
        // Index keys (the history table's flaky index) are defined too.
        AttributeDefinitions: expect.arrayContaining(
          keys.map((k) => ({ AttributeName: k, AttributeType: 'S' })),
        ),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: stage === 'prod',
      });
    },
  );

  it('points the metrics function at the idempotency table and grants it single-item access only', () => {
    const { processors } = s().stack;
    const tableId = logicalIdOf(s().stack, processors.idempotencyTable);
    const variables = (
      propsOf(s(), processors.metrics.function).Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(variables.IDEMPOTENCY_TABLE).toEqual({ Ref: tableId });
    // DynamoDB on this table only, and only the operations DynamoDBPersistenceLayer sends (the
    // rest of the role is the shared function defaults and the dead-letter destination).
    expect(
      roleActions(s(), processors.metrics.role).filter((a) => a.startsWith('dynamodb:')),
    ).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    const dynamoStatements = roleStatements(s(), processors.metrics.role).filter((st) =>
      [st.Action].flat().some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamoStatements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      }),
    ]);
  });

  it('lets the notify function read and write single items of the alert table, nothing more', () => {
    const { alerting } = s().stack;
    const tableId = logicalIdOf(s().stack, alerting.table);
    const variables = (
      propsOf(s(), alerting.notify.function).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(variables.ALERT_TABLE).toEqual({ Ref: tableId });
    const dynamoStatements = roleStatements(s(), alerting.notify.role).filter((st) =>
      [st.Action].flat().some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamoStatements).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      }),
    ]);
  });

  it('retains stateful resources in prod only', () => {
    const { ingest, processors, alerting, probes, history } = s().stack;
    const expected = stage === 'prod' ? 'Retain' : 'Delete';
    for (const construct of [
      ingest.archiveBucket,
      ingest.accessLogsBucket,
      ingest.ledgerTable,
      ingest.tokensSecret,
      ingest.handler.logGroup,
      processors.metrics.logGroup,
      processors.idempotencyTable,
      alerting.table,
      alerting.key,
      history.table,
      history.handler.logGroup,
      alerting.alert.logGroup,
      alerting.notify.logGroup,
      ...(probes ? [probes.handler.logGroup] : []),
    ]) {
      expect(resourceOf(s(), construct).DeletionPolicy, construct.node.path).toBe(expected);
    }
    expect(s().template.findResources('Custom::S3AutoDeleteObjects')).toSatisfy(
      (found: object) => Object.keys(found).length === (stage === 'prod' ? 0 : 2),
    );
  });

  it('builds the metrics rule from EVENT_PATTERNS.metrics, on the stage bus', () => {
    const { processors, events } = s().stack;
    const rule = propsOf(s(), processors.metricsRule);
    expect(rule.EventPattern).toEqual(JSON.parse(JSON.stringify(EVENT_PATTERNS.metrics)));
    expect(rule.EventBusName).toEqual({ Ref: logicalIdOf(s().stack, events.bus) });
  });

  it('sends undeliverable and failing metrics events to an encrypted, TLS-only DLQ', () => {
    const { processors } = s().stack;
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(s().stack, processors.deadLetterQueue), 'Arn'] };
    const rule = propsOf(s(), processors.metricsRule);
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        DeadLetterConfig: { Arn: queueArn },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    ]);
    s().template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: queueArn } },
      MaximumRetryAttempts: 2,
    });
    expect(propsOf(s(), processors.deadLetterQueue)).toMatchObject({ SqsManagedSseEnabled: true });
    const policies = s().template.findResources('AWS::SQS::QueuePolicy');
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });

  it('archives the bus for replay with the stage retention', () => {
    const { events } = s().stack;
    expect(propsOf(s(), events.archive)).toMatchObject({
      SourceArn: { 'Fn::GetAtt': [logicalIdOf(s().stack, events.bus), 'Arn'] },
      RetentionDays: stageSettings(config, stage).archiveRetentionDays,
    });
  });

  it('serves POST /v1/results, GET /v1/health and the history API with payload v2, throttling and JSON access logs', () => {
    const { template } = s();
    const authorized = [
      'POST /v1/results',
      'POST /v1/uploads',
      'POST /v1/alertmanager',
      'GET /v1/projects/{proxy+}',
      // The dashboard API.
      'GET /v1/projects',
      'GET /v1/probes',
      'GET /v1/probes/{proxy+}',
      'GET /v1/incidents',
      // Failed browser checks' screenshots and traces.
      'GET /v1/artifacts/{proxy+}',
    ];
    // HEAD of health and status too: uptime checkers send it.
    const publicRoutes = [
      'GET /v1/health',
      'HEAD /v1/health',
      'GET /v1/status',
      'HEAD /v1/status',
      'GET /v1/cli/vigil.mjs',
    ];
    // Every data route goes through the token authorizer (cached per header); the public ones not.
    for (const routeKey of authorized) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'CUSTOM',
      });
    }
    for (const routeKey of publicRoutes) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
      });
    }
    // + the web function's eight (four paths, GET and HEAD) and the heartbeat pings' two (GET, POST)
    template.resourceCountIs(
      'AWS::ApiGatewayV2::Route',
      authorized.length + publicRoutes.length + 8 + 2,
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
      EnableSimpleResponses: true,
    });
    // A flood of reports cannot take the other functions' concurrency.
    expect(propsOf(s(), s().stack.ingest.handler.function).ReservedConcurrentExecutions).toBe(20);
    // Two integrations: the ingest function and the web function.
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    const stageProps = propsOf(s(), s().stack.ingest.stage);
    expect(stageProps).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      RouteSettings: {
        'POST /v1/results': { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
        'POST /v1/uploads': { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
        'GET /v1/projects/{proxy+}': { ThrottlingBurstLimit: 40, ThrottlingRateLimit: 20 },
        'GET /v1/health': { ThrottlingBurstLimit: 40, ThrottlingRateLimit: 20 },
      },
    });
    // Every route has a bucket of its own, those of the web function and the heartbeats too
    // (the public ones most of all): a GET or HEAD as a read, anything else as a write.
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) =>
      String((r as { Properties: { RouteKey: string } }).Properties.RouteKey),
    );
    expect(routeKeys).toEqual(
      expect.arrayContaining([
        'GET /v1/badges/{proxy+}',
        'HEAD /status',
        'POST /v1/heartbeats/{proxy+}',
      ]),
    );
    const settings = stageProps.RouteSettings as Record<string, { ThrottlingRateLimit: number }>;
    expect(Object.keys(settings).sort()).toEqual([...routeKeys].sort());
    for (const key of routeKeys)
      expect(settings[key]?.ThrottlingRateLimit, key).toBe(/^(GET|HEAD) /.test(key) ? 20 : 50);
    const format = JSON.parse(
      String((stageProps.AccessLogSettings as { Format: string }).Format),
    ) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      latency: '$context.responseLatency',
    });
  });

  it('serves the dashboard, status page and badges from the web function: GET and HEAD only, read only', () => {
    const { template, stack } = s();
    const webFn = stack.web.handler.function;
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: {
        IntegrationUri: {
          'Fn::GetAtt': [stack.getLogicalId(webFn.node.defaultChild as CfnElement), 'Arn'],
        },
      },
    });
    const [webIntegration] = Object.keys(integrations);
    expect(webIntegration).toBeDefined();
    // HEAD as GET (the handler drops the body): uptime checkers often send HEAD.
    const webRoutes = ['/', '/assets/{proxy+}', '/status', '/v1/badges/{proxy+}'].flatMap((p) => [
      `GET ${p}`,
      `HEAD ${p}`,
    ]);
    for (const routeKey of webRoutes)
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: webIntegration }]] },
      });
    const toWeb = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
      .map((r) => r as { Properties: { RouteKey: string; Target: unknown } })
      .filter(({ Properties }) =>
        JSON.stringify(Properties.Target).includes(JSON.stringify(webIntegration)),
      )
      .map(({ Properties }) => Properties.RouteKey);
    expect(toWeb.sort()).toEqual([...webRoutes].sort());
    const fnProps = propsOf(s(), webFn);
    expect(fnProps).toMatchObject({ MemorySize: 256, Timeout: 10 });
    expect(
      Object.keys((fnProps.Environment as { Variables: Record<string, unknown> }).Variables),
    ).toEqual(
      expect.arrayContaining(['TOKENS_SECRET_ARN', 'READ_TOKENS_SECRET_ARN', 'STATUS_TABLE']),
    );
    // Reads the status table (status page, badges) and both token secrets; nothing else.
    expect(roleActions(s(), stack.web.handler.role)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('keeps every log group for the stage retention', () => {
    const retention = stageSettings(config, stage).logRetention;
    const groups = Object.values(s().template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(12); // ingest, authorizer, metrics, history, status, probe, browser, alert, notify, web, heartbeat; API access logs
    for (const group of groups) {
      expect((group as CfnResourceJson).Properties?.RetentionInDays).toBe(retention);
    }
  });

  it('outputs the ingest URL, bus name, archive bucket and token secret', () => {
    const outputs = Object.keys(s().template.toJSON().Outputs as object);
    expect(outputs.sort()).toEqual(
      [
        'ArchiveBucketName',
        'EventBusName',
        'IngestUrl',
        'TokensSecretArn',
        'ReadTokensSecretArn',
        'CriticalTopicArn',
        'WarningTopicArn',
        'DashboardUrl',
        'WebUrl',
      ].sort(),
    );
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged findings', () => {
    expect(nagFindings(s().nag(), 'error')).toEqual([]);
    expect(nagFindings(s().nag(), 'warning')).toEqual([]);
  });

  it('gives every cdk-nag acknowledgement a written reason', () => {
    const acknowledgements: { path: string; id: string; reason: unknown }[] = [];
    for (const construct of s().stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
          acknowledgements.push({ path: construct.node.path, id, reason });
        }
      }
    }
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledgements) {
      expect(typeof reason === 'string' && reason.length >= 40, `${path} ${id}`).toBe(true);
    }
  });

  it('keeps the logical IDs of stateful resources (a renamed construct ID would replace them)', () => {
    const expected = {
      IngestArchiveBucket285035F8: 'AWS::S3::Bucket',
      IngestAccessLogsBucket5984F47D: 'AWS::S3::Bucket',
      IngestLedgerE45094C3: 'AWS::DynamoDB::Table',
      IngestTokensSecret0D4BA7F7: 'AWS::SecretsManager::Secret',
      EventsBus45DE4339: 'AWS::Events::EventBus',
      EventsArchive5A2DBDD8: 'AWS::Events::Archive',
      AlertingAlertTable9D2F9B2F: 'AWS::DynamoDB::Table',
      ProcessorsIdempotencyTableF28CBE28: 'AWS::DynamoDB::Table',
      HistoryTable4479EEA3: 'AWS::DynamoDB::Table',
    };
    for (const [id, type] of Object.entries(expected)) {
      expect(s().resources[id]?.Type, id).toBe(type);
    }
    const { ingest, events } = s().stack;
    expect(logicalIdOf(s().stack, ingest.archiveBucket)).toBe('IngestArchiveBucket285035F8');
    expect(logicalIdOf(s().stack, ingest.ledgerTable)).toBe('IngestLedgerE45094C3');
    expect(logicalIdOf(s().stack, ingest.tokensSecret)).toBe('IngestTokensSecret0D4BA7F7');
    expect(logicalIdOf(s().stack, events.bus)).toBe('EventsBus45DE4339');
    expect(logicalIdOf(s().stack, s().stack.alerting.table)).toBe('AlertingAlertTable9D2F9B2F');
    expect(logicalIdOf(s().stack, s().stack.processors.idempotencyTable)).toBe(
      'ProcessorsIdempotencyTableF28CBE28',
    );
    expect(logicalIdOf(s().stack, s().stack.history.table)).toBe('HistoryTable4479EEA3');
  });

  // --- history --------------------------------------------------------------------------

  /** Statements of a role that name `resource` (its Arn, or a path below it). */
  const statementsOn = (role: IConstruct, resource: IConstruct) => {
    const id = logicalIdOf(s().stack, resource);
    return roleStatements(s(), role).filter((st) =>
      JSON.stringify((st as { Resource?: unknown }).Resource).includes(`"${id}"`),
    );
  };
  const actionsOf = (statements: { Action: string | string[] }[]): string[] =>
    [...new Set(statements.flatMap((st) => [st.Action].flat()))].sort();

  it('gives the history table the sparse flaky index the store queries', () => {
    const { flakyIndex } = HISTORY_TABLE_KEYS;
    expect(propsOf(s(), s().stack.history.table)).toMatchObject({
      GlobalSecondaryIndexes: [
        {
          IndexName: flakyIndex.name,
          KeySchema: [
            { AttributeName: flakyIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: flakyIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('sizes the history function for a 20k-case run and points it at its table, bucket and bus', () => {
    const { history, ingest, events } = s().stack;
    const props = propsOf(s(), history.handler.function);
    expect(props).toMatchObject({
      MemorySize: 1024,
      Timeout: 300,
      Runtime: 'nodejs22.x',
      TracingConfig: { Mode: 'Active' },
    });
    expect((props.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      HISTORY_TABLE: { Ref: logicalIdOf(s().stack, history.table) },
      ARCHIVE_BUCKET: { Ref: logicalIdOf(s().stack, ingest.archiveBucket) },
      // Where its signed GETs go (functions/adapters/aws/s3-archive-reader.ts).
      ARCHIVE_BUCKET_DOMAIN: {
        'Fn::GetAtt': [logicalIdOf(s().stack, ingest.archiveBucket), 'RegionalDomainName'],
      },
      EVENT_BUS_NAME: { Ref: logicalIdOf(s().stack, events.bus) },
      VIGIL_STAGE: stage,
    });
  });

  it('grants the history function only what it uses: its table, the normalized results, the bus', () => {
    const { history, ingest, events } = s().stack;
    const role = history.handler.role;
    expect(roleActions(s(), role)).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        'secretsmanager:GetSecretValue', // the optional Sentry DSN secret
        // the on-failure destination (the DLQ)
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // DynamoDB: the history table (and its index) only; never the ledger.
    const tableId = logicalIdOf(s().stack, history.table);
    expect(statementsOn(role, ingest.ledgerTable)).toEqual([]);
    expect(
      roleStatements(s(), role).filter((st) => [st.Action].flat()[0]?.startsWith('dynamodb:')),
    ).toEqual([
      expect.objectContaining({
        Resource: [
          { 'Fn::GetAtt': [tableId, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/*']] },
        ],
      }),
    ]);
    // S3: GetObject on the normalized results only, not the raw reports.
    const bucketId = logicalIdOf(s().stack, ingest.archiveBucket);
    expect(statementsOn(role, ingest.archiveBucket)).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*.normalized.json']],
        },
      }),
    ]);
    expect(actionsOf(statementsOn(role, events.bus))).toEqual(['events:PutEvents']);
  });

  it('lets the ingest function query the history table, and nothing more', () => {
    const { history, ingest } = s().stack;
    expect(actionsOf(statementsOn(ingest.handler.role, history.table))).toEqual(['dynamodb:Query']);
    const variables = (
      propsOf(s(), ingest.handler.function).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(variables.HISTORY_TABLE).toEqual({ Ref: logicalIdOf(s().stack, history.table) });
  });

  it('builds the history rule from EVENT_PATTERNS.history, on the stage bus, with retries and a DLQ', () => {
    const { history, events } = s().stack;
    const rule = propsOf(s(), history.rule);
    expect(rule.EventPattern).toEqual(JSON.parse(JSON.stringify(EVENT_PATTERNS.history)));
    expect(rule.EventBusName).toEqual({ Ref: logicalIdOf(s().stack, events.bus) });
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(s().stack, history.deadLetterQueue), 'Arn'] };
    const fnArn = { 'Fn::GetAtt': [logicalIdOf(s().stack, history.handler.function), 'Arn'] };
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: fnArn,
        DeadLetterConfig: { Arn: queueArn },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    ]);
    s().template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(s().stack, history.handler.function) },
      DestinationConfig: { OnFailure: { Destination: queueArn } },
      MaximumRetryAttempts: 2,
    });
  });

  // --- status (dashboard data) -------------------------------------------------------------

  it('builds the status rule from EVENT_PATTERNS.status, with retries, a DLQ and only the grants it uses', () => {
    const { status, events, ingest } = s().stack;
    const rule = propsOf(s(), status.rule);
    expect(rule.EventPattern).toEqual(JSON.parse(JSON.stringify(EVENT_PATTERNS.status)));
    expect(rule.EventBusName).toEqual({ Ref: logicalIdOf(s().stack, events.bus) });
    const queueArn = { 'Fn::GetAtt': [logicalIdOf(s().stack, status.deadLetterQueue), 'Arn'] };
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        DeadLetterConfig: { Arn: queueArn },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    ]);
    expect(roleActions(s(), status.handler.role)).toEqual(
      [
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject', // a run's digest, from its normalized result
        'secretsmanager:GetSecretValue', // the Sentry DSN, like every function
        'sqs:GetQueueAttributes', // the dead-letter queue (failed invocations)
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // S3: GetObject on the normalized results only, not the raw reports.
    expect(statementsOn(status.handler.role, ingest.archiveBucket)).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: {
          'Fn::Join': [
            '',
            [
              { 'Fn::GetAtt': [logicalIdOf(s().stack, ingest.archiveBucket), 'Arn'] },
              '/*.normalized.json',
            ],
          ],
        },
      }),
    ]);
    expect(propsOf(s(), status.table)).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  // --- probes ---------------------------------------------------------------------------

  const probes = () => {
    const found = s().stack.probes;
    if (!found) throw new Error('the test config has a probe, so the stack must have Probes');
    return found;
  };

  it('schedules the probe function every minute, flexible window off, with the run payload', () => {
    const schedule = propsOf(s(), probes().schedule);
    expect(schedule).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
    });
    const target = schedule.Target as Record<string, unknown>;
    expect(target.Arn).toEqual({
      'Fn::GetAtt': [logicalIdOf(s().stack, probes().handler.function), 'Arn'],
    });
    expect(JSON.parse(String(target.Input))).toEqual({
      group: 'all',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
    });
    // A retry would re-run a whole minute of probing on top of the next run.
    expect(target.RetryPolicy).toMatchObject({ MaximumRetryAttempts: 0 });
    expect(target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [logicalIdOf(s().stack, probes().deadLetterQueue), 'Arn'] },
    });
    expect(propsOf(s(), probes().deadLetterQueue)).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it('bounds the probe function: 70 s, 256 MB, reserved concurrency 2, no async retries', () => {
    const fn = probes().handler.function;
    const props = propsOf(s(), fn);
    expect(props).toMatchObject({ Timeout: 70, MemorySize: 256, ReservedConcurrentExecutions: 2 });
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      EVENT_BUS_NAME: { Ref: logicalIdOf(s().stack, s().stack.events.bus) },
      SECRETS_PREFIX: `vigil/${stage}/`,
    });
    s().template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(s().stack, fn) },
      MaximumRetryAttempts: 0,
    });
  });

  it("lets the probe function publish to the bus and read only this stage's secrets", () => {
    const actions = roleActions(s(), probes().handler.role);
    expect(actions).toEqual(
      [
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        // the on-failure destination (the DLQ)
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const policies = JSON.stringify(roleStatements(s(), probes().handler.role));
    expect(policies).toContain(`:secret:vigil/${stage}/*`);
  });

  it('creates no probe schedule or function for a config without probes', async () => {
    const { stack, template } = await synthesize(stage, { ...config, probes: [], heartbeats: [] });
    expect(stack.probes).toBeUndefined();
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    const vigilFunctions = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp(`^Vigil ${stage}: `) },
      }),
    ).map((fn) => String((fn as CfnResourceJson).Properties?.Description));
    expect(vigilFunctions).toHaveLength(8); // ingest, authorizer, metrics, history, status, alert, notify, web
    expect(vigilFunctions.join('\n')).not.toMatch(/probe/);
  });

  // --- alerting -------------------------------------------------------------------------

  it('encrypts both topics with a rotating CMK that CloudWatch alarms and EventBridge may use', () => {
    const { alerting } = s().stack;
    const key = propsOf(s(), alerting.key);
    expect(key.EnableKeyRotation).toBe(true);
    const statements = (key.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    const service = statements.find((st) => {
      const principal = (st.Principal as { Service?: string | string[] } | undefined)?.Service;
      return [principal ?? []].flat().includes('cloudwatch.amazonaws.com');
    });
    expect(service).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
    });
    const keyArn = { 'Fn::GetAtt': [logicalIdOf(s().stack, alerting.key), 'Arn'] };
    for (const topic of [alerting.criticalTopic, alerting.warningTopic]) {
      // The CMK, never alias/aws/sns (CloudWatch alarm actions cannot use that key).
      expect(propsOf(s(), topic).KmsMasterKeyId).toEqual(keyArn);
      const policies = s().template.findResources('AWS::SNS::TopicPolicy', {
        Properties: { Topics: [{ Ref: logicalIdOf(s().stack, topic) }] },
      });
      const json = JSON.stringify(policies);
      expect(json).toContain('"aws:SecureTransport":"false"');
      expect(json).toContain('"Service":"cloudwatch.amazonaws.com"');
    }
  });

  it('subscribes every email channel to both topics', () => {
    const { alerting } = s().stack;
    for (const topic of [alerting.criticalTopic, alerting.warningTopic]) {
      s().template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: EMAIL,
        TopicArn: { Ref: logicalIdOf(s().stack, topic) },
      });
    }
    expect(
      Object.keys(
        s().template.findResources('AWS::SNS::Subscription', {
          Properties: { Protocol: 'email' },
        }),
      ),
    ).toHaveLength(2);
  });

  it('builds the alert rules from the core patterns: Vigil bus, and default bus for own alarms', () => {
    const { alerting, events } = s().stack;
    const alerts = propsOf(s(), alerting.alertsRule);
    expect(alerts.EventPattern).toEqual(JSON.parse(JSON.stringify(EVENT_PATTERNS.alerts)));
    expect(alerts.EventBusName).toEqual({ Ref: logicalIdOf(s().stack, events.bus) });

    const alarms = propsOf(s(), alerting.alarmsRule);
    expect(alarms.EventBusName).toBeUndefined(); // the account's default bus
    expect(alarms.EventPattern).toEqual({
      ...JSON.parse(JSON.stringify(EVENT_PATTERNS.alarms)),
      detail: { alarmName: [{ prefix: `${stackNameFor(stage)}-` }] },
    });
    expect(alarms.EventPattern).toEqual(
      JSON.parse(JSON.stringify(alarmEventPattern(`${stackNameFor(stage)}-`))),
    );
  });

  it('wires the alert function to its table, topics and bus, with only what it uses', () => {
    const { alerting, events } = s().stack;
    const variables = (
      propsOf(s(), alerting.alert.function).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(variables).toMatchObject({
      ALERT_TABLE: { Ref: logicalIdOf(s().stack, alerting.table) },
      CRITICAL_TOPIC_ARN: { Ref: logicalIdOf(s().stack, alerting.criticalTopic) },
      WARNING_TOPIC_ARN: { Ref: logicalIdOf(s().stack, alerting.warningTopic) },
      EVENT_BUS_NAME: { Ref: logicalIdOf(s().stack, events.bus) },
    });
    // Messages link to the dashboard at the stack's WebUrl (the API's URL).
    const outputs = s().template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(variables.VIGIL_DASHBOARD_URL).toBeDefined();
    expect(variables.VIGIL_DASHBOARD_URL).toEqual(outputs.WebUrl?.Value);
    expect(roleActions(s(), alerting.alert.role)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan', // once per container: the open alerts of checks removed from the config
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue', // the optional Sentry DSN secret
        'sns:Publish',
        // the on-failure destination (the DLQ)
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('subscribes the notify function (180 s, secrets, config) to both topics with a DLQ', () => {
    const { alerting } = s().stack;
    const fnId = logicalIdOf(s().stack, alerting.notify.function);
    const props = propsOf(s(), alerting.notify.function);
    expect(props.Timeout).toBe(180);
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({ SECRETS_PREFIX: `vigil/${stage}/` });
    expect(Object.keys(variables)).toContain('VIGIL_CONFIG_JSON');
    const dlqArn = {
      'Fn::GetAtt': [logicalIdOf(s().stack, alerting.notifyDeadLetterQueue), 'Arn'],
    };
    for (const topic of [alerting.criticalTopic, alerting.warningTopic]) {
      s().template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'lambda',
        Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] },
        TopicArn: { Ref: logicalIdOf(s().stack, topic) },
        RedrivePolicy: { deadLetterTargetArn: dlqArn },
      });
    }
    s().template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      DestinationConfig: { OnFailure: { Destination: dlqArn } },
    });
    expect(roleActions(s(), alerting.notify.role)).toContain('secretsmanager:GetSecretValue');
    expect(roleActions(s(), alerting.notify.role)).not.toContain('sns:Publish');
  });

  it('gives every rule target, the schedule target and every async function a DLQ', () => {
    const rules = Object.values(s().template.findResources('AWS::Events::Rule'));
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const rule of rules) {
      const targets = (rule as CfnResourceJson).Properties?.Targets as Record<string, unknown>[];
      for (const target of targets) {
        expect(target.DeadLetterConfig, JSON.stringify(target.Arn)).toBeDefined();
        expect(target.RetryPolicy).toMatchObject({ MaximumEventAgeInSeconds: 3600 });
      }
    }
    for (const schedule of Object.values(s().template.findResources('AWS::Scheduler::Schedule'))) {
      const target = (schedule as CfnResourceJson).Properties?.Target as Record<string, unknown>;
      expect(target.DeadLetterConfig).toBeDefined();
    }
    const invokeConfigs = Object.values(
      s().template.findResources('AWS::Lambda::EventInvokeConfig'),
    );
    // metrics, history, status, probe, browser, alert, notify, heartbeat: every asynchronously invoked function
    expect(invokeConfigs).toHaveLength(8);
    for (const invokeConfig of invokeConfigs) {
      expect((invokeConfig as CfnResourceJson).Properties?.DestinationConfig).toMatchObject({
        OnFailure: { Destination: expect.anything() },
      });
    }
    for (const queue of Object.values(s().template.findResources('AWS::SQS::Queue'))) {
      expect((queue as CfnResourceJson).Properties).toMatchObject({ SqsManagedSseEnabled: true });
    }
  });

  it('alarms on failed SNS deliveries within a minute, to the critical topic', () => {
    const { alerting } = s().stack;
    expect(alerting.notificationsFailedAlarms).toHaveLength(2);
    for (const [index, topic] of [alerting.criticalTopic, alerting.warningTopic].entries()) {
      const alarm = alerting.notificationsFailedAlarms[index];
      if (!alarm) throw new Error('missing alarm');
      expect(propsOf(s(), alarm)).toMatchObject({
        Namespace: 'AWS/SNS',
        MetricName: 'NumberOfNotificationsFailed',
        Dimensions: [
          {
            Name: 'TopicName',
            Value: { 'Fn::GetAtt': [logicalIdOf(s().stack, topic), 'TopicName'] },
          },
        ],
        Period: 60,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalIdOf(s().stack, alerting.criticalTopic) }],
      });
    }
  });
});

describe('stages side by side', () => {
  it('have different stack names and no colliding physical names', () => {
    const { dev, prod } = deployed;
    expect(dev.stack.stackName).toBe('Vigil-dev');
    expect(prod.stack.stackName).toBe('Vigil-prod');
    const devNames = new Set([...physicalNames(dev).values()].map((v) => JSON.stringify(v)));
    const shared = [...physicalNames(prod).values()]
      .map((v) => JSON.stringify(v))
      .filter((v) => devNames.has(v));
    expect(shared).toEqual([]);
  });

  it('differ in log retention, archive retention and log level as configured', () => {
    const dev = stageSettings(config, 'dev');
    const prod = stageSettings(config, 'prod');
    expect(dev.logRetention).not.toBe(prod.logRetention);
    const retentionOf = (s: Synthesized) =>
      propsOf(s, s.stack.ingest.handler.logGroup).RetentionInDays;
    expect(retentionOf(deployed.dev)).toBe(dev.logRetention);
    expect(retentionOf(deployed.prod)).toBe(prod.logRetention);
  });
});

describe('stage and config helpers', () => {
  it('defaults to dev and rejects unknown stages with a clear message', () => {
    expect(parseStage(undefined)).toBe('dev');
    expect(parseStage('prod')).toBe('prod');
    expect(() => parseStage('qa')).toThrow(/Unknown stage "qa".*dev, staging, prod/);
    expect(() => parseStage(3)).toThrow(/Unknown stage 3/);
  });

  it('accepts only CloudWatch Logs retention periods', () => {
    expect(toRetentionDays(7)).toBe(7);
    expect(() => toRetentionDays(10)).toThrow(/logRetentionDays 10 .* 1, 3, 5, 7, 14/);
  });

  it("checks the config's log retentions against CDK's own list (functions/ cannot import it)", () => {
    const cdk = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
    expect(LOG_RETENTION_DAYS).toEqual(cdk.sort((a, b) => a - b));
  });

  it('falls back to defaults for a stage the config does not mention', () => {
    const settings = stageSettings({ ...config, stages: {} }, 'staging');
    expect(settings).toMatchObject({ logLevel: 'INFO', archiveRetentionDays: 90 });
    expect(settings.logRetention).toBe(30);
  });

  it('maps core event patterns to CDK field names and rejects non-envelope fields', () => {
    expect(
      toCdkEventPattern({ 'detail-type': ['A'], source: ['s'], detail: { x: [{ prefix: 'p' }] } }),
    ).toEqual({ detailType: ['A'], source: ['s'], detail: { x: [{ prefix: 'p' }] } });
    expect(() => toCdkEventPattern({ project: ['x'] })).toThrow(/'project' is not an EventBridge/);
  });
});
