// Our MACs: Via branches, received= on Record-Route, masquerading tokens (SPEC 11). One
// SHA-256 over the key and the value, cut to 48 bits. A secret-prefix hash is open to length
// extension only when the whole digest is known; we publish 48 of its 256 bits, so the state
// an extension needs is never seen (the reason SHA-512/256 resists it), and the key, 256
// bits, comes first. One one-shot hash costs a quarter of an HMAC's two (bench/rewrite).
import * as crypto from 'node:crypto';

export type Mac = (value: string) => string;

/** crypto.hash (Node 20.12): one call, no Hash object; createHash where it is missing. */
const sha256hex: (s: string) => string =
  typeof crypto.hash === 'function' ? (s) => crypto.hash('sha256', s, 'hex') : (s) => crypto.createHash('sha256').update(s).digest('hex');

/**
 * The MAC's function: under `prefix` (the key in hex and a line end), the first 48 bits of
 * SHA-256(prefix + value as UTF-8) in hex. This one is crypto.hash's; the daemon injects
 * the native addon's (src/native/mac.c), the same values at about half the cost a call.
 */
export type Hasher = (prefix: string) => Mac;
export const cryptoHasher: Hasher = (prefix) => (value) => sha256hex(prefix + value).slice(0, 12);

/** The MAC under `secret`: 12 hex digits. */
export function macer(secret: Buffer, hasher: Hasher = cryptoHasher): Mac {
  return hasher(secret.toString('hex') + '\n');
}

/**
 * `secret FILE` may hold two keys (rotation): the first signs, both verify. A MAC checked
 * against each key in turn; one key costs what a single comparison did.
 */
export function verifies(macs: readonly Mac[], value: string, given: string): boolean {
  for (const m of macs) if (m(value) === given) return true;
  return false;
}

/** One key or several (secret FILE rotation) as a list, the signing key first. */
export function keyList(secret: Buffer | readonly Buffer[]): readonly Buffer[] {
  return Buffer.isBuffer(secret) ? [secret] : secret;
}

/** The MACs of the keys: the first signs. */
export function keyring(secret: Buffer | readonly Buffer[], hasher: Hasher = cryptoHasher): Mac[] {
  return keyList(secret).map((k) => macer(k, hasher));
}

/** A fixed key for fixtures and offline rewriting; the daemon passes the host's. */
export const TEST_SECRET = Buffer.from('sipproxy64 fixed test key');
