import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * package.json exports `vigil/config` and `vigil/browser` as TypeScript sources. A project that
 * installs Vigil from git and type-checks with `moduleResolution: NodeNext` compiles those
 * sources with its own settings, so every relative import they reach must resolve under NodeNext
 * (its `.js` extension written: TS2835 otherwise). TypeScript's own resolver walks the graph
 * (a whole type-check of a user's project took ~6 s of CPU for the same answer).
 */

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string>;
};
const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
};

/** Every relative import reached from `entries`, with where it resolved to under NodeNext. */
const walk = (entries: string[]) => {
  const seen = new Set<string>();
  const unresolved: string[] = [];
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const resolved = ts.resolveModuleName(
        fileName,
        file,
        OPTIONS,
        ts.sys,
        undefined,
        undefined,
        // Vigil's package is "type": "module": its files are ES modules to NodeNext.
        ts.ModuleKind.ESNext,
      ).resolvedModule;
      if (resolved?.resolvedFileName.startsWith(ROOT)) queue.push(resolved.resolvedFileName);
      else unresolved.push(`${file.slice(ROOT.length + 1)}: '${fileName}'`);
    }
  }
  return { seen, unresolved };
};

describe('the package exports in a NodeNext project', () => {
  it('resolve every relative import that vigil/config and vigil/browser reach', () => {
    const entries = ['./config', './browser'].map((e) => join(ROOT, pkg.exports[e] ?? ''));
    const { seen, unresolved } = walk(entries);
    expect(unresolved).toEqual([]);
    // The walk reached past the entries (a walk that stopped at them would prove nothing).
    expect(seen.size).toBeGreaterThan(5);
    expect([...seen].every((f) => dirname(f).startsWith(join(ROOT, 'functions')))).toBe(true);
  });
});
