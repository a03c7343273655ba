/**
 * What text from a report (test and suite names, messages, branches) must never carry into a
 * line a person reads, an email or a terminal: C0 and C1 control characters (line breaks that
 * forge a line of their own; ESC, BEL and U+009B, which start terminal escape sequences), DEL,
 * the Unicode line and paragraph separators, and the bidirectional controls that make a line
 * read other than it is (U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069). The same set as
 * the CLI's (cli/feedback/answer.ts), which this layer cannot import.
 */
export const UNSAFE_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const UNSAFE_RUNS = new RegExp(`${UNSAFE_CHARS.source}+`, 'g');

/** Text on one line: each run of `UNSAFE_CHARS` becomes one space (words stay apart). */
export const oneLine = (s: string): string => s.replace(UNSAFE_RUNS, ' ').trim();
