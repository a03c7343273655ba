import { type Delivered, oneLine, quarantineNote, type Test, testLabel } from './answer';

/**
 * GitHub workflow commands for failed (`::error`) and flaky (`::warning`) tests; a failure
 * under a quarantine does not fail the gate, so it is a warning that says so. GitHub shows
 * at most 10 error and 10 warning annotations per step (and 50 per job), so the rest are
 * counted in one notice instead of being dropped silently.
 */

export const MAX_ANNOTATIONS_PER_KIND = 10;

/** Escaping of a command's message, as the Actions toolkit does (`escapeData`). */
export const escapeData = (s: string): string =>
  s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** Escaping of a property value (`escapeProperty`): also `:` and `,`. */
export const escapeProperty = (s: string): string =>
  escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

const command = (
  kind: 'error' | 'warning' | 'notice',
  props: Record<string, string | undefined>,
  message: string,
): string => {
  const list = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',');
  return `::${kind}${list ? ` ${list}` : ''}::${escapeData(message)}`;
};

/** One `::error` annotation with a title, message and title escaped; the message is one line. */
export const errorCommand = (title: string, message: string): string =>
  command('error', { title }, oneLine(message, 1000));

/** A repository-relative path for `file=`: absolute paths under the workspace are shortened. */
export const relativeTo = (file: string, workspace: string | undefined): string => {
  const f = file.replaceAll('\\', '/');
  const w = workspace?.replaceAll('\\', '/').replace(/\/+$/, '');
  return w && f.startsWith(`${w}/`) ? f.slice(w.length + 1) : f.replace(/^\.\//, '');
};

export const annotationLines = (
  delivered: readonly Delivered[],
  workspace: string | undefined,
): string[] => {
  const testCommand = (kind: 'error' | 'warning', t: Test, title: string, message: string) =>
    command(
      kind,
      {
        file: t.file && relativeTo(oneLine(t.file, 500), workspace),
        line: t.line?.toString(),
        title: `${title}: ${oneLine(testLabel(t), 200)}`,
      },
      message,
    );
  const errors: string[] = [];
  const warnings: string[] = [];
  let failedTotal = 0;
  let flakyTotal = 0;
  let quarantined = 0;
  for (const d of delivered) {
    failedTotal += d.failed.length + d.moreFailed;
    flakyTotal += d.flaky.length + d.moreFlaky;
    for (const t of d.failed) {
      const message = oneLine(t.message ?? 'failed', 1000);
      if (t.quarantined) {
        quarantined++;
        warnings.push(
          testCommand(
            'warning',
            t,
            'Quarantined',
            `${message}${quarantineNote(t)}: not failing the gate.`,
          ),
        );
      } else errors.push(testCommand('error', t, 'Failed', message));
    }
    for (const t of d.flaky)
      warnings.push(testCommand('warning', t, 'Flaky', 'Passed only after a retry.'));
  }
  const lines = [
    ...errors.slice(0, MAX_ANNOTATIONS_PER_KIND),
    ...warnings.slice(0, MAX_ANNOTATIONS_PER_KIND),
  ];
  // The quarantined failures listed in the answers are warnings here.
  const leftErrors = failedTotal - quarantined - Math.min(errors.length, MAX_ANNOTATIONS_PER_KIND);
  const leftWarnings =
    flakyTotal + quarantined - Math.min(warnings.length, MAX_ANNOTATIONS_PER_KIND);
  const warned = quarantined > 0 ? 'flaky or quarantined' : 'flaky';
  if (leftErrors > 0 || leftWarnings > 0)
    lines.push(
      command(
        'notice',
        { title: 'Vigil: more results than annotations' },
        `${leftErrors} failed and ${leftWarnings} ${warned} tests are not annotated (GitHub shows at most ${MAX_ANNOTATIONS_PER_KIND} of each kind per step); see the job summary and log.`,
      ),
    );
  return lines;
};
