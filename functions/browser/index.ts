import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busPublisher, lambdaEntry, stageSecrets } from '../adapters/aws/lambda-entry';
import { S3Archive } from '../adapters/aws/s3-archive';
import { s3 } from '../adapters/aws/s3-client';
import { systemClock } from '../core/ports';
import { createProbeHandler } from '../probe/handler';
import { browserChildMain } from '../shared/browser-child';
import { createBrowserProber } from '../shared/browser-probe';
import { configFromEnv, requireEnv } from '../shared/lambda-config';
import { metrics } from '../shared/powertools';
import { packedChromium } from './lambda-chromium';

/**
 * Lambda entry of browser checks: the probe handler (same schedule and sampling as HTTP probes)
 * running only `type: 'browser'` probes, with Chromium from `@sparticuz/chromium` (unpacked to
 * /tmp on the first run) and the check scripts bundled beside this file (`checks/<probe>.mjs`,
 * see lib/browser-checks.ts). This same file is the checks' child process: forked with
 * `VIGIL_BROWSER_CHILD=1`, it runs one check and exits.
 */

const here = dirname(fileURLToPath(import.meta.url));

const isChild = process.env.VIGIL_BROWSER_CHILD === '1';
if (isChild) browserChildMain();

// One resolver for the handler and the prober: each secret is fetched once per container.
const secrets = stageSecrets();

export const handler = isChild
  ? () => Promise.reject(new Error('a browser check child process is not a handler'))
  : lambdaEntry(
      'browser',
      createProbeHandler({
        config: await configFromEnv(),
        publisher: busPublisher(),
        secrets,
        clock: systemClock,
        location: process.env.AWS_REGION ?? 'unknown',
        metrics,
        kind: 'browser',
        browser: createBrowserProber({
          secrets,
          archive: new S3Archive({ bucket: requireEnv('ARCHIVE_BUCKET'), client: s3() }),
          chromium: packedChromium(() => import('@sparticuz/chromium')),
          childEntry: fileURLToPath(import.meta.url),
          scriptPath: (probe) => join(here, 'checks', `${probe.name}.mjs`),
        }),
      }),
    );
