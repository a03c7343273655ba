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
