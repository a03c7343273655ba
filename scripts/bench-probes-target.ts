/**
 * The target of `npm run bench:probes`, in a process of its own (forked by the bench): an HTTP
 * server on 127.0.0.1 that answers each request after `BENCH_DELAY_MS` and records the delay it
 * measured itself (from the request's arrival to the end of its answer) per path. It must not
 * share an event loop with the pipeline: a request waiting for a loop busy with the bus or an
 * ingest is a delay the target does not see, and it would be counted as probe error.
 *
 * Messages: it sends `{ port }` once listening; on `'report'` it answers the delays by path.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 0);
const measured: Record<string, number[]> = {};
const server = createServer((req, res) => {
  const arrived = performance.now();
  const name = (req.url ?? '/').slice(1);
  setTimeout(() => {
    res.end('ok', () => {
      const list = measured[name] ?? [];
      list.push(performance.now() - arrived);
      measured[name] = list;
    });
  }, DELAY_MS);
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (msg) => {
  if (msg === 'report') process.send?.({ measured }, () => process.exit(0));
});
