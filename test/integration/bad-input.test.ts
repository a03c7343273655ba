import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { createIngestHandler } from '../../functions/ingest/handler';
import {
  apiEvent,
  fixedClock,
  MemoryArchive,
  MemoryLedger,
  MemoryPublisher,
} from '../helpers/fakes';

/**
 * The bad-input corpus (test/fixtures/bad/): each file goes through the real ingest handler as
 * API Gateway sends it. Every one must get a clear 4xx saying what is wrong (and where, when
 * there is a where), with nothing archived, claimed or published (a hang would hit the test timeout).
 */
const CASES: [
  file: string,
  query: Record<string, string>,
  status: number,
  code: string,
  says: RegExp,
][] = [
  ['billion-laughs.xml', {}, 400, 'invalid_report', /internal DOCTYPE subset.*entity expansion/],
  ['external-entity.xml', {}, 400, 'invalid_report', /external entities are refused/],
  ['parameter-entity.xml', {}, 400, 'invalid_report', /internal DOCTYPE subset/],
  ['deep-nesting.xml', {}, 400, 'invalid_report', /deeper than 200 levels at line 1/],
  ['deep-nesting.json', {}, 415, 'unsupported_format', /Unrecognised JSON report/],
  [
    'deep-nesting.json',
    { format: 'jest' },
    400,
    'invalid_report',
    /Invalid Jest\/Vitest JSON report/,
  ],
  ['proto-pollution.json', {}, 400, 'invalid_report', /testResults\[0\]\.name/],
  [
    'mismatched-tags.xml',
    {},
    400,
    'invalid_report',
    /line 4, column 13: .*<\/testcase> does not match the open <failure>/,
  ],
  ['truncated.xml', {}, 400, 'invalid_report', /Truncated XML: .*line 3 inside <testsuite>/],
  [
    'truncated.json',
    { format: 'jest' },
    400,
    'invalid_report',
    /line 1, column 40: the document ends too early/,
  ],
  ['error-page.html', {}, 415, 'unsupported_format', /HTML page, not a report/],
  ['empty.txt', {}, 400, 'invalid_report', /body is empty/],
  [
    'invalid-utf8.xml',
    {},
    400,
    'invalid_report',
    /not valid UTF-8 \(first bad byte at offset 20\)/,
  ],
  ['wrong-types.json', {}, 415, 'unsupported_format', /pass \?format=<name>/],
  ['wrong-types.json', { format: 'jest' }, 400, 'invalid_report', /testResults: expected an array/],
  [
    'istanbul-wrong-type.json',
    {},
    400,
    'invalid_report',
    /total\.branches\.covered: expected a number, got string/,
  ],
  [
    'lcov-garbage.info',
    {},
    415,
    'unsupported_format',
    /neither XML, JSON, LCOV, a Go cover profile nor go test -bench output/,
  ],
  ['lcov-garbage.info', { format: 'lcov' }, 400, 'invalid_report', /line 4/],
];

describe('bad-input corpus through the ingest handler', () => {
  it.each(CASES)('%s %j → %i %s', async (file, query, status, code, says) => {
    // Prepare
    const publisher = new MemoryPublisher();
    const archive = new MemoryArchive();
    const ledger = new MemoryLedger();
    const handler = createIngestHandler({
      config: parseConfig({}),
      publisher,
      archive,
      ledger,
      clock: fixedClock(),
      tokens: { tokens: async () => ['t'] },
      version: 'test',
    });
    const body = readFileSync(`test/fixtures/bad/${file}`);
    // Act
    const res = await handler(
      apiEvent({
        query: { project: 'shop', ...query },
        headers: { authorization: 'Bearer t' },
        body,
      }),
    );
    // Assess
    const error = (JSON.parse(res.body ?? '{}') as { error: { code: string; message: string } })
      .error;
    expect(res.statusCode).toBe(status);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(says);
    expect(publisher.events).toHaveLength(0);
    expect(archive.objects.size).toBe(0);
    expect(ledger.entries.size).toBe(0);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
