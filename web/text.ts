/** Pure helpers of the dashboard, without the DOM or preact (unit-tested in Node). */

/** The meta tag the web handler adds when the deployment has a public status page. */
export const STATUS_PAGE_META_NAME = 'vigil-status-page';

/** The file name of a `Content-Disposition` header (`filename="…"`), if it names one. */
export const dispositionFileName = (header: string | null): string | undefined => {
  const name = /filename="([^"]*)"/i.exec(header ?? '')?.[1]?.trim();
  return name || undefined;
};

/**
 * The file's URL when a download answered a link to it (JSON `{"url": "https://…"}`, e.g. a
 * raw report too large for the AWS API's answer), else undefined: the answer is the file.
 */
export const downloadLink = (contentType: string, text: () => Promise<string>) =>
  /^application\/json\b/i.test(contentType)
    ? text().then((t): string | undefined => {
        try {
          const url = (JSON.parse(t) as { url?: unknown } | null)?.url;
          return typeof url === 'string' && /^https:\/\//i.test(url) ? url : undefined;
        } catch {
          return undefined;
        }
      })
    : Promise.resolve(undefined);

/**
 * Was the token refused (sign out)? A `401`, or on AWS a `403` without Vigil's error body: the
 * API Gateway authorizer's "no" comes as `{"message":"Forbidden"}`, while Vigil's own `403`s
 * (e.g. a read-only token on a write) carry `error.code` and keep the user signed in.
 */
export const tokenRefused = (status: number, body: unknown): boolean =>
  status === 401 ||
  (status === 403 &&
    typeof (body as { error?: { code?: unknown } } | null)?.error?.code !== 'string');

/** Names longer than this are cut (with "…"); the whole name is the cell's tooltip. */
export const NAME_SHOWN = 300;

/** A name as the table shows it: at most NAME_SHOWN characters and "…" (no half surrogate pair). */
export const shownName = (name: string): string =>
  name.length <= NAME_SHOWN
    ? name
    : `${name.slice(0, NAME_SHOWN).replace(/[\uD800-\uDBFF]$/, '')}…`;

/**
 * The y axis of a percentage chart: within 0–100 %, with room around the data. (uPlot's own
 * range pads a flat line, say a pass rate of 100 % every run, out to 150 %.)
 */
export const percentRange = (min: number | null, max: number | null): [number, number] => {
  if (min === null || max === null) return [0, 100];
  const pad = Math.max(5, (max - min) * 0.1);
  return [Math.max(0, Math.floor(min - pad)), Math.min(100, Math.ceil(max + pad))];
};

/** An incident's downtime: seconds under a minute (not "0 min"), minutes under an hour. */
export const downtime = (s: number | undefined): string =>
  s === undefined
    ? ''
    : s < 60
      ? `${Math.max(1, Math.round(s))} s down`
      : s < 3600
        ? `${Math.round(s / 60)} min down`
        : `${(s / 3600).toFixed(1)} h down`;
