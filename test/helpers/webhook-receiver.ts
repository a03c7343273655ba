import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotification } from '../../functions/core/events';
import { strayRequest } from './stray-request';

/** A webhook alert channel on loopback: what was posted to it, in arrival order. */
export interface WebhookReceiver {
  url: string;
  received: AlertNotification[];
  close(): Promise<void>;
}

/** Starts a receiver that answers 200 to each notification and appends it to `received`. */
export const startWebhookReceiver = async (
  received: AlertNotification[] = [],
): Promise<WebhookReceiver> => {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      if (strayRequest(req, res)) return;
      received.push(JSON.parse(text) as AlertNotification);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
