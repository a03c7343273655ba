import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { executeLoad } from '../load/cli';
import { ingestScenario, junitBodies, newRunPrefix } from '../load/scenarios/ingest';
import { type LoadResult, summarize, type VerifyCounts } from '../load/summary';
import { type VerifyReport, verifyDataDir } from '../load/verify';

/**
 * `npm run bench:capacity`: local mode's ingest capacity on this machine. Starts `vigil dev` in
 * a child process with a fresh data directory, sends 50 KB JUnit reports at rising rates
 * (paced, open-loop: see load/engine.ts), stops at the first rate where p99 reaches 100 ms,
 * an error appears or the rate is not achieved, narrows the gap between the last good and the
 * first bad rate, then stops the server and checks in the data directory that every accepted
 * report is stored exactly once and nothing else is.
 *
 * The answer to a POST comes before the bus has run the metrics, alert and history handlers on
 * the event (in the server's bus worker thread). After each step the bench reads the bus backlog
 * (GET /metrics), waits until the server is idle again (its CPU time stops growing; at most
 * --catch-up seconds) and reports that catch-up time and the drain rate: the rate the whole
 * pipeline sustains is reports / (step + catch-up), which can be below the rate the endpoint
 * answers at. A backlog left when the wait ends is carried into the next step: that step's
 * latencies are then measured while the backlog is worked off.
 *
 * Each step also prints the server's CPU per request split by thread (the main thread, the
 * busiest other one: the bus worker; the rest: libuv's pool and V8's), the load average, and
 * the reports stored although their client had timed out: counted apart, not as a loss (the
 * timeout is already counted as an error).
 *
 * Then the drain alone (--drain-alone N reports, 0: none): N reports sent at 200 req/s, the
 * server killed (kill -9) with the backlog they leave and started again on the same data
 * directory, whose bus then works the backlog off with nothing else to do: the pipeline's own
 * rate (reports/s) and the bus worker's CPU per report, apart from the endpoint's noise. Those
 * reports are verified with the steps' (every one stored once, across the kill).
 *
 * Then, in the same run, the floor: a minimal Node server in a child process that reads and
 * drops the same bodies (answering 202), at --floor-rates, stopping at its first failing step.
 *
 * Options: --rates 10,25,50,100,200,400,600  --step-seconds 10  --catch-up 60  --all (every rate,
 * not stopping at the first failing step)  --p99 100  --refine 4 (most extra
 * steps between the last good and the first bad rate, stopping when they are within 10%)  --keep
 * --floor-rates 250,500,1000,2000,4000 (none: --floor-rates 0)  --profile DIR (the server runs
 * with `node --cpu-prof`: one .cpuprofile per thread in DIR, written when it stops; the
 * profiler's own CPU keeps the server from looking idle, so catch-up and drain are not measured;
 * with --drain-alone, the profiles are of the restarted server's drain)
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-capacity-token';
const PROJECT = 'bench';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,25,50,100,200,400,600' },
    'step-seconds': { type: 'string', default: '10' },
    'catch-up': { type: 'string', default: '60' },
    p99: { type: 'string', default: '100' },
    refine: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    'floor-rates': { type: 'string', default: '250,500,1000,2000,4000' },
    'drain-alone': { type: 'string', default: '600' },
    profile: { type: 'string' },
  },
});
const rates = values.rates.split(',').map(Number);
const stepSeconds = Number(values['step-seconds']);
const p99Limit = Number(values.p99);
const refineSteps = Number(values.refine);
const catchUpMaxS = Number(values['catch-up']);
const drainAlone = Number(values['drain-alone']);
const floorRates = values['floor-rates']
  .split(',')
  .map(Number)
  .filter((r) => r > 0);
if (
  rates.some((r) => !(r > 0)) ||
  !(stepSeconds > 0) ||
  !(p99Limit > 0) ||
  !(refineSteps >= 0) ||
  !(catchUpMaxS >= 0) ||
  !(drainAlone >= 0)
) {
  process.stderr.write(
    'bench:capacity: --rates, --step-seconds, --p99, --refine, --catch-up and --drain-alone must be positive numbers\n',
  );
  process.exit(2);
}

/** CPU time (ms) in a /proc stat file (Linux); undefined when it cannot be read. */
const cpuMsIn = async (statFile: string): Promise<number | undefined> => {
  try {
    const stat = await readFile(statFile, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ = 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
};

/** CPU time (ms) the server process has used so far; undefined without /proc. */
const cpuMsOf = async (pid: number | undefined): Promise<number | undefined> =>
  pid === undefined ? undefined : cpuMsIn(`/proc/${pid}/stat`);

/** CPU time (ms) of each of the server's threads so far (thread id → ms); empty without /proc. */
const threadCpuOf = async (pid: number | undefined): Promise<Map<number, number>> => {
  const out = new Map<number, number>();
  if (pid === undefined) return out;
  const tids = await readdir(`/proc/${pid}/task`).catch(() => []);
  for (const tid of tids) {
    const ms = await cpuMsIn(`/proc/${pid}/task/${tid}/stat`);
    if (ms !== undefined) out.set(Number(tid), ms);
  }
  return out;
};

/**
 * Where a step's CPU went, per request: the main thread (HTTP, parsing, the ledger commit), the
 * busiest other thread (the bus worker, when it has work) and all the others (libuv's pool:
 * archive writes and fsyncs; V8's garbage collector).
 */
interface ThreadCpu {
  main: number;
  busiest: number;
  rest: number;
}

const threadCpuPerRequest = (
  pid: number | undefined,
  before: Map<number, number>,
  after: Map<number, number>,
  requests: number,
): ThreadCpu | undefined => {
  if (pid === undefined || after.size === 0 || requests === 0) return undefined;
  const used = [...after].map(([tid, ms]) => ({ tid, ms: ms - (before.get(tid) ?? 0) }));
  const main = used.find((t) => t.tid === pid)?.ms ?? 0;
  const others = used.filter((t) => t.tid !== pid).map((t) => t.ms);
  const busiest = Math.max(0, ...others);
  const rest = others.reduce((a, b) => a + b, 0) - busiest;
  return { main: main / requests, busiest: busiest / requests, rest: rest / requests };
};

const startServer = async (
  dataDir: string,
  configPath: string,
): Promise<{ child: ChildProcess; url: string }> => {
  const profile = values.profile
    ? ['--cpu-prof', '--cpu-prof-dir', resolvePath(values.profile)]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bin/vigil.ts', 'dev'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_CONFIG: configPath,
      VIGIL_INGEST_TOKENS: TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`vigil dev exited with ${code}:\n${output}`)));
    setTimeout(
      () => reject(new Error(`vigil dev did not start within 30 s:\n${output}`)),
      30_000,
    ).unref();
  });
  // Keep draining its output so a full pipe never blocks the server.
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, url };
};

/** SIGTERM (the server drains its bus, then exits); SIGKILL after `graceMs`. True if it drained. */
const stopServer = (child: ChildProcess, graceMs = 60_000): Promise<boolean> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal !== 'SIGKILL');
    });
    child.kill('SIGTERM');
  });

/**
 * Waits until the server has used under 2% CPU over 500 ms (its bus has caught up); resolves
 * to the seconds waited, or undefined when /proc is not available or `maxMs` passed.
 */
const waitIdle = async (pid: number | undefined, maxMs = 60_000): Promise<number | undefined> => {
  const start = performance.now();
  let last = await cpuMsOf(pid);
  if (last === undefined) return undefined;
  while (performance.now() - start < maxMs) {
    await delay(500);
    const now = await cpuMsOf(pid);
    if (now === undefined) return undefined;
    if (now - last < 10) return Math.round((performance.now() - start - 500) / 100) / 10;
    last = now;
  }
  return undefined;
};

/** The bus backlog (events not finished, the largest of the subscribers'), from GET /metrics. */
const backlogOf = async (url: string): Promise<number | undefined> => {
  try {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    const counts = [...text.matchAll(/^vigil_event_backlog\{[^}]*\} (\d+)$/gm)].map((m) =>
      Number(m[1]),
    );
    return counts.length ? Math.max(...counts) : undefined;
  } catch {
    return undefined;
  }
};

interface Step {
  rate: number;
  result: LoadResult;
  cpuMsPerRequest?: number;
  threads?: ThreadCpu;
  /** The machine's 1-minute load average at the end of the step. */
  load: number;
  /** Reports stored although the client had given up waiting (timed out): not lost. */
  late: number;
  /** Seconds the server kept working after the last answer (bus catch-up). */
  catchUpS?: number;
  /** Backlog when the step's load ended, and when the bench stopped waiting for it. */
  backlog: { end?: number; after?: number };
  /** Events the bus finished per second while the bench waited after the step. */
  drainPerS?: number;
  ok: boolean;
  why: string;
}

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);

const sumVerify = (list: VerifyReport[]): VerifyCounts & { late: number } =>
  list.reduce(
    (t, v) => ({
      lost: t.lost + v.lost,
      duplicated: t.duplicated + v.duplicated,
      unexpected: t.unexpected + v.unexpected,
      deadLettered: t.deadLettered + v.deadLettered,
      late: t.late + v.late,
    }),
    { lost: 0, duplicated: 0, unexpected: 0, deadLettered: 0, late: 0 },
  );

/** One paced, open-loop step of 50 KB JUnit reports, summarized against the p99 limit. */
const pacedStep = async (
  target: URL,
  bodies: ReturnType<typeof junitBodies>,
  runPrefix: string,
  rate: number,
  durationS: number,
) => {
  const scenario = ingestScenario({
    name: 'junit',
    target,
    token: TOKEN,
    project: PROJECT,
    bodies,
    runPrefix,
    gzipShare: 0,
  });
  const { recorder, run } = await executeLoad({
    target,
    scenario,
    engine: 'paced',
    rate,
    durationS,
    connections: 256,
    timeoutMs: 10_000,
  });
  const result = summarize(
    recorder,
    {
      scenario: 'junit',
      engine: 'paced',
      target: target.href,
      rate,
      durationS,
      connections: 256,
      startedAt: run.startedAt,
      elapsedMs: run.elapsedMs,
      ...(run.sendLagMs ? { sendLagMs: run.sendLagMs } : {}),
    },
    { p99Ms: p99Limit, maxErrorRate: 0 },
  );
  return { recorder, result };
};

/** The floor: the least an HTTP server on Node must do per report (read the body, answer). */
const FLOOR_SERVER = `
const server = require('node:http').createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"status":"accepted"}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** The floor server's capacity at `floorRates`, measured like Vigil's; one line per step. */
const measureFloor = async (
  bodies: ReturnType<typeof junitBodies>,
  out: (line: string) => void,
): Promise<void> => {
  const child = spawn(process.execPath, ['-e', FLOOR_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', () => reject(new Error('the floor server exited before listening')));
    });
    const target = new URL(`http://127.0.0.1:${port}`);
    let best: string | undefined;
    for (const rate of floorRates) {
      const before = await cpuMsOf(child.pid);
      const { result } = await pacedStep(target, bodies, newRunPrefix(), rate, stepSeconds);
      const after = await cpuMsOf(child.pid);
      const l = result.latency;
      const ok =
        result.failed === 0 &&
        (l?.p99 ?? Number.POSITIVE_INFINITY) < p99Limit &&
        result.requestsPerSecond >= rate * 0.95;
      const cpu =
        before !== undefined && after !== undefined && result.requests > 0
          ? (after - before) / result.requests
          : undefined;
      out(
        `  floor ${String(rate).padStart(5)} req/s → ${fmt(result.requestsPerSecond).padStart(6)} achieved  p50 ${fmt(l?.med).padStart(6)}  p99 ${fmt(l?.p99).padStart(7)} ms  errors ${result.failed}  server CPU ${fmt(cpu, 2)} ms/req  sender lag p99 ${fmt(result.info.sendLagMs?.p99)} ms  ${ok ? '✔' : '✖'}`,
      );
      await delay(1000);
      if (!ok) break;
      best = `${rate} req/s (p99 ${fmt(l?.p99)} ms)`;
    }
    out(
      `floor (a Node server that reads and drops the same bodies, same machine and client): ${best ?? `below ${floorRates[0]} req/s`} at p99 < ${p99Limit} ms`,
    );
  } finally {
    child.kill('SIGKILL');
  }
};

const main = async (): Promise<number> => {
  const root = await mkdtemp(join(tmpdir(), 'vigil-bench-capacity-'));
  const dataDir = join(root, 'data');
  const configPath = join(root, 'vigil.config.json');
  // No probes: the bench measures ingest alone. Default gates (the bodies have failed tests).
  await writeFile(configPath, JSON.stringify({ project: PROJECT, probes: [] }));
  let { child, url } = await startServer(dataDir, configPath);
  const target = new URL(url);
  const bodies = junitBodies();
  const runPrefix = newRunPrefix();
  /** Each step has its own run id prefix, so each can be verified on its own. */
  const stepRuns: { prefix: string; accepted: string[]; unanswered: string[] }[] = [];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `bench:capacity: vigil dev at ${url}; body ${bodies[0]?.plain.byteLength} bytes of JUnit; ${stepSeconds} s per step; pass = p99 < ${p99Limit} ms, no errors, rate achieved, nothing lost, duplicated or dead-lettered`,
  );
  out(
    `machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
  );
  if (values.profile)
    out(
      '--profile: the profiler keeps using CPU, so the server never looks idle: each catch-up wait runs to --catch-up, and the catch-up and drain figures of this run are not measurements',
    );

  const run = async (rate: number, seconds: number): Promise<Step> => {
    const prefix = `${runPrefix}-s${stepRuns.length + 1}`;
    const before = await cpuMsOf(child.pid);
    const threadsBefore = await threadCpuOf(child.pid);
    const { recorder, result } = await pacedStep(target, bodies, prefix, rate, seconds);
    const end = await backlogOf(url);
    const waitStart = performance.now();
    const catchUpS = await waitIdle(child.pid, catchUpMaxS * 1000);
    const waitedS = (performance.now() - waitStart) / 1000;
    const backlog = { end, after: await backlogOf(url) };
    const drainPerS =
      backlog.end !== undefined && backlog.after !== undefined && waitedS > 0.5
        ? (backlog.end - backlog.after) / waitedS
        : undefined;
    const after = await cpuMsOf(child.pid);
    const threadsAfter = await threadCpuOf(child.pid);
    const load = loadavg()[0] ?? Number.NaN;
    const stepRun = { prefix, accepted: recorder.accepted, unanswered: recorder.unanswered };
    stepRuns.push(stepRun);
    const verify = await verifyDataDir({
      dataDir,
      project: PROJECT,
      runPrefix: prefix,
      ...stepRun,
    });
    // Stored although the client timed out: counted apart (its error is already counted).
    const unexpected = verify.unexpected - verify.late;
    const p99 = result.latency?.p99 ?? Number.NaN;
    const achieved = result.requestsPerSecond >= rate * 0.95;
    const problems = [
      result.failed > 0 ? `${result.failed} errors` : '',
      p99 < p99Limit ? '' : `p99 ${fmt(p99)} ms ≥ ${p99Limit} ms`,
      achieved ? '' : `only ${fmt(result.requestsPerSecond)} req/s achieved`,
      verify.lost ? `${verify.lost} lost` : '',
      verify.duplicated ? `${verify.duplicated} duplicated` : '',
      unexpected ? `${unexpected} unexpected` : '',
      verify.deadLettered ? `${verify.deadLettered} dead-lettered` : '',
    ].filter(Boolean);
    const cpuMsPerRequest =
      before !== undefined && after !== undefined && result.requests > 0
        ? (after - before) / result.requests
        : undefined;
    return {
      rate,
      result,
      cpuMsPerRequest,
      threads: threadCpuPerRequest(child.pid, threadsBefore, threadsAfter, result.requests),
      load,
      late: verify.late,
      catchUpS,
      backlog,
      drainPerS,
      ok: problems.length === 0,
      why: problems.join(', '),
    };
  };
  const steps: Step[] = [];
  /** ` (503 × 61, ECONNRESET × 2)`: what the failed requests got, answers and network errors. */
  const errorKinds = ({ statuses, networkErrors }: LoadResult): string => {
    const kinds = [
      ...Object.entries(statuses).filter(([status]) => !status.startsWith('2')),
      ...Object.entries(networkErrors),
    ].map(([kind, n]) => `${kind} × ${n}`);
    return kinds.length > 0 ? ` (${kinds.join(', ')})` : '';
  };
  const row = (s: Step) => {
    steps.push(s);
    const l = s.result.latency;
    const t = s.threads;
    out(
      `  ${String(s.rate).padStart(5)} req/s → ${fmt(s.result.requestsPerSecond).padStart(6)} achieved  min ${fmt(l?.min).padStart(5)}  p50 ${fmt(l?.med).padStart(6)}  p99 ${fmt(l?.p99).padStart(7)}  max ${fmt(l?.max).padStart(7)} ms  errors ${s.result.failed}${errorKinds(s.result)}${s.late ? ` (${s.late} stored after the client timed out: not lost)` : ''}  server CPU ${fmt(s.cpuMsPerRequest, 1)} ms/req${t ? ` (main ${fmt(t.main)}, busiest other thread ${fmt(t.busiest)}, rest ${fmt(t.rest)})` : ''}  load ${fmt(s.load, 2)}  catch-up ${s.catchUpS === undefined ? `> ${catchUpMaxS} s` : `${fmt(s.catchUpS)} s`}  backlog ${s.backlog.end ?? '-'} → ${s.backlog.after ?? '-'}  drain ${fmt(s.drainPerS)}/s  sender lag p99 ${fmt(s.result.info.sendLagMs?.p99)} ms  ${s.ok ? '✔' : `✖ ${s.why}`}`,
    );
  };
  const pause = () => delay(1000);

  let code = 0;
  try {
    out('warm-up: 2 s at 5 req/s (not scored)');
    await run(5, 2);
    await pause();
    let best: Step | undefined;
    let worst: Step | undefined;
    for (const rate of rates) {
      const step = await run(rate, stepSeconds);
      row(step);
      await pause();
      if (step.ok) best = step;
      else {
        worst ??= step;
        if (!values.all) break;
      }
    }
    for (let i = 0; i < refineSteps && worst; i++) {
      const low = best?.rate ?? 0;
      if (worst.rate - low <= Math.max(1, worst.rate * 0.1)) break;
      const mid = (low + worst.rate) / 2;
      const rate = worst.rate - low >= 20 ? Math.round(mid / 5) * 5 : Math.round(mid);
      if (rate <= low || rate >= worst.rate) break;
      const step = await run(rate, stepSeconds);
      row(step);
      await pause();
      if (step.ok) best = step;
      else worst = step;
    }

    if (drainAlone > 0) {
      const prefix = `${runPrefix}-drain`;
      const { recorder } = await pacedStep(target, bodies, prefix, 200, drainAlone / 200);
      stepRuns.push({ prefix, accepted: recorder.accepted, unanswered: recorder.unanswered });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      ({ child, url } = await startServer(dataDir, configPath));
      const [before, start] = [await threadCpuOf(child.pid), performance.now()];
      const backlog = (await backlogOf(url)) ?? 0;
      let left = backlog;
      while (left > 0 && performance.now() - start < catchUpMaxS * 1000) {
        await delay(50);
        left = (await backlogOf(url)) ?? left;
      }
      const seconds = (performance.now() - start) / 1000;
      const bus = threadCpuPerRequest(child.pid, before, await threadCpuOf(child.pid), backlog);
      out(
        `drain alone: ${recorder.accepted.length} reports accepted, vigil dev killed (kill -9) with a backlog of ${backlog} and started again: ${left > 0 ? `${left} left after ${fmt(seconds)} s (--catch-up)` : `worked off in ${fmt(seconds, 2)} s`}, ${fmt((backlog - left) / seconds)} reports/s; bus worker ${fmt(bus?.busiest, 2)} ms of CPU per report`,
      );
    }
    out('stopping vigil dev (it drains its bus) and checking the data directory…');
    const drained = await stopServer(child);
    if (!drained) out('  the server did not drain its bus within 60 s and was killed');
    const reports: VerifyReport[] = [];
    for (const s of stepRuns)
      reports.push(await verifyDataDir({ dataDir, project: PROJECT, runPrefix: s.prefix, ...s }));
    const total = sumVerify(reports);
    const accepted = reports.reduce((n, v) => n + v.accepted, 0);
    const unexpected = total.unexpected - total.late;
    out(
      `  all steps: ${accepted} accepted → ${total.lost} lost, ${total.duplicated} duplicated, ${unexpected} unexpected, ${total.deadLettered} dead-lettered; ${total.late} stored after the client had timed out (not lost: its request counts as an error)`,
    );
    out(
      `machine load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at end`,
    );
    const capacity = best
      ? `${best.rate} req/s (achieved ${fmt(best.result.requestsPerSecond)}, p99 ${fmt(best.result.latency?.p99)} ms)`
      : `below ${worst?.rate ?? rates[0]} req/s`;
    out(
      `local ingest capacity: ${capacity} at p99 < ${p99Limit} ms (50 KB JUnit), ${total.lost} lost, ${total.duplicated} duplicated${unexpected ? `, ${unexpected} unexpected` : ''}${total.deadLettered ? `, ${total.deadLettered} dead-lettered (in the steps marked ✖)` : ''}`,
    );
    if (best?.catchUpS !== undefined)
      out(
        `  at that rate the bus needed ${fmt(best.catchUpS)} s after the ${stepSeconds} s step to finish metrics, alerts and history: the whole pipeline sustained ${fmt(best.result.requests / (best.result.info.elapsedMs / 1000 + best.catchUpS))} reports/s`,
      );
    const drains = steps.filter((s) => (s.backlog.end ?? 0) >= 50 && s.drainPerS !== undefined);
    if (drains.length)
      out(
        `  bus drain rate while working off a backlog: ${drains.map((s) => `${fmt(s.drainPerS)}/s after ${s.rate} req/s`).join(', ')} (events of the slowest subscriber; one per report)`,
      );
    if (floorRates.length > 0) {
      out('the floor, in the same run:');
      await measureFloor(bodies, out);
    }
    if (total.lost + total.duplicated + unexpected > 0 || !best) code = 1;
  } finally {
    // Profiles are written when the server exits on its own: give it time to drain.
    await stopServer(child, values.profile ? 60_000 : 5000);
    if (values.profile) out(`CPU profiles (one per thread) in ${resolvePath(values.profile)}`);
    if (values.keep) out(`data kept in ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
  return code;
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench:capacity: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
