import { isIP } from 'node:net';

/**
 * Local mode's own address, for the links in alert messages when the config names none: the
 * address printed at start. None for a port the system chooses (0), nor for an address that
 * names no machine to open (0.0.0.0, ::) or that a URL cannot hold (an IPv6 zone, `%eth0`).
 */
export const ownDashboardUrl = (host: string, port: number): string | undefined =>
  port === 0 || host.includes('%') || unspecified(host) !== undefined
    ? undefined
    : `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * For an address that means every address of the machine (0.0.0.0, ::, ::0, 0:0:0:0:0:0:0:0),
 * its loopback counterpart, which surely answers; `undefined` for any other host.
 */
export const unspecified = (host: string): string | undefined => {
  if (isIP(host) === 4) return /^0+(\.0+){3}$/.test(host) ? '127.0.0.1' : undefined;
  if (isIP(host) === 6 && !host.includes('%'))
    return new URL(`http://[${host}]`).hostname === '[::]' ? '::1' : undefined;
  return undefined;
};
