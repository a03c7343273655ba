import type { ChromiumLaunch } from '../shared/browser-probe';

/** What `@sparticuz/chromium` exports, as far as we use it. */
export interface PackedChromium {
  default: { executablePath: () => Promise<string>; args: string[] };
}

const WEAKENING = ['--disable-web-security', '--allow-running-insecure-content'];

/**
 * The packed Chromium of the Lambda (`load` imports `@sparticuz/chromium`), unpacked once per
 * container (a failed unpack is tried again on the next run); when it cannot be unpacked, why.
 */
export const packedChromium = (
  load: () => Promise<PackedChromium>,
): (() => Promise<ChromiumLaunch | string>) => {
  let launch: Promise<ChromiumLaunch | string> | undefined;
  return () => {
    launch ??= load()
      .then(async ({ default: chromium }) => ({
        executablePath: await chromium.executablePath(),
        // Its defaults, less the two that would let a checked page reach across origins.
        args: chromium.args.filter((a) => !WEAKENING.includes(a)),
      }))
      .catch((e: unknown) => {
        launch = undefined;
        return `Chromium could not be unpacked: ${e instanceof Error ? e.message : String(e)}`;
      });
    return launch;
  };
};
