import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../functions/core/config';
import { startLocal } from '../functions/runtime/local/runtime';
import { junitBodies } from '../load/scenarios/ingest';

const N = Number(process.argv[2] ?? 200);
const body = junitBodies()[0]!.plain;
const p = await startLocal({ config: parseConfig({}), dataDir: await mkdtemp(join(tmpdir(), 'bw-prof-')), port: 0, probes: false, tokens: ['t'], webFiles: new Map() });
const t0 = Date.now();
for (let i = 0; i < N; i += 10)
  await Promise.all(Array.from({ length: 10 }, (_, j) => fetch(`${p.url}/v1/results?project=prof&runId=r-${i + j}&branch=main`, { method: 'POST', body, headers: { authorization: 'Bearer t', 'content-type': 'application/xml' } }).then((r) => r.text())));
const t1 = Date.now();
await p.bus.drain();
const t2 = Date.now();
console.log(`posted ${N} in ${t1 - t0} ms; drained ${t2 - t1} ms later`);
await p.close();
