import type {
  GetSecretValueCommand,
  GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type GetSecretValueClient,
  SecretsManagerSecretResolver,
} from '../../../functions/adapters/aws/secrets-resolver';
import {
  EnvSecretResolver,
  envVarForSecret,
  missingSecretVariables,
} from '../../../functions/adapters/local/env-secrets';
import { parseConfig } from '../../../functions/core/config';
import {
  redactSecrets,
  resolveHeaders,
  resolveTemplate,
  SecretError,
  type SecretResolver,
  secretNames,
} from '../../../functions/core/probes/secrets';

const mapResolver = (values: Record<string, string>, calls: string[] = []): SecretResolver => ({
  resolve: async (name) => {
    calls.push(name);
    const value = values[name];
    if (value === undefined) throw new SecretError(name, `secret "${name}" is not defined`);
    return value;
  },
});

describe('resolveTemplate', () => {
  it('replaces every placeholder, with or without inner spaces', async () => {
    // Prepare
    const resolver = mapResolver({ TOKEN: 's3cr3t-t0ken', 'shop/user': 'alice' });
    // Act
    const value = await resolveTemplate(
      'Bearer {{secret:TOKEN}} as {{ secret:shop/user }} / {{secret:TOKEN}}',
      resolver,
    );
    // Assess
    expect(value).toBe('Bearer s3cr3t-t0ken as alice / s3cr3t-t0ken');
  });

  it('leaves values without placeholders (and lookalikes) alone', async () => {
    // Prepare
    const calls: string[] = [];
    const resolver = mapResolver({}, calls);
    // Act
    const plain = await resolveTemplate('application/json', resolver);
    const lookalike = await resolveTemplate('{{secret:}} {secret:X} {{other:X}}', resolver);
    // Assess
    expect(plain).toBe('application/json');
    expect(lookalike).toBe('{{secret:}} {secret:X} {{other:X}}');
    expect(calls).toEqual([]);
  });

  it('fails with an error naming the unknown secret', async () => {
    // Act
    const promise = resolveTemplate('Bearer {{secret:MISSING}}', mapResolver({}));
    // Assess
    await expect(promise).rejects.toThrow(SecretError);
    await expect(promise).rejects.toThrow('secret "MISSING" is not defined');
  });

  it('lists the names a template uses, once each', () => {
    expect(secretNames('{{secret:A}}:{{secret:B}}:{{secret:A}}')).toEqual(['A', 'B']);
  });
});

describe('resolveHeaders', () => {
  it('resolves every header, reads each secret once and returns the values to scrub', async () => {
    // Prepare
    const calls: string[] = [];
    const resolver = mapResolver({ TOKEN: 'tok-123456', KEY: 'key-abcdef' }, calls);
    // Act
    const resolved = await resolveHeaders(
      {
        authorization: 'Bearer {{secret:TOKEN}}',
        'x-api-key': '{{secret:KEY}}',
        'x-echo': '{{secret:TOKEN}}',
        accept: 'application/json',
      },
      resolver,
    );
    // Assess
    expect(resolved.headers).toEqual({
      authorization: 'Bearer tok-123456',
      'x-api-key': 'key-abcdef',
      'x-echo': 'tok-123456',
      accept: 'application/json',
    });
    expect(calls).toEqual(['TOKEN', 'KEY']);
    expect(resolved.secrets.sort()).toEqual(['key-abcdef', 'tok-123456']);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence, longest secret first, and skips very short ones', () => {
    // Act
    const text = redactSecrets('a=abcd1234 b=abcd1234xyz c=1 d=abcd1234', [
      'abcd1234',
      'abcd1234xyz',
      '1',
    ]);
    // Assess
    expect(text).toBe('a=*** b=*** c=1 d=***');
  });

  it('replaces a secret however the target spells it back, and leaves the rest as it was', () => {
    const secret = 'db/Se"cret+Value';
    for (const echoed of [
      String.raw`{"got":"db\/Se\"cret+Value"}`, // PHP: `/` escaped too
      String.raw`{"got":"db/Se\"cret\u002BValue"}`, // .NET: some characters as \uXXXX
      String.raw`{"got":"\u0064b/Se\"cret+Value"}`, // any character escaped
      String.raw`error: db\u002fSe\u0022cret\u002bValue`, // every non-alphanumeric, lower case
      'next=db%2FSe%22cret%2bValue', // URL-encoded, either case
      'next=db/Se%22cret%2BValue', // Python's quote() keeps `/`
      '<p>db/Se&quot;cret&#43;Value</p>', // HTML
      '<p>db&#x2F;Se&#34;cret&#x2b;Value</p>',
    ])
      expect(redactSecrets(echoed, [secret]), echoed).not.toMatch(/cret.{0,8}Value/);
    // Only the secret changes: spacing, big numbers and key order stay (body assertions).
    expect(
      redactSecrets(
        String.raw`{ "status": "ok", "id": 12345678901234567890, "echo": "db\/Se\"cret+Value" }`,
        [secret],
      ),
    ).toBe('{ "status": "ok", "id": 12345678901234567890, "echo": "***" }');
    // A secret ending in `\` is replaced with its escape, so the JSON stays JSON.
    expect(redactSecrets(String.raw`{"k":"abcd\\"}`, ['abcd\\'])).toBe('{"k":"***"}');
    expect(redactSecrets('{ "a": "nothing" }', [secret])).toBe('{ "a": "nothing" }');
    expect(redactSecrets('DB/SE"CRET+VALUE', [secret])).toBe('DB/SE"CRET+VALUE');
  });
});

describe('EnvSecretResolver', () => {
  it('maps names to VIGIL_SECRET_<NAME> upper-cased, other characters as _', () => {
    expect(envVarForSecret('api_token')).toBe('VIGIL_SECRET_API_TOKEN');
    expect(envVarForSecret('shop/api-token.v2')).toBe('VIGIL_SECRET_SHOP_API_TOKEN_V2');
  });

  it('reads the variable', async () => {
    // Prepare
    const resolver = new EnvSecretResolver({ VIGIL_SECRET_SHOP_TOKEN: 'value-1' });
    // Act + Assess
    expect(await resolver.resolve('shop-token')).toBe('value-1');
  });

  it('names the secret and the variable to set when it is missing or empty', async () => {
    // Prepare
    const resolver = new EnvSecretResolver({ VIGIL_SECRET_EMPTY: '' });
    // Act + Assess
    await expect(resolver.resolve('api-token')).rejects.toThrow(
      'secret "api-token" is not set: define the environment variable VIGIL_SECRET_API_TOKEN',
    );
    await expect(resolver.resolve('empty')).rejects.toBeInstanceOf(SecretError);
  });
});

describe('missingSecretVariables', () => {
  it('names the variables that the config needs and the environment lacks, each once', () => {
    const config = parseConfig({
      probes: [
        {
          name: 'api',
          url: 'https://shop.example.com/health',
          headers: { authorization: 'Bearer {{secret:api-token}}' },
        },
      ],
      heartbeats: [{ name: 'backup', cron: '0 2 * * *', tokenSecret: 'BACKUP_HB' }],
      alerts: {
        channels: [
          { type: 'slack', webhookUrl: '{{secret:SLACK_WEBHOOK}}' },
          { type: 'webhook', url: 'https://hooks.example.com/{{secret:api-token}}' },
        ],
      },
    });
    expect(missingSecretVariables(config, { VIGIL_SECRET_SLACK_WEBHOOK: 'https://x' })).toEqual([
      'VIGIL_SECRET_API_TOKEN',
      'VIGIL_SECRET_BACKUP_HB',
    ]);
    expect(
      missingSecretVariables(config, {
        VIGIL_SECRET_SLACK_WEBHOOK: 'https://x',
        VIGIL_SECRET_API_TOKEN: 't',
        VIGIL_SECRET_BACKUP_HB: 'b',
      }),
    ).toEqual([]);
    expect(missingSecretVariables(parseConfig({}), {})).toEqual([]);
  });
});

describe('SecretsManagerSecretResolver', () => {
  class FakeClient implements GetSecretValueClient {
    calls: string[] = [];
    values = new Map<string, string | undefined>();
    failWith: Error | undefined;
    async send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> {
      const id = command.input.SecretId ?? '';
      this.calls.push(id);
      await Promise.resolve();
      if (this.failWith) throw this.failWith;
      if (!this.values.has(id)) {
        const e = new Error(`Secrets Manager can't find the specified secret.`);
        e.name = 'ResourceNotFoundException';
        throw e;
      }
      return { $metadata: {}, SecretString: this.values.get(id) };
    }
  }

  let client: FakeClient;
  let now: number;
  let resolver: SecretsManagerSecretResolver;

  beforeEach(() => {
    client = new FakeClient();
    now = 1_000_000;
    resolver = new SecretsManagerSecretResolver({ client, prefix: 'vigil/dev/', now: () => now });
  });

  it('reads <prefix><NAME> and caches it for 5 minutes', async () => {
    // Prepare
    client.values.set('vigil/dev/API_TOKEN', 'tok-1');
    // Act
    const first = await resolver.resolve('API_TOKEN');
    now += 299_999;
    const cached = await resolver.resolve('API_TOKEN');
    client.values.set('vigil/dev/API_TOKEN', 'tok-2');
    now += 1;
    const refreshed = await resolver.resolve('API_TOKEN');
    // Assess
    expect([first, cached, refreshed]).toEqual(['tok-1', 'tok-1', 'tok-2']);
    expect(client.calls).toEqual(['vigil/dev/API_TOKEN', 'vigil/dev/API_TOKEN']);
  });

  it('shares one request between concurrent reads', async () => {
    // Prepare
    client.values.set('vigil/dev/A', 'a-value');
    // Act
    const values = await Promise.all([resolver.resolve('A'), resolver.resolve('A')]);
    // Assess
    expect(values).toEqual(['a-value', 'a-value']);
    expect(client.calls).toHaveLength(1);
  });

  it('names the missing secret id, never a value', async () => {
    await expect(resolver.resolve('NOPE')).rejects.toThrow(
      'secret "NOPE" not found: create the Secrets Manager secret "vigil/dev/NOPE"',
    );
  });

  it('rejects a binary secret', async () => {
    // Prepare
    client.values.set('vigil/dev/BIN', undefined);
    // Act + Assess
    await expect(resolver.resolve('BIN')).rejects.toThrow('has no string value');
  });

  it('keeps serving the cached value when a refresh fails, and fails without one', async () => {
    // Prepare
    client.values.set('vigil/dev/T', 'old-value');
    await resolver.resolve('T');
    now += 300_000;
    const throttled = new Error('Rate exceeded');
    throttled.name = 'ThrottlingException';
    client.failWith = throttled;
    // Act
    const stale = await resolver.resolve('T');
    const other = resolver.resolve('OTHER');
    // Assess
    expect(stale).toBe('old-value');
    await expect(other).rejects.toThrow(
      'secret "OTHER" (vigil/dev/OTHER) cannot be read: ThrottlingException',
    );
  });

  it('maps names without a prefix as they are', () => {
    expect(new SecretsManagerSecretResolver({ client }).secretId('x/y')).toBe('x/y');
  });
});
