import { createHash } from 'node:crypto';
import { VigilError } from '../core/errors';
import type { HttpResult } from '../shared/http';

/** `GET /v1/cli/vigil.mjs`: the single-file CLI, for `curl … -o vigil.mjs && node vigil.mjs`. */

export const CLI_PATH = '/v1/cli/vigil.mjs';

export const getCli = async (cliFile: (() => Promise<string>) | undefined): Promise<HttpResult> => {
  let text: string;
  try {
    if (!cliFile) throw new Error('not configured');
    text = await cliFile();
  } catch (e) {
    throw new VigilError(
      'unavailable',
      `The single-file CLI is not available here (${e instanceof Error ? e.message : String(e)}); build it with npm run build:cli.`,
    );
  }
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
      etag: `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`,
      'x-content-type-options': 'nosniff',
    },
    body: text,
  };
};
