// map REAL/LEN FACE/LEN (issue 16; RFC 7757 explicit address mappings): a prefix of parties
// and a prefix of faces with the same number of host bits, host n of one standing for host n
// of the other (map 192.0.2.0/24 2001:db8:64::/120: 192.0.2.10 appears as 2001:db8:64::a).
// A line of up to 256 hosts is expanded here into one map entry per host, so the address
// model, its lookups and the faces the daemon binds are those of plain map lines. A larger
// line stays one PrefixLine: the address model computes its hosts, and the daemon serves its
// faces through one socket per family on the wildcard address (src/native/sipsock.c).
import ipaddr from 'ipaddr.js';
import { Addr, Family, parseIp } from '../net/addr.js';

/** Hosts a line may have and still be expanded: each is a SIP socket (or three, with TCP and TLS). */
export const MAX_PREFIX_HOSTS = 256;
/** Hosts a line may have at all (an IPv4 /8). */
export const MAX_LINE_HOSTS = 2 ** 24;

export interface Prefix {
  readonly bytes: readonly number[];
  readonly len: number;
  readonly family: Family;
  readonly text: string;
}

/** A prefix map line too large to expand: its hosts are computed on use. */
export interface PrefixLine {
  readonly real: Prefix;
  readonly face: Prefix;
  readonly transport: 'udp' | null;
  readonly where: string;
}

export type PrefixMap = { kind: 'hosts'; reals: Addr[]; faces: Addr[] } | { kind: 'line'; real: Prefix; face: Prefix };

/** "A/LEN" as address bytes and length, or why not. */
export function parsePrefix(text: string): Prefix | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const a = m ? parseIp(m[1]) : null;
  if (!m || !a) return `"${text}" is not a prefix (ADDRESS/LENGTH)`;
  const bytes = ipaddr.parse(a.addr).toByteArray();
  const len = Number(m[2]);
  if (len > bytes.length * 8) return `"${text}": length ${len} is longer than the address`;
  const host = bytes.length * 8 - len;
  for (let bit = 0; bit < host; bit++) {
    const i = bytes.length - 1 - (bit >> 3);
    if (bytes[i] & (1 << (bit & 7))) return `"${text}" has host bits set (the prefix starts at its first address)`;
  }
  return { bytes, len, family: a.family, text };
}

/** The address `n` hosts after the prefix's first one. */
export function nth(p: Prefix, n: number): Addr {
  const out = p.bytes.slice();
  for (let i = out.length - 1, carry = n; i >= 0 && carry > 0; i--) {
    const v = out[i] + (carry & 0xff);
    out[i] = v & 0xff;
    carry = Math.floor(carry / 256) + (v >> 8);
  }
  return parseIp(ipaddr.fromByteArray(out).toString()) as Addr;
}

/** Which host of prefix p address a is (null: not inside it). */
export function hostOf(p: Prefix, a: string): number | null {
  const ip = parseIp(a);
  if (!ip || ip.family !== p.family) return null;
  const b = ipaddr.parse(ip.addr).toByteArray();
  const full = p.len >> 3;
  for (let i = 0; i < full; i++) if (b[i] !== p.bytes[i]) return null;
  const rest = p.len & 7;
  if (rest && (b[full] >> (8 - rest)) !== (p.bytes[full] >> (8 - rest))) return null;
  let n = 0;
  for (let i = Math.max(0, b.length - 4); i < b.length; i++) n = n * 256 + b[i]; // host bits are at most 24
  return n % 2 ** (b.length * 8 - p.len);
}

/** Does prefix p hold address a? */
export function holds(p: Prefix, a: string): boolean {
  return hostOf(p, a) !== null;
}

/** Do two prefixes share an address? */
export function overlap(p: Prefix, q: Prefix): boolean {
  return p.family === q.family && (holds(p, nth(q, 0).addr) || holds(q, nth(p, 0).addr));
}

/** Both prefixes of a prefix map line, host by host (or as one line when large); a string says what is wrong. */
export function expandPrefixMap(realText: string, faceText: string): PrefixMap | string {
  const real = parsePrefix(realText);
  if (typeof real === 'string') return real;
  const face = parsePrefix(faceText);
  if (typeof face === 'string') return face;
  if (real.family === face.family) return `the faces ${faceText} must be in the other family than ${realText}`;
  const hostBits = real.bytes.length * 8 - real.len;
  if (face.bytes.length * 8 - face.len !== hostBits) return `${realText} and ${faceText} must have the same number of host bits (${hostBits} and ${face.bytes.length * 8 - face.len})`;
  const hosts = 2 ** hostBits;
  if (hosts > MAX_LINE_HOSTS) return `${realText} holds ${hosts} addresses; a prefix map line serves at most ${MAX_LINE_HOSTS} (an IPv4 /8)`;
  if (hosts > MAX_PREFIX_HOSTS) return { kind: 'line', real, face };
  const reals: Addr[] = [];
  const faces: Addr[] = [];
  for (let n = 0; n < hosts; n++) {
    reals.push(nth(real, n));
    faces.push(nth(face, n));
  }
  return { kind: 'hosts', reals, faces };
}
