import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateSecretCommand,
  type GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GetSecretValueClient } from '../../functions/adapters/aws/secrets-resolver';
import { saveEnv } from '../helpers/env';
import { type MotoServer, motoAvailable, startMoto } from '../helpers/moto';

/**
 * The Sentry DSN reader of the Lambda entries against moto's Secrets Manager (through the shared
 * client, pointed there by AWS_ENDPOINT_URL as in Lambda-like tests), plus a fake client for
 * what moto cannot do on demand (hang).
 */

const REGION = 'us-east-1';
const DSN = 'https://publickey-5e1f@o123.ingest.sentry.io/4567';
const SECRET = 'vigil/dev/SENTRY_DSN';

let moto: MotoServer;
let admin: SecretsManagerClient;
let restoreEnv: () => void;
// Imported fresh in beforeAll: the shared client and the process reader read the environment.
let secrets: typeof import('../../functions/adapters/aws/clients').secrets;
let createSentryDsnReader: typeof import('../../functions/adapters/aws/sentry-dsn').createSentryDsnReader;
let sentryDsn: typeof import('../../functions/adapters/aws/sentry-dsn').sentryDsn;
let logger: typeof import('../../functions/shared/powertools').logger;

/** Every test here needs moto_server (started in beforeAll, which runs only if one does). */
const describeWithMoto = describe.skipIf(!motoAvailable('sentry-dsn.test.ts'));

beforeAll(async () => {
  moto = await startMoto();
  restoreEnv = saveEnv();
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = REGION;
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  vi.resetModules();
  ({ secrets } = await import('../../functions/adapters/aws/clients'));
  ({ createSentryDsnReader, sentryDsn } = await import('../../functions/adapters/aws/sentry-dsn'));
  ({ logger } = await import('../../functions/shared/powertools'));
  admin = new SecretsManagerClient({ region: REGION, endpoint: moto.endpoint });
  await admin.send(new CreateSecretCommand({ Name: SECRET, SecretString: `${DSN}\n` }));
  await admin.send(new CreateSecretCommand({ Name: 'vigil/dev/EMPTY_DSN', SecretString: ' ' }));
});

afterAll(async () => {
  admin?.destroy();
  secrets?.().destroy();
  await moto?.stop();
  restoreEnv?.();
  vi.resetModules();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A client that counts reads and delegates to `answer`. */
const fakeClient = (answer: () => Promise<GetSecretValueCommandOutput>) => {
  const client = {
    calls: 0,
    send: async (_command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> => {
      client.calls += 1;
      return answer();
    },
  } satisfies GetSecretValueClient & { calls: number };
  return client;
};

describeWithMoto('createSentryDsnReader', () => {
  it('reads the DSN (trimmed) from Secrets Manager once and caches it', async () => {
    // Prepare
    const send = vi.spyOn(secrets(), 'send');
    const read = createSentryDsnReader({ secretId: SECRET, client: secrets });

    // Act
    const [first, concurrent] = await Promise.all([read(), read()]);
    const again = await read();

    // Assess
    expect([first, concurrent, again]).toEqual([DSN, DSN, DSN]);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('is the process reader of SENTRY_DSN_SECRET_ID through the shared client', async () => {
    // Prepare
    process.env.SENTRY_DSN_SECRET_ID = SECRET;

    // Act
    const dsn = await sentryDsn();

    // Assess
    expect(dsn).toBe(DSN);
  });

  it.each([
    ['a missing secret', 'vigil/dev/NO_SUCH_SECRET'],
    ['an empty secret', 'vigil/dev/EMPTY_DSN'],
  ])(
    'returns undefined for %s, warns once without a value, and does not retry',
    async (_label, id) => {
      // Prepare
      const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
      const send = vi.spyOn(secrets(), 'send');
      const read = createSentryDsnReader({ secretId: id, client: secrets });

      // Act
      const first = await read();
      const second = await read();

      // Assess
      expect(first).toBeUndefined();
      expect(second).toBeUndefined();
      expect(send).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(warn.mock.calls)).toContain(id);
      expect(JSON.stringify(warn.mock.calls)).not.toContain('publickey');
    },
  );

  it('without a secret id reads nothing and creates no client', async () => {
    // Prepare
    const client = vi.fn(() => fakeClient(async () => ({ $metadata: {}, SecretString: DSN })));
    const read = createSentryDsnReader({ secretId: undefined, client });

    // Act
    const dsn = await read();

    // Assess
    expect(dsn).toBeUndefined();
    expect(client).not.toHaveBeenCalled();
  });

  it('gives up on a Secrets Manager that does not answer within timeoutMs', async () => {
    // Prepare
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const client = fakeClient(() => new Promise<GetSecretValueCommandOutput>(() => undefined));
    const read = createSentryDsnReader({ secretId: SECRET, client: () => client, timeoutMs: 50 });

    // Act
    const started = performance.now();
    const dsn = await read();
    const elapsed = performance.now() - started;

    // Assess
    expect(dsn).toBeUndefined();
    expect(elapsed).toBeLessThan(1000);
    expect(await read()).toBeUndefined();
    expect(client.calls).toBe(1);
  });
});

describeWithMoto('lambdaEntry', () => {
  it('reads the DSN secret when a first error must be sent, and sends it there', async () => {
    // Prepare: a Sentry endpoint on loopback whose DSN is in the stage secret, no SENTRY_DSN
    const envelopes: string[] = [];
    const sentry = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        envelopes.push(Buffer.concat(chunks).toString());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => sentry.listen(0, '127.0.0.1', resolve));
    const { port } = sentry.address() as AddressInfo;
    const secretId = 'vigil/dev/LOOPBACK_DSN';
    await admin.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: `http://publickey@127.0.0.1:${port}/1`,
      }),
    );
    delete process.env.SENTRY_DSN;
    process.env.SENTRY_DSN_SECRET_ID = secretId;
    // A fresh registry: the entry's reader (created at the first error) sees this environment.
    vi.resetModules();
    const { lambdaEntry } = await import('../../functions/adapters/aws/lambda-entry');
    const handler = lambdaEntry('dsn-test', async (): Promise<void> => {
      throw new Error('boom from the handler');
    });

    // Act
    const outcome = handler({}).catch((error: unknown) => error);

    // Assess
    try {
      expect(await outcome).toEqual(new Error('boom from the handler'));
      expect(envelopes).toHaveLength(1);
      expect(envelopes[0]).toContain('boom from the handler');
    } finally {
      (await import('../../functions/adapters/aws/clients')).secrets().destroy();
      await new Promise((resolve) => sentry.close(resolve));
    }
  });
});
