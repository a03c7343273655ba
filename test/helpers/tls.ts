import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

const openssl = (args: string[]) => execFileSync('/usr/bin/openssl', args, { stdio: 'pipe' });

/**
 * A self-signed certificate for 127.0.0.1 valid 5 more days (P-256: fast to generate), and the
 * same key re-signed so the certificate expired a day ago.
 */
export const selfSignedCerts = async (): Promise<{ valid: Pem; expired: Pem }> => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-tls-'));
  const [key, cert, expired] = ['key.pem', 'cert.pem', 'expired.pem'].map((f) => join(dir, f)) as [
    string,
    string,
    string,
  ];
  try {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '5',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    openssl(['x509', '-in', cert, '-signkey', key, '-days', '-1', '-out', expired]);
    const keyPem = await readFile(key, 'utf8');
    return {
      valid: { key: keyPem, cert: await readFile(cert, 'utf8') },
      expired: { key: keyPem, cert: await readFile(expired, 'utf8') },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
