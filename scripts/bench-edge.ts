import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../functions/core/config';
import { startLocal } from '../functions/runtime/local/runtime';

/**
 * `npm run bench:edge`: the local server's memory under a flood of unauthenticated uploads.
 * CONNECTIONS clients each send a BODY_MB body without a token at once; prints the server
 * process's RSS growth, the answers' status codes and how long the flood took. Clients reuse
 * one shared buffer, so the growth is the server's.
 */

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 200);
const BODY_MB = Number(process.env.BODY_MB ?? 9);
const CHUNK = Buffer.alloc(1024 * 1024, 'x');

const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-edge-'));
const pipeline = await startLocal({
  config: parseConfig({}),
  dataDir,
  port: 0,
  tokens: ['bench'],
  probes: false,
});
const port = Number(new URL(pipeline.url).port);

const flood = (): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    const pump = () => {
      while (sent < BODY_MB && answer === '') {
        sent++;
        if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write(
        `POST /v1/results?project=bench HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_MB * CHUNK.byteLength}\r\n\r\n`,
      );
      pump();
    });
    socket.on('data', (d: Buffer) => {
      answer ||= d.toString().split('\r\n')[0] ?? '';
    });
    socket.on('error', () => resolve(answer || 'reset'));
    socket.on('close', () => resolve(answer || 'closed'));
  });

global.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const answers = await Promise.all(Array.from({ length: CONNECTIONS }, flood));
const ms = performance.now() - started;
clearInterval(sampler);
const counts = new Map<string, number>();
for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
console.log(
  `${CONNECTIONS} unauthenticated uploads of ${BODY_MB} MB each, in ${(ms / 1000).toFixed(1)} s`,
);
console.log(`  answers: ${[...counts].map(([a, n]) => `${n} × ${a}`).join(', ')}`);
console.log(`  RSS: ${mb(before)} before, ${mb(peak)} peak (growth ${mb(peak - before)})`);
await pipeline.close();
