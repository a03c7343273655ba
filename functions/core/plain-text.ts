/**
 * What text from a report (test and suite names, messages, branches, a server's answer) must
 * never carry into a line a person reads, an email, a log or a terminal: C0 and C1 control
 * characters (line breaks that forge a line of their own; ESC, BEL and U+009B, which start
 * terminal escape sequences), DEL, the Unicode line and paragraph separators, and the
 * bidirectional controls that make a line read other than it is (U+061C, U+200E/U+200F,
 * U+202A–U+202E, U+2066–U+2069). The alert messages, the logger and the CLI use this one set.
 */
export const UNSAFE_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Runs of `UNSAFE_CHARS`: each becomes one space where text is flattened. */
export const UNSAFE_RUNS = new RegExp(`${UNSAFE_CHARS.source}+`, 'g');

/** Text on one line: each run of `UNSAFE_CHARS` becomes one space (words stay apart). */
export const oneLine = (s: string): string => s.replace(UNSAFE_RUNS, ' ').trim();

/**
 * JSON text made inert: each of `UNSAFE_CHARS` (`JSON.stringify` leaves C1, DEL, bidi and
 * U+2028/U+2029 raw) written as its `\uXXXX` escape. They can only stand inside a JSON string,
 * so the text still parses to the same value.
 */
export const inertJson = (json: string): string =>
  json.replace(UNSAFE_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
