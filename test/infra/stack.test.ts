import { CfnElement, type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VigilConfig } from '../../functions/core/config';
import { EVENT_PATTERNS } from '../../functions/core/events';
import {
  loadVigilConfig,
  parseStage,
  type Stage,
  stackNameFor,
  stageSettings,
  toRetentionDays,
} from '../../lib/config';
import { toCdkEventPattern } from '../../lib/event-bus';
import type { VigilStack } from '../../lib/vigil-stack';
import { buildApp, nagFindings } from './synth';

interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
}

interface Synthesized {
  stack: VigilStack;
  template: Template;
  resources: Record<string, CfnResourceJson>;
  nag: PolicyValidationPluginReport;
}

const STAGES_UNDER_TEST = ['dev', 'prod'] as const satisfies readonly Stage[];
const synthesized = {} as Record<(typeof STAGES_UNDER_TEST)[number], Synthesized>;
let config: VigilConfig;

beforeAll(async () => {
  config = await loadVigilConfig();
  for (const stage of STAGES_UNDER_TEST) {
    const { app, stack, nag } = await buildApp(stage, { config });
    // Synthesis runs cdk-nag as a validation plugin and throws on unacknowledged errors.
    const template = Template.fromStack(stack);
    synthesized[stage] = {
      stack,
      template,
      resources: template.toJSON().Resources as Record<string, CfnResourceJson>,
      nag: nag.validateScope(app),
    };
  }
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

describe.each(STAGES_UNDER_TEST)('Vigil stack (%s)', (stage) => {
  const s = (): Synthesized => synthesized[stage];

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
      { fn: processors.metrics.function, env: common },
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
      LEDGER_TABLE: { Ref: logicalIdOf(s().stack, ingest.ledgerTable) },
      TOKENS_SECRET_ARN: { Ref: logicalIdOf(s().stack, ingest.tokensSecret) },
    });
  });

  it('grants the ingest function only what it uses', () => {
    const { ingest } = s().stack;
    const policies = s().template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: logicalIdOf(s().stack, ingest.handler.role) }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
          .Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((st) => [st.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:Abort*',
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
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: archiveRetentionDays }] },
    });
  });

  it('keeps the ledger with PITR, TTL on expiresAt, on-demand and encrypted', () => {
    const table = resourceOf(s(), s().stack.ingest.ledgerTable);
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: stage === 'prod',
    });
  });

  it('retains stateful resources in prod only', () => {
    const { ingest, processors } = s().stack;
    const expected = stage === 'prod' ? 'Retain' : 'Delete';
    for (const construct of [
      ingest.archiveBucket,
      ingest.accessLogsBucket,
      ingest.ledgerTable,
      ingest.tokensSecret,
      ingest.handler.logGroup,
      processors.metrics.logGroup,
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

  it('serves POST /v1/results and GET /v1/health with payload v2, throttling and JSON access logs', () => {
    const { template } = s();
    for (const routeKey of ['POST /v1/results', 'GET /v1/health']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    const stageProps = propsOf(s(), s().stack.ingest.stage);
    expect(stageProps).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
    });
    const format = JSON.parse(
      String((stageProps.AccessLogSettings as { Format: string }).Format),
    ) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      latency: '$context.responseLatency',
    });
  });

  it('keeps every log group for the stage retention', () => {
    const retention = stageSettings(config, stage).logRetention;
    const groups = Object.values(s().template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3); // two functions, API access logs
    for (const group of groups) {
      expect((group as CfnResourceJson).Properties?.RetentionInDays).toBe(retention);
    }
  });

  it('outputs the ingest URL, bus name, archive bucket and token secret', () => {
    const outputs = Object.keys(s().template.toJSON().Outputs as object);
    expect(outputs.sort()).toEqual(
      ['ArchiveBucketName', 'EventBusName', 'IngestUrl', 'TokensSecretArn'].sort(),
    );
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged findings', () => {
    expect(nagFindings(s().nag, 'error')).toEqual([]);
    expect(nagFindings(s().nag, 'warning')).toEqual([]);
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
    };
    for (const [id, type] of Object.entries(expected)) {
      expect(s().resources[id]?.Type, id).toBe(type);
    }
    const { ingest, events } = s().stack;
    expect(logicalIdOf(s().stack, ingest.archiveBucket)).toBe('IngestArchiveBucket285035F8');
    expect(logicalIdOf(s().stack, ingest.ledgerTable)).toBe('IngestLedgerE45094C3');
    expect(logicalIdOf(s().stack, ingest.tokensSecret)).toBe('IngestTokensSecret0D4BA7F7');
    expect(logicalIdOf(s().stack, events.bus)).toBe('EventsBus45DE4339');
  });
});

describe('stages side by side', () => {
  it('have different stack names and no colliding physical names', () => {
    const { dev, prod } = synthesized;
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
    expect(retentionOf(synthesized.dev)).toBe(dev.logRetention);
    expect(retentionOf(synthesized.prod)).toBe(prod.logRetention);
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
