import { type ParsedSecurity, parseReport } from '../../functions/core/formats';

/** `text` parsed as a security report, failing the test when it reads as another kind. */
export const parseSecurity = (
  text: string,
  format?: Parameters<typeof parseReport>[1],
): ParsedSecurity => {
  const r = parseReport(text, format);
  if (r.kind !== 'security') throw new Error(`not a security report: ${r.kind}`);
  return r;
};
