import { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, stageConfig, synthesize } from './synth';

/**
 * The browser checks' own Lambda function (stageConfig() has one browser check): sized for
 * Chromium, x86_64 (the packed Chromium is x86_64 only), put-only on the archive's `artifacts/`
 * prefix. stack.suite.ts finds the same stacks cdk-nag clean, this function included; what its
 * asset ships is tested by bundle.test.ts.
 */

let dev: Synthesized;

beforeAll(async () => {
  dev = await synthesize('dev', await stageConfig());
});

const logicalIdOf = (construct: IConstruct): string => {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no L1`);
  return dev.stack.getLogicalId(resource);
};

const browserChecks = () => {
  const { browserChecks, probes } = dev.stack;
  if (!browserChecks || !probes)
    throw new Error('stageConfig() has an HTTP probe and a browser check');
  return { browser: browserChecks.handler, probe: probes.handler };
};

describe('browser function (synth)', () => {
  it('is its own function, sized for Chromium, beside the HTTP probe function', () => {
    const { browser, probe } = browserChecks();
    const propsOf = (construct: IConstruct) => dev.resources[logicalIdOf(construct)]?.Properties;
    expect(propsOf(browser.function)).toMatchObject({
      MemorySize: 2048,
      // A minute of samples + the slowest check's timeout (the 5 s default) + margin.
      Timeout: 75,
      EphemeralStorage: { Size: 2048 },
      Architectures: ['x86_64'],
    });
    expect(propsOf(probe.function)).toMatchObject({ MemorySize: 256, Architectures: ['arm64'] });
    // Scheduled like the HTTP probes: every minute, one schedule per function.
    const schedules = Object.values(dev.template.findResources('AWS::Scheduler::Schedule'));
    for (const fn of [browser.function, probe.function]) {
      const arn = { 'Fn::GetAtt': [logicalIdOf(fn), 'Arn'] };
      const own = schedules.filter((s) => JSON.stringify(s).includes(JSON.stringify(arn)));
      expect(own, fn.node.path).toEqual([
        expect.objectContaining({
          Properties: expect.objectContaining({ ScheduleExpression: 'rate(1 minute)' }),
        }),
      ]);
    }
  });

  it('may only put objects under artifacts/ in the archive bucket', () => {
    const policies = Object.values(
      dev.template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalIdOf(browserChecks().browser.role) }] },
      }),
    );
    expect(policies).not.toEqual([]);
    const statements = policies.flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [expect.anything(), '/artifacts/*']] },
      }),
    ]);
  });
});
