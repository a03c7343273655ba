import { parseConfig } from '../functions/core/config';
import { type LocalPipeline, startLocal } from '../functions/runtime/local/runtime';

/**
 * Local mode (`startLocal`, token `bench`, any free port) in `dataDir` with `count` HTTP probes
 * `p0`, `p1`, … of `${base}/p<i>` every `intervalSeconds`; they run from `pipeline.probes.start()`.
 */
export const startWithProbes = (
  base: string,
  count: number,
  intervalSeconds: number,
  dataDir: string,
): Promise<LocalPipeline> =>
  startLocal({
    config: parseConfig({
      project: 'bench',
      probes: Array.from({ length: count }, (_, i) => ({
        name: `p${i}`,
        url: `${base}/p${i}`,
        intervalSeconds,
        timeoutMs: 2000,
      })),
    }),
    dataDir,
    port: 0,
    tokens: ['bench'],
    probes: false,
  });
