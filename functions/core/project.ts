import { VigilError } from './errors';

/**
 * Project names have one canonical form, so two spellings can never share (or split) a run,
 * an archive key or a history: Unicode NFC, `/`-separated segments of letters, digits and
 * `. _ -`, no empty, `.` or `..` segment, no leading or trailing slash, at most 128 characters,
 * starting with a letter or digit.
 */

export const MAX_PROJECT_LENGTH = 128;
const CHARS = /^[\p{L}\p{M}\p{N}._\-/]*$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** What is wrong with a project name (already NFC), or undefined when it is canonical. */
export const projectNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_PROJECT_LENGTH) return `it is longer than ${MAX_PROJECT_LENGTH} characters`;
  if (CONTROL.test(name)) return 'it contains a control character';
  if (!CHARS.test(name)) return 'only letters, digits, ". _ - /" are allowed';
  if (name.startsWith('/') || name.endsWith('/')) return 'it starts or ends with "/"';
  const segments = name.split('/');
  if (segments.includes('')) return 'it has an empty segment ("//")';
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a "." or ".." segment';
  if (!/^[\p{L}\p{N}]/u.test(name)) return 'it must start with a letter or digit';
  return undefined;
};

/**
 * The canonical form of a project name (NFC), or a 400 naming `where` and what is wrong.
 * A name that differs from its NFC form only in normalization is the same project.
 */
export const canonicalProject = (raw: string, where: string): string => {
  const name = raw.normalize('NFC');
  const problem = projectNameProblem(name);
  if (problem)
    throw new VigilError(
      'bad_request',
      `The project name is invalid: ${problem}. Use "/"-separated segments of letters, ` +
        `digits, ". _ -" (max ${MAX_PROJECT_LENGTH}), e.g. "shop/web".`,
      { path: where },
    );
  return name;
};
