import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDev } from '../../cli/dev';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-dev-'));
  const config = join(dir, 'vigil.config.json');
  await writeFile(config, JSON.stringify({ project: 'shop' }));
  env = { VIGIL_CONFIG: config, VIGIL_DATA_DIR: join(dir, 'data') };
});

describe('vigil dev (npm start)', () => {
  it('prints a curl command that works from any directory: the sample report by its absolute path', async () => {
    let out = '';
    const pipeline = await runDev({
      env: { ...env, PORT: '0' },
      stdout: (s) => {
        out += s;
      },
      stderr: () => {},
    });
    try {
      const sample = /--data-binary @(\S+)/.exec(out)?.[1] ?? '';
      expect(isAbsolute(sample), out).toBe(true);
      expect(existsSync(sample)).toBe(true);
    } finally {
      await pipeline.close();
    }
  });

  describe('on a port already taken', () => {
    let taken: Server;
    beforeAll(async () => {
      taken = createServer();
      await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    });
    afterAll(() => new Promise<void>((ok) => taken.close(() => ok())));

    it('says so and how to choose another port', async () => {
      const port = (taken.address() as { port: number }).port;
      await expect(
        runDev({ env: { ...env, PORT: String(port) }, stdout: () => {}, stderr: () => {} }),
      ).rejects.toThrow(
        `127.0.0.1:${port} is already in use (another Vigil, or another program): stop it, or start with PORT=<another port> (PORT=0 takes any free one).`,
      );
    });
  });
});
