import { readdirSync, readFileSync } from 'node:fs';
import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { VigilConfig } from '../../functions/core/config';
import { type Stage, stackNameFor } from '../../lib/config';
import { VigilStack } from '../../lib/vigil-stack';
import { testApp } from './cdk-app';

/**
 * A synthesized Vigil stack read as data (for wiring tests against emulators): resources by
 * logical ID, each with its construct path, plus helpers to resolve the few intrinsic
 * functions the stack uses in environment variables and event patterns.
 */

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface SynthesizedStack {
  resources: Record<string, CfnResource>;
  /** Construct path of every resource, by logical ID (e.g. `Vigil-dev/Processors/MetricsRule/Resource`). */
  paths: ReadonlyMap<string, string>;
}

/**
 * Synthesize one stage with bundling skipped and without cdk-nag (stack.suite.ts covers nag;
 * here only the wiring matters, and skipping it saves a few seconds).
 */
export const synthesizeStack = (stage: Stage, config: VigilConfig): SynthesizedStack => {
  const app = testApp({ stage, 'aws:cdk:bundling-stacks': [] });
  const stack = new VigilStack(app, stackNameFor(stage), { stage, config });
  const json = Template.fromStack(stack).toJSON() as { Resources?: Record<string, CfnResource> };
  const paths = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (construct instanceof CfnElement)
      paths.set(stack.getLogicalId(construct), construct.node.path);
  }
  return { resources: json.Resources ?? {}, paths };
};

export const resourcesOfType = (
  stack: SynthesizedStack,
  type: string,
): [logicalId: string, resource: CfnResource][] =>
  Object.entries(stack.resources).filter(([, r]) => r.Type === type);

/** Handler entries: the directories under functions/ with an index.ts. */
const ENTRIES = readdirSync(new URL('../../functions/', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .filter((name) => {
    try {
      readFileSync(new URL(`../../functions/${name}/index.ts`, import.meta.url));
      return true;
    } catch {
      return false;
    }
  });

/**
 * The handler entry (`functions/<entry>/index.ts`) of a Lambda function, from its construct
 * path: the deepest path segment that starts with an entry's name decides
 * (`Processors/Metrics/Function` → metrics, `Ingest/Handler/Function` → ingest,
 * `Alerting/Notify/Function` → notify). The template itself does not name the entry when
 * bundling is skipped. Undefined for functions CDK adds itself.
 */
export const entryOfFunction = (stack: SynthesizedStack, logicalId: string): string | undefined => {
  const path = stack.paths.get(logicalId);
  if (path === undefined) return undefined;
  const segments = path
    .split('/')
    .slice(1)
    .map((s) => s.toLowerCase())
    .reverse();
  for (const segment of segments) {
    const matches = ENTRIES.filter((entry) => segment.startsWith(entry));
    if (matches.length > 1) {
      throw new Error(
        `function ${logicalId} (${path}) matches several entries: ${matches.join(', ')}`,
      );
    }
    if (matches[0] !== undefined) return matches[0];
  }
  return undefined;
};

/** A rule with an event pattern (scheduled rules are left out). */
export interface PatternRule {
  logicalId: string;
  path: string;
  /** Logical ID of the bus, or undefined for the account's default bus. */
  busLogicalId: string | undefined;
  pattern: unknown;
  /** Handler entries of the Lambda targets (`metrics`, `alert`, ...); unknown targets as their logical ID. */
  targets: string[];
}

const refOf = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
};

export const patternRules = (stack: SynthesizedStack): PatternRule[] =>
  resourcesOfType(stack, 'AWS::Events::Rule').flatMap(([logicalId, rule]) => {
    const props = rule.Properties ?? {};
    if (props.EventPattern === undefined) return [];
    const targets = Array.isArray(props.Targets) ? (props.Targets as { Arn?: unknown }[]) : [];
    return [
      {
        logicalId,
        path: stack.paths.get(logicalId) ?? logicalId,
        busLogicalId: refOf(props.EventBusName),
        pattern: props.EventPattern,
        targets: targets.map((t) => {
          const target = refOf(t.Arn);
          if (target === undefined) return JSON.stringify(t.Arn);
          const entry =
            stack.resources[target]?.Type === 'AWS::Lambda::Function'
              ? entryOfFunction(stack, target)
              : undefined;
          return entry ?? target;
        }),
      },
    ];
  });

/** The Lambda function (logical ID and resource) whose handler entry is `entry`, if any. */
export const functionForEntry = (
  stack: SynthesizedStack,
  entry: string,
): [logicalId: string, resource: CfnResource] | undefined => {
  const found = resourcesOfType(stack, 'AWS::Lambda::Function').filter(
    ([id]) => entryOfFunction(stack, id) === entry,
  );
  if (found.length > 1) throw new Error(`several functions run functions/${entry}/index.ts`);
  return found[0];
};

/** What `Ref` and `Fn::GetAtt` give for one resource once it exists (in an emulator). */
export interface PhysicalResource {
  ref: string;
  attributes: Readonly<Record<string, string>>;
}

export interface ResolveContext {
  resources: ReadonlyMap<string, PhysicalResource>;
  region: string;
  accountId: string;
}

/**
 * Resolve `Ref`, `Fn::GetAtt`, `Fn::Join` and `Fn::Sub` (without a variable map) against
 * resources created elsewhere. Anything else throws, naming what the test would have to create.
 */
export const resolveIntrinsics = (value: unknown, ctx: ResolveContext): unknown => {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, ctx));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    return resolveString(first[0], first[1], ctx);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, ctx)]));
};

const PSEUDO = (ctx: ResolveContext): Record<string, string> => ({
  'AWS::Region': ctx.region,
  'AWS::AccountId': ctx.accountId,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
});

const physical = (ctx: ResolveContext, logicalId: string): PhysicalResource => {
  const found = ctx.resources.get(logicalId);
  if (!found) throw new Error(`the template refers to ${logicalId}, which the test did not create`);
  return found;
};

const resolveString = (fn: string, arg: unknown, ctx: ResolveContext): string => {
  const pseudo = PSEUDO(ctx);
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      return pseudo[name] ?? physical(ctx, name).ref;
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
      const value = physical(ctx, logicalId ?? '').attributes[attribute ?? ''];
      if (value === undefined) throw new Error(`no attribute ${attribute} for ${logicalId}`);
      return value;
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(resolveIntrinsics(p, ctx))).join(separator);
    }
    case 'Fn::Sub': {
      if (typeof arg !== 'string') throw new Error('Fn::Sub with a variable map is not supported');
      return arg.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        if (pseudo[name] !== undefined) return pseudo[name];
        const [logicalId, attribute] = name.split('.');
        const target = physical(ctx, logicalId ?? '');
        if (attribute === undefined) return target.ref;
        const value = target.attributes[attribute];
        if (value === undefined) throw new Error(`no attribute ${attribute} for ${logicalId}`);
        return value;
      });
    }
    default:
      throw new Error(`intrinsic ${fn} is not supported by the wiring test`);
  }
};
