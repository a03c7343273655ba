import { describe, expect, it, vi } from 'vitest';
import { type PackedChromium, packedChromium } from '../../../functions/browser/lambda-chromium';

const packed = (args: string[]): PackedChromium => ({
  default: { executablePath: async () => '/tmp/chromium', args },
});

describe('the Lambda packed Chromium', () => {
  it('launches it with its own flags less the two that weaken page isolation, unpacked once', async () => {
    // Prepare
    const load = vi.fn(async () =>
      packed([
        '--headless',
        '--disable-web-security',
        '--allow-running-insecure-content',
        '--no-zygote',
      ]),
    );
    const chromium = packedChromium(load);
    // Act
    const first = await chromium();
    const second = await chromium();
    // Assess
    expect(first).toEqual({ executablePath: '/tmp/chromium', args: ['--headless', '--no-zygote'] });
    expect(second).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('says why it could not be unpacked, and tries again on the next run', async () => {
    // Prepare: the first unpack fails with an Error, the second with a bare value, then it works.
    const load = vi
      .fn<() => Promise<PackedChromium>>()
      .mockRejectedValueOnce(new Error('ENOSPC: no space left on device'))
      .mockRejectedValueOnce('brotli stream truncated')
      .mockResolvedValueOnce(packed([]));
    const chromium = packedChromium(load);
    // Act
    const results = [await chromium(), await chromium(), await chromium()];
    // Assess
    expect(results).toEqual([
      'Chromium could not be unpacked: ENOSPC: no space left on device',
      'Chromium could not be unpacked: brotli stream truncated',
      { executablePath: '/tmp/chromium', args: [] },
    ]);
  });
});
