import { readFile } from 'node:fs/promises';

/**
 * The single-file CLI in the ingest function's bundle: the CDK bundling writes it next to
 * the handler (`vigil.mjs` beside `index.mjs`, see lib/ingest-api.ts). Read once, on first
 * use; a failed read is tried again on the next request.
 */
export const cliFileReader = (url: URL): (() => Promise<string>) => {
  let text: Promise<string> | undefined;
  return () => {
    text ??= readFile(url, 'utf8').catch((e: unknown) => {
      text = undefined;
      throw e;
    });
    return text;
  };
};
