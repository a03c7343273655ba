import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFile, CLI_ENTRY } from '../cli/build';

/**
 * `npm run bench:cli`: the single-file CLI's size, what weighs most in it, and the wall time
 * of `node vigil.mjs --help` from an empty directory (median of RUNS, next to a bare
 * `node -e 0` measured the same way, so a busy machine shows as such).
 * Targets: <= 300 KB, --help <= 150 ms.
 */

const RUNS = Number(process.env.RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'vigil-bench-cli-'));
const built = join(work, 'build.mjs');
const { bytes, metafile } = await buildFile(CLI_ENTRY, built);
const empty = join(work, 'empty');
mkdirSync(empty);
const file = join(empty, 'vigil.mjs');
copyFileSync(built, file);

const byPackage = new Map<string, number>();
for (const [path, input] of Object.entries(
  metafile.outputs[Object.keys(metafile.outputs)[0] ?? '']?.inputs ?? {},
)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  const key = m?.[1] ?? 'vigil (own code)';
  byPackage.set(key, (byPackage.get(key) ?? 0) + input.bytesInOutput);
}

/** Wall and CPU (user + system) milliseconds of one run, via GNU time. */
const timed = (args: string[]): { wall: number; cpu: number } => {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, ...args], {
    cwd: empty,
    encoding: 'utf8',
    env: { PATH: '' },
  });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [e, u, s] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wall: (e ?? Number.NaN) * 1000, cpu: ((u ?? Number.NaN) + (s ?? Number.NaN)) * 1000 };
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const help: { wall: number; cpu: number }[] = [];
const bare: { wall: number; cpu: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  help.push(timed([file, '--help']));
  bare.push(timed(['-e', '0']));
}
rmSync(work, { recursive: true, force: true });

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
console.log(`vigil.mjs size: ${kb(bytes)} (${bytes} bytes; target <= 300 KB)`);
console.log('weight by package:');
for (const [name, n] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8))
  console.log(`  ${name.padEnd(24)} ${kb(n)}`);
const line = (name: string, xs: { wall: number; cpu: number }[]) =>
  `${name}: median wall ${median(xs.map((x) => x.wall)).toFixed(0)} ms, CPU ${median(xs.map((x) => x.cpu)).toFixed(0)} ms`;
console.log(`${line('node vigil.mjs --help', help)} over ${RUNS} runs (target <= 150 ms)`);
console.log(`${line('node -e 0 (bare Node start)', bare)}: what the machine adds to any start`);
