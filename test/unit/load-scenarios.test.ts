import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../functions/core/formats';
import {
  ingestPath,
  ingestScenario,
  JUNIT_TARGET_BYTES,
  junitBodies,
  junitReport,
  mixedBodies,
  newRunPrefix,
} from '../../load/scenarios/ingest';
import { urlScenario } from '../../load/scenarios/url';

/** What the ingest endpoint does with a request body: gunzip when declared, then parse. */
const parseBody = (headers: Record<string, string>, body: Buffer, format: string | null) => {
  const bytes = headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
  return parseReport(bytes.toString('utf8'), (format ?? undefined) as never);
};

describe('ingest bodies', () => {
  it('generates a JUnit report of at least 50 KB with failures', () => {
    const xml = junitReport();
    expect(Buffer.byteLength(xml)).toBeGreaterThanOrEqual(JUNIT_TARGET_BYTES);
    expect(Buffer.byteLength(xml)).toBeLessThan(JUNIT_TARGET_BYTES * 1.1);
    const report = parseReport(xml, 'junit');
    expect(report.kind).toBe('tests');
    if (report.kind !== 'tests') return;
    expect(report.summary.total).toBeGreaterThan(300);
    expect(report.summary.failed).toBeGreaterThan(0);
  });

  it('every body of the mix is a valid report of its declared format, plain and gzipped', () => {
    const bodies = mixedBodies();
    expect(bodies.map((b) => b.name)).toEqual([
      'junit-50k',
      'junit-playwright',
      'junit-jest',
      'jest-json',
      'lcov',
      'istanbul-summary',
    ]);
    for (const b of bodies) {
      expect(parseReport(b.plain.toString('utf8'), b.format).format).toBe(b.format);
      expect(gunzipSync(b.gzipped).equals(b.plain)).toBe(true);
    }
    expect(bodies.reduce((s, b) => s + b.weight, 0)).toBe(100);
  });
});

describe('the ingest scenario', () => {
  const target = new URL('https://abc.execute-api.eu-west-1.amazonaws.com/prod/');

  it('posts under the target base path', () => {
    expect(ingestPath(target)).toBe('/prod/v1/results');
    expect(ingestPath(new URL('http://127.0.0.1:3000'))).toBe('/v1/results');
    expect(ingestPath(new URL('http://127.0.0.1:3000/v1/results'))).toBe('/v1/results');
  });

  it('sends each request with a fresh run id, the token and a body from the mix', () => {
    const scenario = ingestScenario({
      target,
      token: 'tok',
      project: 'shop',
      bodies: mixedBodies(),
      runPrefix: 'load-x',
      gzipShare: 0.3,
      seed: 3,
    });
    const counts = new Map<string, number>();
    let gzipped = 0;
    const runIds = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const spec = scenario.next();
      const url = new URL(spec.path, target);
      expect(spec.method).toBe('POST');
      expect(url.pathname).toBe('/prod/v1/results');
      expect(spec.headers.authorization).toBe('Bearer tok');
      expect(url.searchParams.get('project')).toBe('shop');
      expect(url.searchParams.get('runId')).toBe(spec.runId);
      runIds.add(spec.runId ?? '');
      const format = url.searchParams.get('format');
      counts.set(format ?? '', (counts.get(format ?? '') ?? 0) + 1);
      if (spec.headers['content-encoding'] === 'gzip') gzipped++;
      if (i < 30) {
        // What the server would parse, with the format the request names.
        expect(parseBody(spec.headers, spec.body ?? Buffer.alloc(0), format).format).toBe(format);
      }
    }
    expect(runIds.size).toBe(2000);
    expect([...runIds][0]).toBe('load-x-1');
    // Weights 65 / 15 / 10 / 10 for junit / jest / lcov / istanbul, 30% gzipped (±4 points).
    expect((counts.get('junit') ?? 0) / 2000).toBeCloseTo(0.65, 1);
    expect((counts.get('jest') ?? 0) / 2000).toBeCloseTo(0.15, 1);
    expect(gzipped / 2000).toBeGreaterThan(0.26);
    expect(gzipped / 2000).toBeLessThan(0.34);
  });

  it('makes every JUnit body new bytes, read as the same report, plain or gzipped', () => {
    const scenario = ingestScenario({
      target,
      token: 't',
      project: 'p',
      bodies: junitBodies(),
      runPrefix: 'r',
      gzipShare: 0.5,
      seed: 5,
    });
    const specs = Array.from({ length: 6 }, () => scenario.next());
    const original = parseReport(junitReport(), 'junit');
    expect(new Set(specs.map((s) => s.headers['content-encoding'])).size).toBe(2);
    expect(new Set(specs.map((s) => (s.body as Buffer).toString('base64'))).size).toBe(6);
    for (const spec of specs) {
      const report = parseBody(spec.headers, spec.body as Buffer, 'junit');
      expect(report).toEqual(original);
      const text = (
        spec.headers['content-encoding'] === 'gzip' ? gunzipSync(spec.body as Buffer) : spec.body
      )?.toString('utf8');
      expect(text?.endsWith(`<!-- run ${spec.runId} -->\n`)).toBe(true);
    }
  });

  it('sends the same sequence for the same seed, and only JUnit for the junit scenario', () => {
    const make = (seed: number) =>
      ingestScenario({
        target,
        token: 't',
        project: 'p',
        bodies: mixedBodies(),
        runPrefix: 'r',
        gzipShare: 0.5,
        seed,
      });
    const a = make(9);
    const b = make(9);
    for (let i = 0; i < 20; i++) expect(a.next().path).toBe(b.next().path);
    const junit = ingestScenario({
      target,
      token: 't',
      project: 'p',
      bodies: junitBodies(),
      runPrefix: 'r',
      gzipShare: 0,
    });
    for (let i = 0; i < 20; i++) {
      const spec = junit.next();
      expect(new URL(spec.path, target).searchParams.get('format')).toBe('junit');
      expect(spec.headers['content-encoding']).toBeUndefined();
      expect(spec.body?.byteLength).toBeGreaterThanOrEqual(JUNIT_TARGET_BYTES);
    }
  });

  it('makes run id prefixes that are valid and distinct', () => {
    const a = newRunPrefix(1_700_000_000_000);
    expect(a).toMatch(/^load-[a-z0-9]+-[0-9a-f]{6}$/);
    expect(newRunPrefix(1_700_000_000_000)).not.toBe(a);
  });
});

describe('the url scenario', () => {
  it('GETs the target exactly as given', () => {
    const spec = urlScenario(new URL('http://127.0.0.1:8080/health?deep=1')).next();
    expect(spec).toEqual({ method: 'GET', path: '/health?deep=1', headers: {} });
  });
});

describe('the Artillery scenario', () => {
  const scriptUrl = new URL('../../load/artillery/ingest.json', import.meta.url);
  const script = JSON.parse(readFileSync(scriptUrl, 'utf8')) as {
    config: {
      processor: string;
      target: string;
      phases: unknown[];
      ensure: Record<string, unknown>;
    };
    scenarios: { flow: Record<string, Record<string, unknown>>[] }[];
  };

  /** Every processor function the script names (beforeRequest, afterResponse, function steps…). */
  const referenced = (): string[] => {
    const names: string[] = [];
    const hooks = ['beforeRequest', 'afterResponse', 'beforeScenario', 'afterScenario', 'function'];
    const visit = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === 'object')
        for (const [k, v] of Object.entries(node)) {
          if (hooks.includes(k)) names.push(...(Array.isArray(v) ? v : [v]).map(String));
          else visit(v);
        }
    };
    visit(script.scenarios);
    return names;
  };

  it('names only functions its processor exports', async () => {
    const processor = (await import(new URL(script.config.processor, scriptUrl).href)) as Record<
      string,
      unknown
    >;
    const names = referenced();
    expect(names.sort()).toEqual(['vigilCheckAnswer', 'vigilIngestRequest']);
    for (const name of names) expect(typeof processor[name]).toBe('function');
    expect(script.config.phases.length).toBeGreaterThan(0);
    expect(script.config.ensure).toMatchObject({ maxErrorRate: 1 });
  });

  it('builds valid ingest requests and fails the user on a non-2xx answer', async () => {
    const processor = await import('../../load/artillery/processor.mjs');
    const previous = process.env.VIGIL_TOKEN;
    process.env.VIGIL_TOKEN = 'art-token';
    try {
      const seen = new Set<string>();
      // The mix is random (istanbul weighs 10%): draw until every format was built, bounded.
      for (let i = 0; i < 400 && seen.size < 4; i++) {
        const params: { url: string; headers: Record<string, string>; body?: Buffer } = {
          url: 'http://127.0.0.1:3000/v1/results',
          headers: {},
        };
        const context = { vars: {} as Record<string, unknown> };
        const emitted: string[] = [];
        const events = { emit: (_type: string, name: string) => emitted.push(name) };
        let error: unknown = 'not called';
        processor.vigilIngestRequest(params, context, events, (e?: unknown) => {
          error = e;
        });
        expect(error).toBeUndefined();
        const url = new URL(params.url);
        const format = url.searchParams.get('format');
        seen.add(format ?? '');
        expect(params.headers.authorization).toBe('Bearer art-token');
        expect(context.vars.runId).toBe(url.searchParams.get('runId'));
        expect(parseBody(params.headers, params.body ?? Buffer.alloc(0), format).format).toBe(
          format,
        );
        expect(emitted).toEqual([`vigil.sent.${format}`]);
      }
      expect([...seen].sort()).toEqual(['istanbul', 'jest', 'junit', 'lcov']);

      const answer = (statusCode: number) => {
        let result: unknown = 'not called';
        processor.vigilCheckAnswer({}, { statusCode }, {}, { emit: () => {} }, (e) => {
          result = e;
        });
        return result;
      };
      expect(answer(202)).toBeUndefined();
      expect(String(answer(503))).toBe('Error: HTTP 503');
      expect(String(answer(401))).toBe('Error: HTTP 401');

      delete process.env.VIGIL_TOKEN;
      let missing: unknown;
      processor.vigilIngestRequest(
        { url: 'x', headers: {} },
        { vars: {} },
        { emit: () => {} },
        (e?: unknown) => {
          missing = e;
        },
      );
      expect(String(missing)).toBe('Error: VIGIL_TOKEN is not set');
    } finally {
      if (previous === undefined) delete process.env.VIGIL_TOKEN;
      else process.env.VIGIL_TOKEN = previous;
    }
  });

  it('generates a JUnit body of about 50 KB', async () => {
    const processor = await import('../../load/artillery/processor.mjs');
    const junit = processor.BODIES.find((b) => b.format === 'junit');
    expect(junit?.plain.byteLength).toBeGreaterThanOrEqual(50 * 1024);
    expect(junit?.plain.byteLength).toBeLessThan(55 * 1024);
    expect(parseReport(junit?.plain.toString('utf8') ?? '', 'junit').kind).toBe('tests');
  });
});
