/**
 * Deterministic, realistic Surefire-like JUnit XML for tests and benchmarks: modules as outer
 * suites, test classes as nested suites, failures and errors with stack traces, skipped tests,
 * flaky tests (Surefire `flakyFailure`), properties and, optionally, system-out logs.
 */
import { mulberry32 as prng } from '../../load/prng';

export interface GenerateJunitOptions {
  cases: number;
  /** Share of failed cases (failure or error), default 0.02. */
  failRate?: number;
  /** Share of skipped cases, default 0.03. */
  skipRate?: number;
  /** Share of passed-after-retry cases, default 0.01. */
  flakyRate?: number;
  /** Add `<system-out>`/`<system-err>` logs to suites and failing cases. */
  withOutput?: boolean;
  seed?: number;
}

const MODULES = ['api', 'billing', 'core', 'gateway', 'inventory', 'notifications', 'search'];
const NOUNS = [
  'Order',
  'Invoice',
  'Customer',
  'Payment',
  'Session',
  'Catalog',
  'Shipment',
  'Token',
];
const KINDS = ['Service', 'Repository', 'Controller', 'Mapper', 'Validator', 'Client'];
const VERBS = ['create', 'update', 'delete', 'find', 'validate', 'retry', 'serialize', 'cancel'];
const CONDITIONS = [
  'WhenInputIsEmpty',
  'WithExpiredToken',
  'OnConcurrentUpdate',
  'ForUnknownId',
  'AfterTimeout',
  'WithUnicodeName',
  'InBatchMode',
];

const FRAMES = [
  '\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)',
  '\tat org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)',
  '\tat org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)',
  '\tat org.apache.maven.surefire.booter.ForkedBooter.main(ForkedBooter.java:495)',
];

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const generateJunit = (opts: GenerateJunitOptions): string => {
  const failRate = opts.failRate ?? 0.02;
  const skipRate = opts.skipRate ?? 0.03;
  const flakyRate = opts.flakyRate ?? 0.01;
  const withOutput = opts.withOutput ?? false;
  const rand = prng(opts.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const seconds = (max: number): string => (rand() * rand() * max).toFixed(3);

  const stack = (cls: string, method: string, exception: string, depth: number): string => {
    const lines = [
      `${exception}: expected:<${Math.floor(rand() * 100)}> but was:<${Math.floor(rand() * 100)}>`,
    ];
    lines.push(
      `\tat ${cls}.${method}(${cls.split('.').pop()}.java:${10 + Math.floor(rand() * 300)})`,
    );
    for (let i = 0; i < depth; i++) lines.push(pick(FRAMES));
    return lines.join('\n');
  };

  const body: string[] = [];
  let total = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  let totalSeconds = 0;
  let moduleIndex = 0;

  while (total < opts.cases) {
    const module = MODULES[moduleIndex % MODULES.length] ?? 'core';
    moduleIndex++;
    const moduleName = `com.acme.${module}${moduleIndex > MODULES.length ? moduleIndex : ''}`;
    const moduleLines: string[] = [];
    let moduleTests = 0;
    let moduleFailures = 0;
    let moduleErrors = 0;
    let moduleSkipped = 0;
    let moduleSeconds = 0;
    const classes = 3 + Math.floor(rand() * 6);

    for (let c = 0; c < classes && total < opts.cases; c++) {
      const cls = `${moduleName}.${pick(NOUNS)}${pick(KINDS)}${c === 0 ? '' : c}`;
      const size = Math.min(opts.cases - total, 8 + Math.floor(rand() * 40));
      const caseLines: string[] = [];
      let sFailures = 0;
      let sErrors = 0;
      let sSkipped = 0;
      let sSeconds = 0;

      for (let i = 0; i < size; i++) {
        const method = `${pick(VERBS)}${pick(NOUNS)}${rand() < 0.1 ? pick(CONDITIONS) : ''}${i}`;
        const time = seconds(i % 17 === 0 ? 2 : 0.2);
        sSeconds += Number(time);
        const open = `   <testcase name="${method}" classname="${cls}" time="${time}"`;
        const r = rand();
        if (r < failRate) {
          const isError = rand() < 0.3;
          const exception = isError
            ? 'java.lang.IllegalStateException'
            : 'org.opentest4j.AssertionFailedError';
          const trace = stack(cls, method, exception, Math.floor(rand() * 3));
          const tag = isError ? 'error' : 'failure';
          const msg = escapeAttr(trace.slice(trace.indexOf(': ') + 2, trace.indexOf('\n')));
          caseLines.push(`${open}>`);
          caseLines.push(
            `    <${tag} message="${msg}" type="${exception}">${escapeAttr(trace)}</${tag}>`,
          );
          if (withOutput) {
            caseLines.push(
              `    <system-out><![CDATA[${new Date(1_700_000_000_000 + total * 1000).toISOString()} INFO  ${cls} - running ${method}\n]]></system-out>`,
            );
          }
          caseLines.push('   </testcase>');
          if (isError) sErrors++;
          else sFailures++;
        } else if (r < failRate + skipRate) {
          caseLines.push(`${open}>`);
          caseLines.push(`    <skipped message="Disabled until ${pick(NOUNS)} migration lands"/>`);
          caseLines.push('   </testcase>');
          sSkipped++;
        } else if (r < failRate + skipRate + flakyRate) {
          const trace = stack(cls, method, 'java.net.SocketTimeoutException', 0);
          caseLines.push(`${open}>`);
          caseLines.push(
            '    <flakyFailure message="Read timed out" type="java.net.SocketTimeoutException">',
          );
          caseLines.push(`      <stackTrace>${escapeAttr(trace)}</stackTrace>`);
          caseLines.push('    </flakyFailure>');
          caseLines.push('   </testcase>');
        } else {
          caseLines.push(`${open}/>`);
        }
        total++;
      }

      const sTime = sSeconds.toFixed(3);
      moduleLines.push(
        `  <testsuite name="${cls}" tests="${size}" failures="${sFailures}" errors="${sErrors}" skipped="${sSkipped}" time="${sTime}" timestamp="2024-05-01T12:00:00">`,
      );
      if (c === 0) {
        moduleLines.push('   <properties>');
        moduleLines.push('    <property name="java.version" value="21.0.2"/>');
        moduleLines.push('    <property name="surefire.version" value="3.2.5"/>');
        moduleLines.push('   </properties>');
      }
      for (const line of caseLines) moduleLines.push(line);
      if (withOutput) {
        moduleLines.push('   <system-out><![CDATA[');
        const logLines = 1 + Math.floor(rand() * 2);
        for (let l = 0; l < logLines; l++) {
          moduleLines.push(
            `12:00:0${l}.${Math.floor(rand() * 900) + 100} [main] DEBUG ${cls} - <fixture ${l}> ready & warm`,
          );
        }
        moduleLines.push(']]></system-out>');
      }
      moduleLines.push('  </testsuite>');
      moduleTests += size;
      moduleFailures += sFailures;
      moduleErrors += sErrors;
      moduleSkipped += sSkipped;
      moduleSeconds += Number(sTime);
    }

    body.push(
      ` <testsuite name="${moduleName}" tests="${moduleTests}" failures="${moduleFailures}" errors="${moduleErrors}" skipped="${moduleSkipped}" time="${moduleSeconds.toFixed(3)}">`,
    );
    for (const line of moduleLines) body.push(line);
    body.push(' </testsuite>');
    failures += moduleFailures;
    errors += moduleErrors;
    skipped += moduleSkipped;
    totalSeconds += Number(moduleSeconds.toFixed(3));
  }

  const root = `<testsuites name="surefire" tests="${total}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${totalSeconds.toFixed(3)}">`;
  // No spread of `body`: it has one entry per line, too many for call arguments at 100k cases.
  return `${XML_DECLARATION}\n${root}\n${body.join('\n')}\n</testsuites>\n`;
};
