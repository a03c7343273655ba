import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CfnResourceJson,
  type Deployed,
  deployedStages,
  nagFindings,
  STAGES_UNDER_TEST,
  type Synthesized,
} from './synth';

/**
 * Every Vigil function can find (`SENTRY_DSN_SECRET_ID`) and read (`secretsmanager:GetSecretValue`
 * on exactly `secret:vigil/<stage>/SENTRY_DSN-*`) the optional Sentry DSN secret of its stage.
 */

let deployed: Deployed;
const HANDLERS = [
  'ingest',
  'authorizer',
  'metrics',
  'history',
  'status',
  'probe',
  'alert',
  'notify',
  'web',
  'heartbeat',
  'browser',
];

beforeAll(async () => {
  deployed = await deployedStages();
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const asArray = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/** A resource ARN as text: `Ref`s of pseudo parameters become `${AWS::Name}`, `Fn::Join` is joined. */
const render = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.Ref === 'string') return `\${${value.Ref}}`;
  if (isRecord(value) && Array.isArray(value['Fn::Join'])) {
    const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  return JSON.stringify(value);
};

/** The Vigil functions (those with `VIGIL_STAGE`), by logical id, with their environment. */
const vigilFunctions = (s: Synthesized): [string, CfnResourceJson, Record<string, unknown>][] =>
  Object.entries(s.resources).flatMap(([id, r]) => {
    if (r.Type !== 'AWS::Lambda::Function') return [];
    const env = r.Properties?.Environment;
    const variables = isRecord(env) && isRecord(env.Variables) ? env.Variables : undefined;
    return variables && 'VIGIL_STAGE' in variables
      ? [[id, r, variables] as [string, CfnResourceJson, Record<string, unknown>]]
      : [];
  });

/** Logical id of a function's role (`Role: { Fn::GetAtt: [id, 'Arn'] }`). */
const roleOf = (fn: CfnResourceJson): string => {
  const role = fn.Properties?.Role;
  const getAtt = isRecord(role) ? role['Fn::GetAtt'] : undefined;
  const id = Array.isArray(getAtt) ? getAtt[0] : undefined;
  if (typeof id !== 'string') throw new Error(`unexpected Role ${JSON.stringify(role)}`);
  return id;
};

/** Resources (rendered) of every `secretsmanager:GetSecretValue` statement attached to a role. */
const secretReadsOf = (s: Synthesized, roleId: string): string[] =>
  Object.values(s.resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        asArray(r.Properties?.Roles).some((ref) => isRecord(ref) && ref.Ref === roleId),
    )
    .flatMap((policy) => {
      const document = policy.Properties?.PolicyDocument;
      return isRecord(document) ? asArray(document.Statement) : [];
    })
    .filter(
      (statement) =>
        isRecord(statement) &&
        statement.Effect === 'Allow' &&
        asArray(statement.Action).includes('secretsmanager:GetSecretValue'),
    )
    .flatMap((statement) => (isRecord(statement) ? asArray(statement.Resource).map(render) : []));

describe.each(STAGES_UNDER_TEST)('Sentry DSN secret (%s)', (stage) => {
  const s = (): Synthesized => deployed[stage];
  const secretName = `vigil/${stage}/SENTRY_DSN`;
  const secretArn =
    `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:` +
    `secret:${secretName}-*`;

  it('covers every Vigil function', () => {
    // Assess
    expect(vigilFunctions(s())).toHaveLength(HANDLERS.length);
  });

  it('gives every Vigil function SENTRY_DSN_SECRET_ID = vigil/<stage>/SENTRY_DSN', () => {
    for (const [id, , env] of vigilFunctions(s())) {
      expect(env.SENTRY_DSN_SECRET_ID, id).toBe(secretName);
      expect(env.SENTRY_DSN, id).toBeUndefined();
    }
  });

  it('lets every Vigil function read exactly that secret name (plus the random suffix)', () => {
    for (const [id, fn] of vigilFunctions(s())) {
      const reads = secretReadsOf(s(), roleOf(fn));
      expect(reads, id).toContain(secretArn);
    }
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(s().nag(), 'error')).toEqual([]);
    expect(nagFindings(s().nag(), 'warning')).toEqual([]);
  });
});
