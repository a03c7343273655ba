import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { VigilConfig } from '../functions/core/config';
import {
  ARTIFACTS_PREFIX,
  BROWSER_EPHEMERAL_MB,
  BROWSER_EXTERNALS,
  BROWSER_MEMORY_MB,
  browserAfterBundling,
  browserProbes,
} from './browser-checks';
import type { StageSettings } from './config';
import { functionEntry, grantStageSecretsRead, VigilFunction } from './function-defaults';
import { deadLetterQueue } from './resources';

export interface ProbesProps {
  /** Where the probe function publishes `Probe Completed` events. */
  readonly eventBus: IEventBus;
  readonly settings: StageSettings;
  /** Must contain at least one probe (see `Probes.needed`). */
  readonly config: VigilConfig;
  /**
   * Upper bound on probe runs in flight. A run takes up to a minute (plus the last sample's
   * timeout), so two cover one overlap without letting a backlog fan out.
   * @default 2
   */
  readonly reservedConcurrency?: number;
  /** @default 70 (one minute of samples, plus the slowest probe timeout and publishing) */
  readonly timeoutSeconds?: number;
  /** @default 256 (browser checks: `BROWSER_MEMORY_MB`) */
  readonly memorySizeMb?: number;
  /**
   * `browser`: the browser checks' own function and schedule (Chromium, x86_64), which may put
   * their screenshots and traces under `artifacts/` in `archiveBucket`; default: every other
   * probe kind.
   */
  readonly kind?: 'browser';
  /** Where browser checks archive their failures' files (required with `kind: 'browser'`). */
  readonly archiveBucket?: IBucket;
}

/**
 * Synthetic probes: an EventBridge Scheduler schedule invokes the probe function once a
 * minute (flexible time window off, so samples stay a minute apart); the function checks
 * every configured probe and publishes the results to the Vigil bus.
 *
 * No retries anywhere: a retried invocation would re-run a whole minute of probing on top of
 * the next scheduled one. Invocations that cannot be delivered, or fail, or wait too long for
 * a concurrency slot, land in one encrypted dead-letter queue.
 */
export class Probes extends Construct {
  /** Whether a config needs the probe schedule and function at all. */
  static needed(config: VigilConfig, kind?: 'browser'): boolean {
    return config.probes.some((p) => (p.type === 'browser') === (kind === 'browser'));
  }

  readonly handler: VigilFunction;
  readonly schedule: Schedule;
  /** Failed schedule deliveries (Scheduler) and failed or expired invocations (Lambda). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ProbesProps) {
    super(scope, id);
    if (!Probes.needed(props.config, props.kind)) {
      throw new Error('Probes needs a config with at least one probe (check Probes.needed).');
    }
    const { settings } = props;
    const stack = Stack.of(this);

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      settings,
      'the probe schedule and function',
    );

    const browser = props.kind === 'browser' ? props.archiveBucket : undefined;
    if (props.kind === 'browser' && !browser)
      throw new Error('Browser checks need the archive bucket (archiveBucket).');
    // A minute of samples plus the slowest check (launch, script, screenshot and trace).
    const slowestSeconds = Math.ceil(
      Math.max(...browserProbes(props.config).map((p) => p.timeoutMs), 0) / 1000,
    );
    this.handler = new VigilFunction(this, 'Handler', {
      entry: functionEntry(browser ? 'browser' : 'probe'),
      description: browser
        ? `Vigil ${settings.stage}: scheduled browser checks (Chromium)`
        : `Vigil ${settings.stage}: scheduled synthetic probes`,
      settings,
      config: props.config,
      memorySizeMb: props.memorySizeMb ?? (browser ? BROWSER_MEMORY_MB : 256),
      timeoutSeconds: props.timeoutSeconds ?? (browser ? 70 + slowestSeconds : 70),
      reservedConcurrentExecutions: props.reservedConcurrency ?? 2,
      environment: {
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        ...(browser ? { ARCHIVE_BUCKET: browser.bucketName } : {}),
      },
      ...(browser
        ? {
            architecture: Architecture.X86_64,
            ephemeralStorageMb: BROWSER_EPHEMERAL_MB,
            externalModules: BROWSER_EXTERNALS,
            afterBundling: browserAfterBundling(props.config),
          }
        : {}),
    });
    const fn = this.handler.function;
    if (browser) {
      // Screenshots and traces only, under their own prefix: no read, no other key.
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [browser.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
        }),
      );
      const bucketResource = browser.node.defaultChild as CfnResource;
      Validations.of(this.handler.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucketResource)}.Arn>/${ARTIFACTS_PREFIX}*]`,
        reason:
          "Browser checks archive a failed run's screenshot and trace under content-addressed " +
          `keys (${ARTIFACTS_PREFIX}<sha256>.<ext>): s3:PutObject on that prefix only.`,
      });
    }
    props.eventBus.grantPutEventsTo(fn);
    const secretsArn = grantStageSecretsRead(this.handler, settings.stage);
    Validations.of(this.handler.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${secretsArn}]`,
      reason:
        'Probe headers reference secrets by name ({{secret:NAME}} -> vigil/<stage>/NAME); the ' +
        'names come from the config and Secrets Manager appends a random suffix, so the read ' +
        "is scoped to this stage's prefix rather than to individual ARNs.",
    });
    // Scheduler invokes asynchronously: no Lambda retries either, and a run that waited more
    // than two minutes for a concurrency slot is stale (newer runs have covered its minute).
    fn.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(2),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    // The schedule's role, assumable only by schedules of this account (confused deputy).
    const schedulerRole = new Role(this, 'SchedulerRole', {
      description: `Vigil ${settings.stage}: EventBridge Scheduler invokes the probe function`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });

    this.schedule = new Schedule(this, 'Schedule', {
      description: `Vigil ${settings.stage}: run every probe once a minute`,
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(fn, {
        role: schedulerRole,
        input: ScheduleTargetInput.fromObject({
          group: 'all',
          scheduledTime: ContextAttribute.scheduledTime,
          executionId: ContextAttribute.executionId,
        }),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    const fnResource = fn.node.defaultChild;
    if (!(fnResource instanceof CfnFunction)) throw new Error('Probe function has no CfnFunction');
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fnResource)}.Arn>:*]`,
      reason:
        'LambdaInvoke grants lambda:InvokeFunction on the probe function and its versions ' +
        '(function ARN + ":*"); no other function is reachable.',
    });
  }
}
