import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VigilStack } from '../../lib/vigil-stack';
import { nagFindings, stageConfig, synthesize } from './synth';

/**
 * The heartbeat resources on AWS: ping route, state table, one-minute evaluator, IAM scope,
 * on the shared dev synthesis (its config has a heartbeat with a ping token; cfn-lint lints it).
 */

let template: Template;
let stack: VigilStack;
let nag: ReturnType<typeof nagFindings>;

beforeAll(async () => {
  const built = await synthesize('dev', await stageConfig());
  stack = built.stack;
  template = built.template;
  nag = [...nagFindings(built.nag(), 'error'), ...nagFindings(built.nag(), 'warning')];
});

const logicalId = (construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('heartbeats on AWS', () => {
  it('has no cdk-nag findings', () => {
    expect(nag).toEqual([]);
  });

  it('routes GET and POST /v1/heartbeats/{proxy+} to the ingest function, no authorizer', () => {
    for (const method of ['GET', 'POST'])
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${method} /v1/heartbeats/{proxy+}`,
        AuthorizationType: 'NONE',
      });
  });

  it('invokes the evaluator once a minute and gives it the table and the bus', () => {
    const fn = logicalId(stack.heartbeats?.handler.function ?? stack);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          HEARTBEAT_TABLE: { Ref: logicalId(stack.heartbeats?.table ?? stack) },
          EVENT_BUS_NAME: Match.anyValue(),
        }),
      },
    });
  });

  it('lets the ingest function read only the heartbeat token secrets', () => {
    const ingestRole = logicalId(stack.ingest.handler.role);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: ingestRole }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } })
          .Properties.PolicyDocument.Statement,
    );
    const secretReads = statements.filter((s) => s.Action === 'secretsmanager:GetSecretValue');
    const resources = JSON.stringify(secretReads.map((s) => s.Resource));
    expect(resources).toContain('secret:vigil/dev/BACKUP_HB-*');
    expect(resources).not.toContain('secret:vigil/dev/*');
  });
});
