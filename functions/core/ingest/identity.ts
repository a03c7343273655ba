import { VigilError } from '../errors';

/**
 * What makes a run the same run: its content and the metadata it was reported with. The
 * ledger keeps this (as JSON) per runId; a repeat of the same runId is a duplicate only when
 * all of it matches, and a 409 naming the fields that differ otherwise.
 */
export interface RunIdentity {
  content: string;
  suite: string;
  branch: string;
  commit: string;
  ci: string;
}

const FIELDS = ['content', 'suite', 'branch', 'commit', 'ci'] as const;

export const identityOf = (
  contentSha256: string,
  params: { suite?: string; branch?: string; commit?: string; ci?: string },
): RunIdentity => ({
  content: contentSha256,
  suite: params.suite ?? '',
  branch: params.branch ?? '',
  commit: params.commit ?? '',
  ci: params.ci ?? '',
});

const readIdentity = (fingerprint: string | undefined): Partial<RunIdentity> | undefined => {
  try {
    const value = JSON.parse(fingerprint ?? '') as unknown;
    return value && typeof value === 'object' ? (value as Partial<RunIdentity>) : undefined;
  } catch {
    return undefined; // absent, or recorded before runs had metadata in their identity
  }
};

const shown = (value: string | undefined): string =>
  value ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value) : 'none';

/** The 409 for a runId already recorded with other content or metadata, saying which. */
export const conflictMessage = (
  runId: string,
  now: RunIdentity,
  recordedFingerprint: string | undefined,
): VigilError => {
  const recorded = readIdentity(recordedFingerprint);
  const differing = recorded ? FIELDS.filter((f) => recorded[f] !== now[f]) : [];
  const what = differing.map((f) =>
    f === 'content' ? 'different content' : `${f} ${shown(recorded?.[f])} (now ${shown(now[f])})`,
  );
  const first = differing[0];
  return new VigilError(
    'conflict',
    `Run "${runId}" was already reported with ${what.length ? what.join(', ') : 'different content or metadata'}; ` +
      'a new run needs a new runId (or send none and Vigil derives one).',
    { path: first && first !== 'content' ? `query.${first}` : 'query.runId' },
  );
};
