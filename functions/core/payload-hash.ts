import { createHash } from 'node:crypto';

/**
 * The SHA-256 of a payload on its way to the archive. The archive checks that the bytes it
 * stores match the hash it is given, and hashing a report of a few MB again costs milliseconds
 * on the answer's path. So the hash computed here is remembered for the very object hashed:
 * given that object with that hash, the archive takes it as checked. A hash computed anywhere
 * else, or given with another object, is checked against the bytes. The bytes must not change
 * once hashed (ingest hashes payloads it holds alone, right before archiving them).
 */
const hashed = new WeakMap<Uint8Array, string>();

/** The SHA-256 of `body` (lower-case hex), remembered for `hashedAs`. */
export const payloadSha256 = (body: Uint8Array): string => {
  const sha256 = createHash('sha256').update(body).digest('hex');
  hashed.set(body, sha256);
  return sha256;
};

/** Whether `sha256` is what `payloadSha256` computed for this very object. */
export const hashedAs = (body: Uint8Array, sha256: string): boolean => hashed.get(body) === sha256;
