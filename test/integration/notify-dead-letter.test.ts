import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LocalAlertDispatcher,
  NOTIFY_DEAD_LETTER_FILE,
} from '../../functions/adapters/local/alert-dispatcher';
import { processObservation } from '../../functions/core/alerts/service';
import { MemoryPublisher } from '../helpers/fakes';
import { storeOf } from '../helpers/local-store';

/** The dead-letter file of local alert delivery after a crash tore its last line. */

describe('notify-dead-letter.ndjson', () => {
  it('starts the next entry on a line of its own after a torn last line', async () => {
    // Prepare: a whole entry, then one cut short by a crash (no newline); a webhook that fails.
    const dataDir = await mkdtemp(join(tmpdir(), 'vigil-dead-letter-'));
    const file = join(dataDir, NOTIFY_DEAD_LETTER_FILE);
    const left = `${JSON.stringify({ channel: 'webhook[0]', error: 'HTTP 500' })}\n{"channel":"web`;
    await writeFile(file, left);
    const server = createServer((_req, res) => res.writeHead(500).end('down'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const store = storeOf(dataDir).alerts;
    const dispatcher = new LocalAlertDispatcher({
      channels: [{ type: 'webhook', url, headers: {} }],
      dataDir,
      resolveSecret: async () => '',
      publisher: new MemoryPublisher(),
      store,
      policy: { baseDelayMs: 5, maxAttempts: 1 },
      scanMs: 20,
    });
    await dispatcher.start();

    try {
      // Act: a delivery given up.
      await processObservation(
        {
          id: '1',
          checkKey: 'probe:shop/api',
          ok: false,
          at: new Date().toISOString(),
          source: 'probe',
          project: 'shop',
          severity: 'critical',
          title: 'Probe api',
          correlationId: 'c-1',
          policy: { failureThreshold: 1, recoveryThreshold: 1 },
          tags: [],
        },
        {
          store,
          dispatch: dispatcher.dispatch,
          clock: { now: () => new Date() },
          maintenance: [],
          repeatMinutes: 60,
        },
      );
      await expect
        .poll(() => readFile(file, 'utf8'), { timeout: 5_000, interval: 20 })
        .toMatch(/FIRING.*\n$/);

      // Assess: the broken line stays as it was; the new entry is a line of its own.
      const lines = (await readFile(file, 'utf8')).split('\n');
      expect(lines.slice(0, 2).join('\n')).toBe(left);
      expect(JSON.parse(lines[2] ?? '')).toMatchObject({
        channel: 'webhook[0]',
        notification: { kind: 'FIRING', checkKey: 'probe:shop/api' },
      });
      expect(lines.slice(3)).toEqual(['']);
    } finally {
      await dispatcher.stop();
      await new Promise((r) => server.close(r));
    }
  });
});
