import type { ProbeConfig, ProbeStepConfig } from '../config';
import { VAR_PLACEHOLDER } from '../config-access';
import {
  evaluate,
  type Failure,
  isTransportFailure,
  type Observation,
  type Verdict,
} from './assertions';
import { select } from './json-path';
import type { JudgedOutcome, StepResult } from './outcome';
import { redactSecrets, resolveTemplate, type SecretResolver } from './secrets';

/**
 * Multi-step API checks: the steps of one probe run in order, each one request judged by its
 * own `expect`, each able to `extract` values (a JSON path of the body or a header) that later
 * steps use as `{{vars.NAME}}`. The first step that fails ends the run; the steps after it are
 * reported as skipped. Resolved secrets and extracted values are scrubbed from everything
 * reported, since an extracted token is a credential too.
 */

/** One request as the transport sends it (`url`, `headers` and `body` already resolved). */
export interface StepRequest {
  name: string;
  url: string;
  method: string;
  body?: string;
  timeoutMs: number;
}

/** Sends one request; network failures are observations (see `probeHttp`). */
export type SendFn = (
  request: StepRequest,
  headers: Record<string, string>,
  signal: AbortSignal,
) => Promise<Observation>;

/** What a multi-step run produced: the verdict over all steps, and each step's result. */
export interface StepsOutcome extends JudgedOutcome {
  steps: StepResult[];
  failure?: Failure & { step: string };
}

export interface StepsDeps {
  send: SendFn;
  secrets: SecretResolver;
  now: () => Date;
  /** Monotonic milliseconds. Default `performance.now`. */
  monotonicNow?: () => number;
}

type MultiStepProbe = Pick<ProbeConfig, 'name' | 'timeoutMs' | 'tlsExpiryDays'> & {
  steps: readonly ProbeStepConfig[];
};

const round1 = (ms: number): number => Math.max(0, Math.round(ms * 10) / 10);

const fillVars = (text: string, vars: ReadonlyMap<string, string>, encode: boolean): string =>
  text.replace(VAR_PLACEHOLDER, (_m, name: string) => {
    const value = vars.get(name) ?? '';
    return encode ? encodeURIComponent(value) : value;
  });

/** A JSON value as text: strings as they are, anything else as JSON (`42`, `{"id":1}`). */
const asText = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** The step's `extract` values, or the failure naming the first one that is missing. */
const extract = (
  step: ProbeStepConfig,
  obs: Exclude<Observation, { error: unknown }>,
): { values: [string, string][] } | { failure: Failure } => {
  const values: [string, string][] = [];
  let doc: unknown;
  let parsed: boolean | undefined;
  for (const [name, source] of Object.entries(step.extract)) {
    const assertion = `extract:${name}`;
    if (source.startsWith('header:')) {
      const wanted = source.slice('header:'.length).toLowerCase();
      const value = Object.entries(obs.headers).find(([k]) => k.toLowerCase() === wanted)?.[1];
      if (value === undefined)
        return { failure: { assertion, message: `the response has no ${wanted} header` } };
      values.push([name, value]);
      continue;
    }
    if (parsed === undefined) {
      try {
        doc = JSON.parse(obs.body);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    if (!parsed)
      return {
        failure: { assertion, message: `the body is not JSON, so ${source} cannot be read` },
      };
    const { found, value } = select(doc, source);
    if (!found || value === null)
      return { failure: { assertion, message: `${source} is not in the response body` } };
    values.push([name, asText(value)]);
  }
  return { values };
};

/** Run the steps of one probe in order, within the probe's `timeoutMs` for all of them. */
export const runSteps = async (
  probe: MultiStepProbe,
  deps: StepsDeps,
  signal: AbortSignal,
): Promise<StepsOutcome> => {
  const mono = deps.monotonicNow ?? (() => performance.now());
  const started = mono();
  const vars = new Map<string, string>();
  // What reports never show: the secrets sent and the values extracted from answers.
  const hidden: string[] = [];
  const scrub = (text: string) => redactSecrets(text, hidden);
  const cache = new Map<string, string>();
  const secrets: SecretResolver = {
    resolve: async (name) => {
      const value = cache.get(name) ?? (await deps.secrets.resolve(name));
      cache.set(name, value);
      hidden.push(value);
      return value;
    },
  };
  /** An answer with the secrets sent taken out, as the assertions may quote it. */
  const withoutSecrets = (obs: Observation): Observation => {
    const sent = [...cache.values()];
    if (isTransportFailure(obs) || sent.length === 0) return obs;
    const clean = (text: string) => redactSecrets(text, sent);
    return {
      ...obs,
      body: clean(obs.body),
      headers: Object.fromEntries(Object.entries(obs.headers).map(([k, v]) => [k, clean(v)])),
    };
  };
  const results: StepResult[] = [];
  const warnings: string[] = [];
  let tls: Verdict['tls'];
  let failure: StepsOutcome['failure'];
  let statusCode: number | undefined;

  for (const step of probe.steps) {
    if (failure) {
      results.push({ name: step.name, status: 'skipped', latencyMs: 0 });
      continue;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.headers))
      headers[key] = await resolveTemplate(fillVars(value, vars, false), secrets);
    const body =
      step.body === undefined
        ? undefined
        : await resolveTemplate(fillVars(step.body, vars, false), secrets);
    const remaining = Math.floor(probe.timeoutMs - (mono() - started));
    const obs: Observation =
      remaining <= 0
        ? {
            error: 'timeout',
            message: `no time left of the probe's ${probe.timeoutMs} ms`,
            latencyMs: 0,
          }
        : await deps
            .send(
              {
                name: `${probe.name}/${step.name}`,
                url: fillVars(step.url, vars, true),
                method: step.method,
                ...(body === undefined ? {} : { body }),
                timeoutMs: remaining,
              },
              headers,
              signal,
            )
            .catch((e: unknown) => {
              // Node refused to build the request (e.g. a bad header value): never echo a secret.
              throw new Error(scrub(e instanceof Error ? e.message : String(e)));
            });
    // The secrets are taken out before the assertions quote the answer: one echoed escaped
    // (`\/`) would survive their quoting. Extracted values stay (an assertion may look for
    // them); they are scrubbed from the messages, and values are extracted from the answer as
    // it came.
    const verdict = evaluate(
      { expect: step.expect, tlsExpiryDays: probe.tlsExpiryDays },
      withoutSecrets(obs),
      deps.now(),
    );
    let stepFailure = verdict.failure;
    // The run's status code is the last step's: none when that step got no answer (a timeout
    // after a step that answered 200 must not read as "HTTP 200").
    statusCode = isTransportFailure(obs) ? undefined : obs.statusCode;
    if (!isTransportFailure(obs)) {
      if (!stepFailure) {
        const got = extract(step, obs);
        if ('failure' in got) stepFailure = got.failure;
        else
          for (const [name, value] of got.values) {
            vars.set(name, value);
            hidden.push(value);
          }
      }
    }
    for (const w of verdict.warnings) warnings.push(`step "${step.name}": ${scrub(w)}`);
    if (verdict.tls && (!tls || verdict.tls.daysRemaining < tls.daysRemaining)) tls = verdict.tls;
    const reported = stepFailure
      ? { assertion: stepFailure.assertion, message: scrub(stepFailure.message) }
      : undefined;
    results.push({
      name: step.name,
      status: reported ? 'down' : 'up',
      latencyMs: round1(obs.latencyMs),
      ...(isTransportFailure(obs) ? {} : { statusCode: obs.statusCode }),
      ...(reported ? { failure: reported } : {}),
    });
    if (reported)
      failure = {
        assertion: reported.assertion,
        message: `step "${step.name}": ${reported.message}`,
        step: step.name,
      };
  }
  return {
    status: failure ? 'down' : 'up',
    steps: results,
    latencyMs: mono() - started,
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(failure ? { failure } : {}),
    warnings,
    ...(tls ? { tls } : {}),
  };
};
