import { Logger, type LogItem, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/metrics/catalog';
import { inertJson } from '../core/plain-text';

/**
 * One logger, tracer and metrics instance per process, created at import time
 * (the Powertools convention). Service name, namespace and log level come from the
 * POWERTOOLS_* environment variables that CDK (or the local runtime) sets.
 */
export const NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE;
export const SERVICE = process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;

/**
 * Powertools' Logger, its lines written inert. Local mode prints them to the terminal
 * (`npm start`), and they quote test names and messages from reports: `JSON.stringify` escapes
 * C0 controls but leaves C1 (U+009B starts a terminal escape sequence), DEL, bidi controls and
 * U+2028/U+2029 raw. Those are written as `\uXXXX` escapes instead: they can only stand inside a
 * JSON string, so the line still parses to the same value.
 */
class InertLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const line = inertJson(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    // Where Powertools' own console writes: warnings and errors to stderr, the rest to stdout.
    (logLevel >= LogLevelThreshold.WARN ? process.stderr : process.stdout).write(`${line}\n`);
  }

  /** `createChild` makes its loggers here: inert too. */
  protected override createLogger(options?: ConstructorOptions): Logger {
    return new InertLogger(options);
  }
}

export const logger = new InertLogger({
  serviceName: SERVICE,
  persistentKeys: { stage: process.env.VIGIL_STAGE ?? 'local' },
});

/** What the shared code (tracing.ts, http-probe.ts) asks of the X-Ray tracer. */
export type SharedTracer = Pick<
  Tracer,
  | 'isTracingEnabled'
  | 'putAnnotation'
  | 'annotateColdStart'
  | 'addServiceNameAnnotation'
  | 'getSegment'
> & { provider: Pick<Tracer['provider'], 'captureAsyncFunc' | 'captureFunc'> };

/**
 * The process's tracer: tracing off, until a Lambda entry installs the Powertools Tracer
 * (functions/adapters/aws/xray-tracer.ts). Local mode, tests and scripts never load the X-Ray
 * SDK (about half of a local start's module load).
 */
export let tracer: SharedTracer = {
  isTracingEnabled: () => false,
  putAnnotation: () => undefined,
  annotateColdStart: () => undefined,
  addServiceNameAnnotation: () => undefined,
  getSegment: () => undefined,
  provider: { captureAsyncFunc: (_name, fn) => fn(), captureFunc: (_name, fn) => fn() },
};

export const installTracer = (installed: SharedTracer): void => {
  tracer = installed;
};

// Powertools' own warnings (e.g. on dimensions) as structured log lines at the log level,
// not raw console output.
export const metrics = new Metrics({ namespace: NAMESPACE, serviceName: SERVICE, logger });
