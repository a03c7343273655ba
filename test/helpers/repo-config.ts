import { parseConfig, type VigilConfig } from '../../functions/core/config';

let loaded: Promise<VigilConfig> | undefined;

/**
 * vigil.config.ts, imported by Vitest (whose worker has loaded functions/core/config already)
 * once per worker. `loadVigilConfig` would import it through tsx's loader, registered again for
 * each load: ~1.4 s of CPU with tsx's esbuild process. It needs nothing else of that loader:
 * the repository config names no browser check script to resolve. Callers copy it, never
 * change it.
 */
export const repoConfig = (): Promise<VigilConfig> => {
  loaded ??= import('../../vigil.config').then((m) => parseConfig(m.default, 'vigil.config.ts'));
  return loaded;
};
