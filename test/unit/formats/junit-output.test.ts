import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseReport } from '../../../functions/core/formats';
import { generateJunit } from '../../helpers/generate-junit';

/**
 * The normalized result of every JUnit report of the corpus and of the real tools' fixtures,
 * as the SHA-256 of its JSON: a change that makes the parser faster must leave each one
 * byte-identical. A change meant to read a report differently updates the snapshot
 * (`vitest -u`), and the diff names the reports it changed.
 */
const junitFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.xml') && readFileSync(join(dir, f), 'utf8').includes('<testcase'))
    .sort()
    .map((f) => join(dir, f));

const digest = (text: string): string => {
  let out: unknown;
  try {
    out = parseReport(text);
  } catch (e) {
    out = { error: (e as Error).message };
  }
  return createHash('sha256').update(JSON.stringify(out)).digest('hex');
};

it('normalizes every JUnit report of the corpus to the same bytes', () => {
  const files = [...junitFiles('test/fixtures/corpus'), ...junitFiles('test/fixtures/real')];
  expect(files.length).toBeGreaterThan(30);
  const digests = Object.fromEntries(files.map((f) => [f, digest(readFileSync(f, 'utf8'))]));
  digests.generated = digest(
    generateJunit({ cases: 2000, failRate: 0.1, skipRate: 0.05, flakyRate: 0.05, seed: 11 }),
  );
  expect(digests).toMatchSnapshot();
});
