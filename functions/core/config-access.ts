import { createHash } from 'node:crypto';
import type { GateConfig, Quarantine, SecuritySuppression, VigilConfig } from './config.js';

/**
 * Reading an already validated config, without its zod schema: the Lambda bundles import
 * these, so they build the schema (tens of milliseconds of init) only when the config they are
 * given must be validated again (see `configFromEnv`). `config.ts` re-exports them.
 */

/** `{{vars.NAME}}`: a value a previous step extracted. */
export const VAR_PLACEHOLDER = /\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;

/**
 * `record[key]` for own keys only: a name from a request, a report or the environment
 * (`constructor`, `toString`) must not find a member of `Object.prototype`.
 */
export const ownEntry = <T>(
  record: Readonly<Partial<Record<string, T>>>,
  key: string,
): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);

/** A stage's overrides; the stage comes from the environment (`VIGIL_STAGE`), so any name. */
const overridesOf = (config: VigilConfig, stage: string | undefined) =>
  stage ? ownEntry(config.stages, stage) : undefined;

type GateOverrides = Partial<GateConfig>;

/**
 * The fields that are set: in a .ts config `minCoverage: process.env.CI ? 80 : undefined` leaves
 * the default (or the level above) in place, as an absent field does, instead of erasing it.
 */
export const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Effective gate thresholds for a project: top-level (with defaults) < stage < project, field by
 * field; inside `security` key by key, inside `benchmarks` benchmark by benchmark and then key by
 * key, so a project that sets one benchmark's `direction` keeps the threshold set above it.
 */
export const gateConfigFor = (config: VigilConfig, project: string, stage?: string): GateConfig => {
  const layers: GateOverrides[] = [
    config.gates,
    definedOnly(overridesOf(config, stage)?.gates ?? {}),
    definedOnly(ownEntry(config.projects, project)?.gates ?? {}),
  ];
  const merged: GateConfig = Object.assign({}, ...layers);
  const security = layers.filter((l) => l.security).map((l) => l.security);
  if (security.length) merged.security = Object.assign({}, ...security);
  const names = new Set(layers.flatMap((l) => Object.keys(l.benchmarks ?? {})));
  // fromEntries: a benchmark named `__proto__` stays an own key.
  merged.benchmarks = Object.fromEntries(
    [...names].map((name) => [
      name,
      Object.assign({}, ...layers.map((l) => (l.benchmarks ? ownEntry(l.benchmarks, name) : {}))),
    ]),
  );
  return merged;
};

/**
 * Branches whose failed runs and gates alert, and whose flaky tests get a NOTICE (default: the
 * default branch).
 */
export const alertBranches = (config: VigilConfig): readonly string[] =>
  config.alerts.branches ?? [config.defaultBranch];

/** Quarantine entries that concern a project: the top-level list plus the project's own. */
export const quarantineFor = (config: VigilConfig, project: string): Quarantine[] => [
  ...config.quarantine,
  ...(ownEntry(config.projects, project)?.quarantine ?? []),
];

/** Security suppressions that concern a project: the top-level list plus the project's own. */
export const suppressionsFor = (config: VigilConfig, project: string): SecuritySuppression[] => [
  ...config.security.suppress,
  ...(ownEntry(config.projects, project)?.security.suppress ?? []),
];

/** Days of run history kept on a stage (stage override, else `history.retentionDays`). */
export const historyRetentionDays = (config: VigilConfig, stage?: string): number =>
  overridesOf(config, stage)?.historyRetentionDays ?? config.history.retentionDays;

/**
 * The hash CDK puts next to the validated config it serialises (`VIGIL_CONFIG_SHA256` beside
 * `VIGIL_CONFIG_JSON`): a function whose config still has this hash skips validating it again.
 */
export const configJsonHash = (json: string): string =>
  createHash('sha256').update(json).digest('hex');

/**
 * The dashboard address a stage's messages link to, when the config names one: the stage's
 * own, else `alerts.dashboardUrl`. Without either, the runtime's address (local mode's own, the
 * API's URL on AWS).
 */
export const dashboardUrlFor = (config: VigilConfig, stage: string): string | undefined =>
  overridesOf(config, stage)?.dashboardUrl ?? config.alerts.dashboardUrl;
