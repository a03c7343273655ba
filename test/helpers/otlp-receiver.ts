import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON request carries it, attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  requests: { path: string; headers: IncomingMessage['headers'] }[];
  /** TCP connections open now, and the most ever open at once. */
  connections: { open: number; peak: number };
  /** Answer from now on as `mode` says; leaving `hang` answers the requests it held. */
  setMode(mode: OtlpReceiverMode): void;
  /** Wait (bounded) until a span named `name` (and matching `where`) arrived. */
  waitFor(
    name: string | RegExp,
    where?: (span: ReceivedSpan) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: AnyValue[] };
};
const plain = (v: AnyValue): unknown =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.doubleValue ??
  v.boolValue ??
  v.arrayValue?.values.map(plain);
const flatten = (kvs: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(kvs.map((kv) => [kv.key, plain(kv.value)]));

export type OtlpReceiverMode = 'ok' | 'hang' | 'fail';

/**
 * A local OTLP/HTTP receiver (JSON encoding): `POST /v1/traces` answers 200 and keeps the spans.
 * `mode: 'hang'` accepts the connection and never answers; `mode: 'fail'` answers 503.
 */
export const startOtlpReceiver = async (
  initialMode: OtlpReceiverMode = 'ok',
): Promise<OtlpReceiver> => {
  let mode = initialMode;
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const connections = { open: 0, peak: 0 };
  /** Requests a hanging receiver holds: answered when the mode changes (a stall that ends). */
  const held: { body: Buffer; res: ServerResponse }[] = [];
  const answer = (body: Buffer, res: ServerResponse): void => {
    if (res.destroyed) return; // the client gave up on it
    if (mode === 'fail') {
      res.writeHead(503).end('unavailable');
      return;
    }
    const parsed = JSON.parse(body.toString('utf8'));
    for (const rs of parsed.resourceSpans ?? []) {
      const resource = flatten(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          spans.push({ ...s, attributes: flatten(s.attributes), resource });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers });
      if (mode === 'hang') held.push({ body: Buffer.concat(chunks), res });
      else answer(Buffer.concat(chunks), res);
    });
  });
  server.on('connection', (socket) => {
    connections.open++;
    connections.peak = Math.max(connections.peak, connections.open);
    socket.on('close', () => connections.open--);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    connections,
    setMode: (next) => {
      mode = next;
      if (mode !== 'hang') for (const h of held.splice(0)) answer(h.body, h.res);
    },
    async waitFor(name, where = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      const match = (s: ReceivedSpan) =>
        (typeof name === 'string' ? s.name === name : name.test(s.name)) && where(s);
      while (Date.now() < deadline) {
        const found = spans.find(match);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no span ${name} within ${timeoutMs} ms; got ${spans.map((s) => s.name)}`);
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
};
