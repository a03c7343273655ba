/**
 * `npm run bench:ingest`: normalisation speed and memory of the ingest path.
 *
 * For each input it prints the bare tokenizing speed of the same bytes (saxes with no
 * handlers for XML, JSON.parse for JSON) next to full normalisation (parseReport: parse,
 * classify, count) and the whole ingest use case (decode, parse, gate, build the event,
 * with in-memory ports), in MB/s and ms per file (median of several runs). Then the end-to-end
 * figure: the 20,000-case report POSTed to local mode over HTTP until its 202 answer, next to
 * the SAX floor (saxes over the same bytes) measured before each POST, their ratio, and how long
 * the deliveries after the answer took. BENCH_SKIP_MEMORY=1 leaves out the memory part;
 * BENCH_E2E_ONLY=1 also leaves out the table of inputs.
 */
import { readFileSync } from 'node:fs';
import { SaxesParser } from 'saxes';
import { parseConfig } from '../functions/core/config';
import { parseReport } from '../functions/core/formats';
import { ingest } from '../functions/core/ingest/service';
import { runComment } from '../load/scenarios/ingest';
import { fixedClock, MemoryArchive, MemoryLedger, MemoryPublisher } from '../test/helpers/fakes';
import { generateJunit } from '../test/helpers/generate-junit';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

const time = async (fn: () => unknown): Promise<number> => {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
};

const tokenize = (text: string): void => {
  if (text.trimStart().startsWith('<')) {
    const p = new SaxesParser();
    p.write(text).close();
  } else {
    JSON.parse(text);
  }
};

/** A ZAP traditional XML report with `alerts` alerts of `each` instances (HTML descriptions). */
function zapXml(alerts: number, each: number): string {
  const instance = (a: number, i: number) =>
    `<instance><uri>https://shop.example/p/${a}/${i}?q=1</uri><method>GET</method><param>q</param><attack></attack><evidence>&lt;script&gt;</evidence></instance>`;
  const alert = (a: number) =>
    `<alertitem><pluginid>${40000 + (a % 50)}</pluginid><alertRef>${40000 + (a % 50)}</alertRef><name>Alert ${a}</name><riskcode>${a % 4}</riskcode><confidence>2</confidence><desc>&lt;p&gt;Description of alert ${a} with &amp;lt;markup&amp;gt;&lt;/p&gt;</desc><instances>${Array.from({ length: each }, (_, i) => instance(a, i)).join('')}</instances><count>${each}</count><cweid>79</cweid></alertitem>`;
  return `<?xml version="1.0"?><OWASPZAPReport programName="ZAP" version="2.16.0"><site name="https://shop.example"><alerts>${Array.from({ length: alerts }, (_, a) => alert(a)).join('')}</alerts></site></OWASPZAPReport>`;
}

/** The Trivy fixture with its vulnerability (without its 80 references) repeated `n` times. */
function trivyJson(n: number): string {
  const doc = JSON.parse(readFileSync('test/fixtures/security/trivy-npm-repo.json', 'utf8')) as {
    Results: { Vulnerabilities: Record<string, unknown>[] }[];
  };
  const result = doc.Results[0];
  const vuln = result?.Vulnerabilities[0];
  if (!result || !vuln) throw new Error('the Trivy fixture has no vulnerability');
  result.Vulnerabilities = Array.from({ length: n }, (_, i) => ({
    ...vuln,
    VulnerabilityID: `CVE-2019-${100000 + i}`,
    References: [],
  }));
  return JSON.stringify(doc, null, 2);
}

const inputs: [string, string][] = [
  [
    'generated JUnit, 20,000 cases',
    generateJunit({
      cases: 20_000,
      failRate: 0.02,
      skipRate: 0.03,
      flakyRate: 0.01,
      withOutput: true,
      seed: 7,
    }),
  ],
  [
    'pytest-benchmark 3.2.2 (corpus)',
    readFileSync('test/fixtures/corpus/benchmarks/pytest-benchmark-3.2.2-gha-run.json', 'utf8'),
  ],
  [
    'Cobertura, vitest v8 (corpus)',
    readFileSync('test/fixtures/corpus/cobertura/grandlinex-core-istanbul-cobertura.xml', 'utf8'),
  ],
  [
    'Jest --json (corpus)',
    readFileSync('test/fixtures/corpus/jest/ethereum-event-scan-jest-results.json', 'utf8'),
  ],
  [
    'Playwright JUnit (corpus)',
    readFileSync('test/fixtures/corpus/junit/dorny-playwright-report.xml', 'utf8'),
  ],
  ['ZAP XML, 20,000 instances (generated)', zapXml(1000, 20)],
  ['Trivy JSON, 4,000 vulnerabilities (from the fixture)', trivyJson(4000)],
];

const config = parseConfig({});
const mb = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0);

console.log(`ingest bench: median of ${RUNS} runs, Node ${process.version}\n`);
console.log(['input', 'size', 'tokenize', 'normalize', 'ingest', 'normalize/tokenize'].join(' | '));
console.log('--- | ---: | ---: | ---: | ---: | ---:');
for (const [name, text] of process.env.BENCH_E2E_ONLY ? [] : inputs) {
  const bytes = Buffer.byteLength(text);
  const body = Buffer.from(text);
  const tTok = await time(() => tokenize(text));
  const tNorm = await time(() => parseReport(text));
  const tIngest = await time(() =>
    ingest(
      { query: { project: 'bench' }, body, correlationId: 'bench-0001' },
      {
        config,
        publisher: new MemoryPublisher(),
        archive: new MemoryArchive(),
        ledger: new MemoryLedger(),
        clock: fixedClock(),
      },
    ),
  );
  console.log(
    [
      name,
      `${(bytes / 1e6).toFixed(2)} MB`,
      `${mb(bytes, tTok)} MB/s (${tTok.toFixed(1)} ms)`,
      `${mb(bytes, tNorm)} MB/s (${tNorm.toFixed(1)} ms)`,
      `${mb(bytes, tIngest)} MB/s (${tIngest.toFixed(1)} ms)`,
      `${(tNorm / tTok).toFixed(2)}x`,
    ].join(' | '),
  );
}

// End to end: the 20,000-case report POSTed to local mode over HTTP (loopback), each time as a
// new run (its own runId), from the first byte sent to the last byte of the 202 answer, against
// the SAX floor: a saxes tokenizer over the same bytes, measured in the same run.
{
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { request } = await import('node:http');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startLocal } = await import('../functions/runtime/local/runtime');
  // A quiet bench: local mode logs every start, ingest and history record at INFO.
  const { logger } = await import('../functions/shared/powertools');
  logger.setLogLevel('ERROR');
  const text = inputs[0]?.[1] ?? '';
  const body = Buffer.from(text);
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-ingest-'));
  const token = 'bench-ingest-token';
  const pipeline = await startLocal({
    config: parseConfig({ project: 'bench' }),
    dataDir,
    port: 0,
    probes: false,
    tokens: [token],
  });
  const url = new URL(`${pipeline.url}/v1/results`);
  let run = 0;
  // node:http with a kept-alive agent, so the figure is ingest, not the client.
  // Each run's bytes differ (a comment after the root element), as CI's reports do: the archive
  // writes each distinct report once, and compares a body it already has instead.
  const post = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const runId = `bench-${process.pid}-${run++}`;
      const bytes = Buffer.concat([body, runComment(runId)]);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/v1/results?project=bench&suite=unit&runId=${runId}`,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/xml',
            'content-length': bytes.length,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });
  try {
    const statuses = new Set<number>();
    const samples: number[] = [];
    const floor: number[] = [];
    const history: number[] = [];
    // CPU time too (this process, all threads): on a shared machine it varies far less than
    // wall time, which includes waiting for a core.
    const cpuMs = (): number => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const floorCpu: number[] = [];
    const postCpu: number[] = [];
    // Each POST on an idle pipeline: the previous run's deliveries (metrics, history) are done.
    // The floor is measured right before each POST, so both see the same load on a shared machine.
    for (let i = 0; i < RUNS + 3; i++) {
      const warm = i >= 3;
      let c = cpuMs();
      let t = performance.now();
      new SaxesParser().write(text).close();
      if (warm) {
        floor.push(performance.now() - t);
        floorCpu.push(cpuMs() - c);
      }
      c = cpuMs();
      t = performance.now();
      statuses.add(await post());
      if (warm) {
        samples.push(performance.now() - t);
        postCpu.push(cpuMs() - c);
      }
      t = performance.now();
      await pipeline.bus.drain();
      if (warm) history.push(performance.now() - t);
    }
    const tHttp = median(samples);
    const tSax = median(floor);
    if (statuses.size !== 1 || !statuses.has(202))
      throw new Error(`ingest answered ${[...statuses].join(', ')}, expected 202`);
    console.log(
      `\nend to end: ${(body.length / 1e6).toFixed(2)} MB JUnit (20,000 cases) POSTed to local ` +
        `mode over HTTP, median of ${RUNS}\n` +
        `  SAX floor (saxes over the same bytes): ${tSax.toFixed(1)} ms\n` +
        `  POST to 202 answer: ${tHttp.toFixed(1)} ms\n` +
        `  ratio: ${(tHttp / tSax).toFixed(2)}x (target ≤ 3x)\n` +
        `  CPU time: SAX floor ${median(floorCpu).toFixed(1)} ms, POST to answer ${median(postCpu).toFixed(1)} ms, ` +
        `ratio ${(median(postCpu) / median(floorCpu)).toFixed(2)}x\n` +
        `  after the answer, until its deliveries (metrics, history, status) are done: ${median(history).toFixed(0)} ms`,
    );
  } finally {
    await pipeline.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_SKIP_MEMORY) process.exit(0);

// Memory for a body at the 10 MB limit: normalising must not build a DOM of the input. Each
// body is written to a file and parsed in a fresh process, which reports how much its RSS rose
// above its level just before the parse (the body already read into a string). A thread samples
// the RSS every millisecond during the parse: the process's high-water mark (maxRSS) could not
// say, since reading the body and loading the modules had often set it higher already (it read
// +0.0 MB in some runs).
const { execFileSync } = await import('node:child_process');
const { mkdtempSync, writeFileSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const child = `
  const { readFileSync } = await import('node:fs');
  const { parseReport } = await import('./functions/core/formats/index.ts');
  const { Worker } = await import('node:worker_threads');
  const text = readFileSync(process.argv[1], 'utf8');
  globalThis.gc?.();
  // [0]: 1 once the parse is done; [1]: the highest RSS seen, in KiB.
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const sampler = new Worker(
    'const { workerData: a } = require("node:worker_threads");' +
      'while (Atomics.load(a, 0) === 0) {' +
      '  a[1] = Math.max(a[1], Math.round(process.memoryUsage.rss() / 1024));' +
      '  Atomics.wait(a, 0, 0, 1);' +
      '}',
    { eval: true, workerData: shared, execArgv: [] },
  );
  await new Promise((ok) => sampler.once('online', ok));
  const before = Math.round(process.memoryUsage.rss() / 1024);
  const report = parseReport(text);
  const after = Math.round(process.memoryUsage.rss() / 1024);
  Atomics.store(shared, 0, 1);
  Atomics.notify(shared, 0);
  await new Promise((ok) => sampler.once('exit', ok));
  const peak = Math.max(shared[1], after);
  console.log(JSON.stringify({ bytes: Buffer.byteLength(text), cases: report.summary.total, rssGrowthKb: Math.max(0, peak - before) }));
`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
console.log('\nmemory: peak RSS growth while normalising one body (fresh process each)');
for (const cases of [10_000, 40_000, 75_000]) {
  const file = join(dir, `junit-${cases}.xml`);
  writeFileSync(
    file,
    generateJunit({ cases, failRate: 0.02, skipRate: 0.03, withOutput: true, seed: 9 }),
  );
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child, file],
    {
      encoding: 'utf8',
    },
  );
  const {
    bytes,
    cases: n,
    rssGrowthKb,
  } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
    bytes: number;
    cases: number;
    rssGrowthKb: number;
  };
  console.log(
    `  ${(bytes / 1e6).toFixed(1)} MB body, ${n} cases: +${(rssGrowthKb / 1024).toFixed(1)} MB peak RSS (${((rssGrowthKb * 1024) / bytes).toFixed(2)}x the body)`,
  );
}
