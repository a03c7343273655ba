import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionArgs, expandFiles, inputProblems, runAction } from '../../cli/action';

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

describe('the action inputs, checked in their own terms', () => {
  const full = {
    INPUT_FILES: 'junit.xml',
    INPUT_ENDPOINT: 'https://vigil.example',
    INPUT_PROJECT: 'shop',
    INPUT_TOKEN: 'secret-token',
  };

  it('names an empty required input and the variable that can stand in for it', () => {
    expect(inputProblems(full)).toEqual({ errors: [], warnings: [] });
    expect(inputProblems({ ...full, INPUT_PROJECT: ' ', INPUT_FILES: '' }).errors).toEqual([
      "::error title=Vigil::the files input is empty: set it under the step's with:",
      "::error title=Vigil::the project input is empty: set it under the step's with: (or VIGIL_PROJECT in its env:)",
    ]);
    // The variable given in the step's env: instead is enough, as for vigil report.
    expect(inputProblems({ ...full, INPUT_TOKEN: '', VIGIL_TOKEN: 'from-env' }).errors).toEqual([]);
  });

  it('stops the step with exit 2 before sending anything when one is empty', async () => {
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(
        await runAction({ ...full, INPUT_ENDPOINT: '', INPUT_STATUS: 'sure' }, workspace),
      ).toBe(2);
    } finally {
      write.mockRestore();
    }
    expect(written).toEqual([
      '::warning title=Vigil::the status input is "sure", neither true nor false: read as false\n',
      "::error title=Vigil::the endpoint input is empty: set it under the step's with: (or VIGIL_ENDPOINT in its env:)\n",
    ]);
  });

  it('warns of a switch that is neither true nor false, and takes yes and no', () => {
    expect(
      inputProblems({
        ...full,
        INPUT_COMMENT: 'yes',
        INPUT_STATUS: 'maybe',
        'INPUT_FAIL-ON-UNREACHABLE': 'Off',
      }).warnings,
    ).toEqual([
      '::warning title=Vigil::the status input is "maybe", neither true nor false: read as false',
    ]);
    // A value cannot break the workflow command it is quoted in.
    expect(inputProblems({ ...full, INPUT_COMMENT: 'a\n::error::x' }).warnings).toEqual([
      '::warning title=Vigil::the comment input is "a ::error::x", neither true nor false: read as false',
    ]);
  });
});
