// The MACs' native function (src/native/mac.c): the same values as crypto.hash's at about half
// the cost a call (bench/README.md). Checked against crypto.hash before use, so a Node whose
// SHA-256 does not behave as mac.c expects keeps crypto.hash; so does one without the addon.
import { cryptoHasher, Hasher } from '../core/mac.js';
import { Addon, loadNative } from './datapath-native.js';

/** What the check hashes: nothing, a Via branch's fields, non-ASCII, more than mac.c's stack buffer. */
const PROBES = ['', 'z9hG4bK-1\n192.0.2.10:5060\nc@192.0.2.10\n1\n198.51.100.1:5060/UDP', '\u00e9\u00ff\u0100\ud800', 'x'.repeat(3000)];
/** mac.c takes a prefix of under 252 bytes (a key of 32 bytes is 65); a longer one stays with crypto.hash. */
const LONGEST_PREFIX = 200;

/** The native hasher, or null and why not. */
export function nativeHasher(addon: Pick<Addon, 'macer'> | Error = loadNative()): { hasher: Hasher | null; why: string | null } {
  if (addon instanceof Error) return { hasher: null, why: addon.message };
  const macer = addon.macer;
  if (typeof macer !== 'function') return { hasher: null, why: "the addon found no SHA-256 in this Node (SHA256_Init)" };
  const hasher: Hasher = (prefix) => (prefix.length <= LONGEST_PREFIX ? macer(prefix) : cryptoHasher(prefix));
  try {
    for (const prefix of ['6b\n', 'a'.repeat(65), 'b'.repeat(LONGEST_PREFIX)]) {
      const mine = hasher(prefix);
      const theirs = cryptoHasher(prefix);
      for (const p of PROBES) if (mine(p) !== theirs(p)) return { hasher: null, why: 'its MACs differ from crypto.hash' };
    }
  } catch (e) {
    return { hasher: null, why: (e as Error).message };
  }
  return { hasher, why: null };
}
