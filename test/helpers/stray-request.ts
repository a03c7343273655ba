import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * For a test's channel receiver (a stand-in for Slack or a webhook): answers 405 to anything
 * but a POST, and says so. Channels POST; a GET there is stray, from another suite's probe whose
 * target's port this server now has, and is neither a delivery nor a body to parse.
 */
export const strayRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
  if (req.method === 'POST') return false;
  res.writeHead(405).end();
  return true;
};
