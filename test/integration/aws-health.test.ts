import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  type DescribeEventBusCommand,
  EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DescribeEventBusClient,
  eventBusCheck,
  ledgerTableCheck,
} from '../../functions/adapters/aws/health';
import { runHealthChecks } from '../../functions/core/health';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

/** The ingest function's AWS health checks against the real EventBridge and DynamoDB APIs (moto). */

const REGION = 'us-east-1';
const BUS = 'vigil-health-test';
const TABLE = 'vigil-ledger-health-test';

let moto: MotoServer;
let eventBridge: EventBridgeClient;
let dynamo: DynamoDBClient;

/** Every test here needs moto_server (started in beforeAll, which runs only if one does). */
const describeWithMoto = describe.skipIf(!motoAvailable('aws-health.test.ts'));

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  moto = await startMoto();
  const config = { region: REGION, endpoint: moto.endpoint };
  eventBridge = new EventBridgeClient(config);
  dynamo = new DynamoDBClient(config);
  await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}, 30_000);

afterAll(async () => {
  eventBridge?.destroy();
  dynamo?.destroy();
  await moto?.stop();
});

describeWithMoto('AWS health checks (moto)', () => {
  it('reports an existing bus and table as ok', async () => {
    // Act
    const report = await runHealthChecks(
      [
        eventBusCheck({ client: eventBridge, busName: BUS }),
        ledgerTableCheck({ client: dynamo, tableName: TABLE }),
      ],
      5000,
    );
    // Assess
    expect(report).toEqual({ ok: true, checks: { bus: 'ok', store: 'ok' } });
  });

  it('reports a missing bus and table with the service error code', async () => {
    // Act
    const report = await runHealthChecks(
      [
        eventBusCheck({ client: eventBridge, busName: 'no-such-bus' }),
        ledgerTableCheck({ client: dynamo, tableName: 'no-such-table' }),
      ],
      5000,
    );
    // Assess
    expect(report).toEqual({
      ok: false,
      checks: {
        bus: 'error: event bus not reachable: ResourceNotFoundException',
        store: 'error: ledger table not reachable: ResourceNotFoundException',
      },
    });
  });

  it('calls DescribeEventBus once per cache period', async () => {
    // Prepare
    let calls = 0;
    const counting: DescribeEventBusClient = {
      send: (command: DescribeEventBusCommand) => {
        calls++;
        return eventBridge.send(command);
      },
    };
    let now = 0;
    const check = eventBusCheck({
      client: counting,
      busName: BUS,
      cacheMs: 30_000,
      now: () => now,
    });
    // Act
    for (let i = 0; i < 5; i++) await check.check();
    now = 30_001;
    await check.check();
    // Assess
    expect(calls).toBe(2);
  });
});
