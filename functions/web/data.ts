import {
  badgeIsPublic,
  coverageBadge,
  gateBadge,
  publicStatus,
  uptimeBadge,
} from '../core/status/public';
import type { StatusQueryDeps } from '../core/status/queries';
import type { BadgeSource, WebHandlerDeps } from './handler';

/**
 * The web handler's public data from the status stores (the same reads as `GET /v1/status`
 * and the core's badge data): the status page only when the config has `statusPage`.
 */
export const publicData = (
  deps: Omit<StatusQueryDeps, 'history' | 'archive'>,
): Pick<WebHandlerDeps, 'status' | 'badges'> => {
  const badges: BadgeSource = {
    isPublic: (route) => badgeIsPublic(deps.config, route),
    badge: (route) => {
      switch (route.kind) {
        case 'gate':
          return gateBadge(deps, route.project, route.branch ?? deps.config.defaultBranch);
        case 'coverage':
          return coverageBadge(deps, route.project, route.branch ?? deps.config.defaultBranch);
        case 'uptime':
          return uptimeBadge(deps, route.project, route.probe);
      }
    },
  };
  return { badges, ...(deps.config.statusPage ? { status: () => publicStatus(deps) } : {}) };
};
