import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readDoc } from './markdown';

/**
 * Every CloudWatch alarm the stack creates has a runbook in docs/operating.md, and every
 * runbook is for an alarm that exists. The alarms are read from the dev template's snapshot
 * (test/infra/snapshot.suite.ts keeps it equal to what `cdk synth` produces; synthesizing here
 * again would cost seconds), which has a probe, an email channel and the project `vigil`.
 */

/** Logical IDs of the template's alarms, in the snapshot's pretty-printed JSON. */
const alarmIds = (): string[] => {
  const snapshot = readFileSync(join(ROOT, 'test/infra/__snapshots__/cdk.test.ts.snap'), 'utf8');
  const ids: string[] = [];
  let resource: string | undefined;
  for (const line of snapshot.split('\n')) {
    const key = /^ {4}"(\w+)": \{$/.exec(line);
    if (key) resource = key[1];
    if (resource && line.trim() === '"Type": "AWS::CloudWatch::Alarm",') ids.push(resource);
  }
  return ids;
};

/**
 * What an operator sees of an alarm's name: the logical ID without its construct prefix,
 * the stack name some IDs carry (`Vigildev…`) and CDK's hash suffix.
 */
const alarmName = (logicalId: string): string =>
  logicalId
    .replace(/[0-9A-F]{8}$/, '')
    .replace(/^(Monitoring|Alerting)/, '')
    .replace(/^Vigil(dev|staging|prod)/, '');

/** The names in the first column of the runbook table; `…` and `<Project>` match any text. */
const documentedPatterns = (): RegExp[] => {
  const text = readDoc('docs/operating.md');
  const section = text.slice(text.indexOf('## Alarms and runbooks')).split('\n');
  const start = section.findIndex((l) => l.startsWith('|'));
  const end = section.findIndex((l, i) => i > start && !l.startsWith('|'));
  const rows = section.slice(start + 2, end);
  return rows.flatMap((row) =>
    [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map(
      (m) => new RegExp(`^${(m[1] ?? '').replace(/…|<\w+>/g, '.*')}$`),
    ),
  );
};

describe('alarm runbooks (docs/operating.md)', () => {
  const names = alarmIds().map(alarmName);
  const patterns = documentedPatterns();

  it('reads the alarms of the template', () => {
    expect(names).toEqual(expect.arrayContaining(['IngestErrors', 'ProbeDeadMan', 'IngestApi5xx']));
    expect(names.length).toBeGreaterThan(20);
  });

  it('documents every alarm the stack creates', () => {
    expect(names.filter((n) => !patterns.some((p) => p.test(n)))).toEqual([]);
  });

  it('documents no alarm that does not exist', () => {
    expect(patterns.filter((p) => !names.some((n) => p.test(n))).map(String)).toEqual([]);
  });
});
