import type { Scenario } from './types';

/** Plain GETs of the target URL as given: load for a team's own service or health endpoint. */
export const urlScenario = (target: URL, headers: Record<string, string> = {}): Scenario => {
  const spec = { method: 'GET' as const, path: `${target.pathname}${target.search}`, headers };
  return {
    name: 'url',
    description: `GET ${target.pathname}${target.search}`,
    next: () => spec,
  };
};
