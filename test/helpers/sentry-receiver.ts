import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface SentryReceiver {
  dsn: string;
  /** The envelopes received, gunzipped. */
  envelopes: Buffer[];
  close: () => Promise<void>;
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
};

/** Listens on a free loopback port; resolves to it. */
export const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

/** A Sentry endpoint that records envelopes, or (`hang`) accepts and never answers. */
export const startSentryReceiver = async (mode: 'ok' | 'hang' = 'ok'): Promise<SentryReceiver> => {
  const envelopes: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    if (mode === 'hang') return;
    void readBody(req).then((body) => {
      envelopes.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    dsn: `http://publickey@127.0.0.1:${port}/1`,
    envelopes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
