import { Tracer } from '@aws-lambda-powertools/tracer';
import { installTracer, SERVICE } from '../../shared/powertools';

/**
 * The Powertools Tracer (aws-xray-sdk-core), Lambda's only: importing this module makes it the
 * tracer of the shared code (shared/tracing.ts, http-probe.ts). The Lambda entries import it
 * (lambda-entry.ts) and the AWS clients capture their calls with it; local mode never does.
 */
export const tracer = new Tracer({ serviceName: SERVICE });
installTracer(tracer);
