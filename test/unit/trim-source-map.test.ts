import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SourceMapV3, trimSourceMap } from '../../scripts/trim-source-map';

/** A minified one-line bundle of our code calling into a dependency, with its source map. */
const dir = mkdtempSync(join(tmpdir(), 'vigil-trim-'));
let code = '';
let full: SourceMapV3;

beforeAll(async () => {
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(
    join(dir, 'node_modules', 'dep', 'index.js'),
    'export function depWork(x) {\n  if (x < 0) throw new Error("negative");\n  return String(x).repeat(2) + "dep-marker";\n}\n',
  );
  // Bundled in import order: our first.ts, then the dependency, then main.ts.
  writeFileSync(
    join(dir, 'src', 'first.ts'),
    "export const first = (s: string): string =>\n  s + 'first-marker';\n",
  );
  writeFileSync(
    join(dir, 'src', 'main.ts'),
    "import { first } from './first';\nimport { depWork } from 'dep';\n\nexport const ours = (n: number): string =>\n  first(depWork(n)) + 'our-marker';\n",
  );
  await build({
    entryPoints: [join(dir, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    sourcemap: true,
    outfile: join(dir, 'out', 'index.mjs'),
    logLevel: 'silent',
  });
  code = readFileSync(join(dir, 'out', 'index.mjs'), 'utf8');
  full = JSON.parse(readFileSync(join(dir, 'out', 'index.mjs.map'), 'utf8')) as SourceMapV3;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Node's own reading of a map, as `--enable-source-maps` uses it. */
const nodeSourceMap = (map: SourceMapV3): SourceMap =>
  new SourceMap({ file: '', sourceRoot: '', ...map } as SourceMapPayload);

/** Generated line and column (0-based) of `text` in the bundle. */
const positionOf = (text: string): [number, number] => {
  const lines = code.split('\n');
  const line = lines.findIndex((l) => l.includes(text));
  if (line < 0) throw new Error(`${text} not in the bundle`);
  return [line, lines[line]?.indexOf(text) ?? -1];
};

it("keeps our sources' mappings exactly and maps dependency code to nothing", () => {
  // Prepare
  expect(full.sources.some((s) => s.includes('node_modules'))).toBe(true);
  const [depLine, depColumn] = positionOf('"dep-marker"');
  const [ourLine, ourColumn] = positionOf('"our-marker"');
  const before = nodeSourceMap(full);

  // Act
  const trimmed = trimSourceMap(full);
  const after = nodeSourceMap(trimmed);

  // Assess
  expect(trimmed.sources).toEqual([
    expect.stringMatching(/src\/first\.ts$/),
    expect.stringMatching(/src\/main\.ts$/),
  ]);
  expect(after.findEntry(ourLine, ourColumn)).toEqual(before.findEntry(ourLine, ourColumn));
  expect(after.findEntry(ourLine, ourColumn)).toMatchObject({ originalLine: 4 });
  // The dependency sits right after first.ts on the same line: it must not map to first.ts.
  expect(positionOf('"first-marker"')[0]).toBe(depLine);
  expect(before.findEntry(depLine, depColumn)).toMatchObject({
    originalSource: expect.stringContaining('node_modules/dep/index.js'),
  });
  expect(
    (after.findEntry(depLine, depColumn) as { originalSource?: string }).originalSource,
  ).toBeUndefined();
  expect(trimmed.mappings.length).toBeLessThan(full.mappings.length);
});

it('gives Node stack traces with our frames mapped and dependency frames at their bundle position', () => {
  // Prepare
  const bundle = join(dir, 'out', 'index.mjs');
  writeFileSync(`${bundle}.map`, JSON.stringify(trimSourceMap(full)));
  const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});\ntry { m.ours(-1); } catch (e) { console.log(e.stack); }`;

  // Act
  const result = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  );

  // Assess
  const frames = result.stdout.split('\n').filter((l) => l.trim().startsWith('at '));
  expect(frames[0]).toMatch(/out\/index\.mjs:\d+:\d+\)$/);
  expect(frames[1]).toMatch(/src\/main\.ts:5:\d+\)$/);
});

it('keeps every mapping when nothing is a dependency', () => {
  const map: SourceMapV3 = {
    ...full,
    sources: full.sources.map((s) => s.replace('node_modules/', 'lib/')),
  };

  expect(trimSourceMap(map)).toEqual(map);
});
