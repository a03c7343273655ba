import type { AlertNotification } from './events';

/**
 * Addresses of the dashboard's pages, for the dashboard's own links (web/ui.ts) and for the
 * links in alert messages: one rule for both, so a message never links to a page the dashboard
 * would read differently. The dashboard routes by the address's fragment (`#/run/shop/r-1`).
 */

/**
 * A page's fragment, every path part encoded (a run id or test name from a report may hold
 * `/`, `#`, `?`, spaces or `<|>`): `dashboardPath(['run', 'shop', 'r 1'])` is `#/run/shop/r%201`.
 * Query parameters with an empty value are left out.
 */
export const dashboardPath = (
  parts: readonly string[],
  query: Readonly<Record<string, string>> = {},
): string => {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString();
  return `#/${parts.map((p) => encodeURIComponent(p)).join('/')}${q ? `?${q}` : ''}`;
};

/**
 * The absolute link to a page: the dashboard's base address (local mode's own, the API's URL on
 * AWS, or `alerts.dashboardUrl`), then the fragment. `https://vigil.example.com/` and
 * `https://vigil.example.com` give the same link.
 */
export const dashboardLink = (base: string, path: string): string =>
  `${base.replace(/\/+$/, '')}/${path}`;

/** A notification with the link to its page, when the dashboard's base address is known. */
export const withDashboardUrl = (
  n: AlertNotification,
  base: string | undefined,
): AlertNotification =>
  base && n.dashboardPath ? { ...n, dashboardUrl: dashboardLink(base, n.dashboardPath) } : n;

/**
 * The Tests page's search for one test, from its name or id: whitespace squashed as the test's
 * id is (the page searches ids), control characters the API refuses left out, at most 200
 * characters (it takes 256: a 20,000-character name still finds its test, and a link stays short).
 */
export const testSearch = (name: string): string =>
  name
    .replace(/\s+/g, ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: leaving them out is the point
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 200);
