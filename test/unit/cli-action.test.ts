import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionArgs, expandFiles } from '../../cli/action';

/** The action's `files` input as workflows write it: `./…` and `${{ github.workspace }}/…`. */

let root: string;
let workspace: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigil-action-'));
  workspace = join(root, 'repo');
  await mkdir(join(workspace, 'reports', 'unit'), { recursive: true });
  await mkdir(join(root, 'elsewhere'), { recursive: true });
  for (const f of ['repo/reports/a.xml', 'repo/reports/unit/b.xml', 'elsewhere/c.xml'])
    await writeFile(join(root, f), 'x');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the action files input', () => {
  it('matches globs that start with ./ as the same globs without it', async () => {
    expect(await expandFiles('./reports/*.xml', workspace)).toEqual(['reports/a.xml']);
    expect(await expandFiles('./reports/**/*.xml', workspace)).toEqual([
      'reports/a.xml',
      'reports/unit/b.xml',
    ]);
    expect(await expandFiles('./**/b.xml', workspace)).toEqual(['reports/unit/b.xml']);
  });

  it('matches an absolute glob (the workspace path), and one outside the workspace', async () => {
    expect(await expandFiles(`${workspace}/reports/*.xml`, workspace)).toEqual(['reports/a.xml']);
    expect(await expandFiles(`${workspace}/**/*.xml`, workspace)).toEqual([
      'reports/a.xml',
      'reports/unit/b.xml',
    ]);
    expect(await expandFiles(`${root}/elsewhere/*.xml`, workspace)).toEqual(['../elsewhere/c.xml']);
    // Unmatched, it stays as written (vigil report then says no file matches it).
    expect(await expandFiles(`${workspace}/nowhere/*.xml`, workspace)).toEqual([
      `${workspace}/nowhere/*.xml`,
    ]);
  });

  it('passes the matched files to vigil report', async () => {
    const { argv } = await actionArgs(
      { INPUT_FILES: `${workspace}/reports/*.xml\n./reports/unit/*.xml`, INPUT_PROJECT: 'shop' },
      workspace,
    );
    expect(argv).toEqual(['reports/a.xml', 'reports/unit/b.xml', '--project', 'shop']);
  });
});
