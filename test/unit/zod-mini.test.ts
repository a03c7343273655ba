import { expect, it, vi } from 'vitest';
import { config } from 'zod/mini';

it("gives the event schemas zod's English messages, which zod/mini does not load by itself", async () => {
  // Whatever loaded zod before (zod itself loads English), start from no locale at all...
  config({ localeError: undefined });
  vi.resetModules();
  // ...as in a Lambda bundle, whose zod/mini nothing else configures.
  const { parseBusEvent } = await import('../../functions/core/events');

  const act = () =>
    parseBusEvent({ source: 'vigil.probe', 'detail-type': 'Probe Completed', detail: {} });

  expect(act).toThrow(
    /^Invalid Probe Completed event: metadata: Invalid input: expected object, received undefined$/,
  );
});
