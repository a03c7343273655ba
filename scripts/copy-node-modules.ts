import { cp, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * `node --import tsx scripts/copy-node-modules.ts <outDir> <package>...`: copy packages and
 * their production dependencies from this clone's node_modules into `<outDir>/node_modules`,
 * for a Lambda bundle that keeps them external (the browser function: `@sparticuz/chromium`
 * ships Chromium as brotli files under `bin/`, which a bundler cannot inline). The copies are
 * the versions the tests ran against, and synthesis needs no registry.
 */

const root = join(import.meta.dirname, '..');

/** Where `name` is installed as seen from `from` (a package dir), Node's lookup order. */
const locate = async (name: string, from: string): Promise<string> => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    const found = await readFile(join(candidate, 'package.json'), 'utf8').then(
      () => true,
      () => false,
    );
    if (found) return candidate;
    if (dir === root || dirname(dir) === dir) throw new Error(`${name} is not installed`);
  }
};

export const copyNodeModules = async (
  outDir: string,
  names: readonly string[],
): Promise<string[]> => {
  const copied = new Map<string, string>();
  const queue = names.map((name) => ({ name, from: root }));
  for (let item = queue.shift(); item; item = queue.shift()) {
    const dir = await locate(item.name, item.from);
    if (copied.has(dir)) continue;
    copied.set(dir, item.name);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir });
    // Optional ones only when installed (platform packages).
    for (const dep of Object.keys(pkg.optionalDependencies ?? {}))
      if (await locate(dep, dir).catch(() => undefined)) queue.push({ name: dep, from: dir });
  }
  for (const dir of copied.keys())
    await cp(dir, join(outDir, dir.slice(root.length + 1)), { recursive: true, dereference: true });
  return [...copied.values()];
};

if (process.argv[1] === import.meta.filename) {
  const [outDir, ...names] = process.argv.slice(2);
  if (!outDir || names.length === 0) {
    process.stderr.write('usage: copy-node-modules.ts <outDir> <package>...\n');
    process.exit(2);
  }
  const copied = await copyNodeModules(outDir, names);
  process.stdout.write(`copied ${copied.length} packages: ${copied.join(', ')}\n`);
}
