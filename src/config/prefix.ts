// map REAL/LEN FACE/LEN (issue 16; RFC 7757 explicit address mappings): a prefix of parties
// and a prefix of faces with the same number of host bits, host n of one standing for host n
// of the other (map 192.0.2.0/24 2001:db8:64::/120: 192.0.2.10 appears as 2001:db8:64::a).
// The line is expanded here into one map entry per host, so the address model, its lookups
// and the faces the daemon binds are those of plain map lines.
import ipaddr from 'ipaddr.js';
import { Addr, parseIp } from '../net/addr.js';

/** Faces one prefix line may add: each is a SIP socket (or three, with TCP and TLS). */
export const MAX_PREFIX_HOSTS = 256;

export interface PrefixPair {
  readonly reals: Addr[];
  readonly faces: Addr[];
}

/** "A/LEN" as address bytes and length, or why not. */
function parsePrefix(text: string): { bytes: number[]; len: number } | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m || !parseIp(m[1])) return `"${text}" is not a prefix (ADDRESS/LENGTH)`;
  const bytes = ipaddr.parse(m[1]).toByteArray();
  const len = Number(m[2]);
  if (len > bytes.length * 8) return `"${text}": length ${len} is longer than the address`;
  const host = bytes.length * 8 - len;
  for (let bit = 0; bit < host; bit++) {
    const i = bytes.length - 1 - (bit >> 3);
    if (bytes[i] & (1 << (bit & 7))) return `"${text}" has host bits set (the prefix starts at its first address)`;
  }
  return { bytes, len };
}

/** The address `n` hosts after the prefix's first one. */
function nth(bytes: number[], n: number): Addr {
  const out = bytes.slice();
  for (let i = out.length - 1, carry = n; i >= 0 && carry > 0; i--) {
    const v = out[i] + (carry & 0xff);
    out[i] = v & 0xff;
    carry = (carry >>> 8) + (v >> 8);
  }
  return parseIp(ipaddr.fromByteArray(out).toString()) as Addr;
}

/** Both prefixes of a prefix map line, host by host; a string says what is wrong. */
export function expandPrefixMap(realText: string, faceText: string): PrefixPair | string {
  const real = parsePrefix(realText);
  if (typeof real === 'string') return real;
  const face = parsePrefix(faceText);
  if (typeof face === 'string') return face;
  if (real.bytes.length === face.bytes.length) return `the faces ${faceText} must be in the other family than ${realText}`;
  const hostBits = real.bytes.length * 8 - real.len;
  if (face.bytes.length * 8 - face.len !== hostBits) return `${realText} and ${faceText} must have the same number of host bits (${hostBits} and ${face.bytes.length * 8 - face.len})`;
  const hosts = 2 ** hostBits;
  if (hosts > MAX_PREFIX_HOSTS) return `${realText} holds ${hosts} addresses; a prefix map line serves at most ${MAX_PREFIX_HOSTS} (a /24 of IPv4, a /120 of IPv6), each face a SIP socket`;
  const reals: Addr[] = [];
  const faces: Addr[] = [];
  for (let n = 0; n < hosts; n++) {
    reals.push(nth(real.bytes, n));
    faces.push(nth(face.bytes, n));
  }
  return { reals, faces };
}
