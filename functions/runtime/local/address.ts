import { isIP } from 'node:net';

/**
 * For an address that means every address of the machine (0.0.0.0, ::, ::0, 0:0:0:0:0:0:0:0),
 * its loopback counterpart, which surely answers; `undefined` for any other host.
 */
const loopbackFor = (host: string): string | undefined => {
  if (isIP(host) === 4) return /^0+(\.0+){3}$/.test(host) ? '127.0.0.1' : undefined;
  if (isIP(host) === 6 && !host.includes('%'))
    return new URL(`http://[${host}]`).hostname === '[::]' ? '::1' : undefined;
  return undefined;
};

/**
 * Whether no one can open the host in a link: every address of the machine (0.0.0.0, ::), or
 * an IPv6 address with a zone (`%eth0`), which a URL cannot hold.
 */
export const namesNoMachine = (host: string): boolean =>
  host.includes('%') || loopbackFor(host) !== undefined;

const urlOf = (host: string, port: number): string =>
  `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

/** The address local mode prints: for every address of the machine, its loopback one. */
export const printedUrl = (host: string, port: number): string =>
  urlOf(loopbackFor(host) ?? host, port);

/**
 * Local mode's own address, for the links in alert messages when the config names none: the
 * address printed at start. None for a port the system chooses (0), nor for a host that names
 * no machine (`namesNoMachine`).
 */
export const ownDashboardUrl = (host: string, port: number): string | undefined =>
  port === 0 || namesNoMachine(host) ? undefined : urlOf(host, port);
