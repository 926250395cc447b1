// nat64 PREFIX/96 (issue 16; RFC 6052): every IPv4 party appears on the IPv6 side inside the
// prefix, its address in the last 32 bits (64:ff9b::c000:20a is 192.0.2.10), with no map line.
// Pure: the prefix, embedding and extraction, and which IPv4 addresses may never be reached.
import ipaddr from 'ipaddr.js';
import { Addr, isSpecial, parseIp } from '../net/addr.js';

/** RFC 6052 2.1: the Well-Known Prefix. */
export const WELL_KNOWN = '64:ff9b::';

export interface Nat64Prefix {
  readonly text: string; //      as configured, "64:ff9b::/96"
  readonly bytes: readonly number[]; // its first 12 bytes
  readonly wellKnown: boolean;
}

/** "P/96" as a NAT64 prefix, or what is wrong with it. */
export function parseNat64(text: string): Nat64Prefix | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const a = m ? parseIp(m[1]) : null;
  if (!m || !a || a.family !== 6) return `nat64 takes an IPv6 prefix PREFIX/96 (64:ff9b::/96), got "${text}"`;
  if (m[2] !== '96') return `nat64 takes a /96 (the IPv4 address in the last 32 bits, RFC 6052 2.2), got /${m[2]}`;
  const bytes = ipaddr.parse(a.addr).toByteArray();
  if (bytes.slice(12).some((b) => b !== 0)) return `"${text}" has host bits set (the prefix ends in ::)`;
  if (bytes[8] !== 0) return `"${text}": bits 64 to 71 must be zero (RFC 6052 2.2)`;
  if (isSpecial(a.addr) || a.addr.startsWith('fe80:') || a.addr.startsWith('::')) return `"${text}" is not a unicast prefix`;
  return { text, bytes: bytes.slice(0, 12), wellKnown: a.addr === WELL_KNOWN };
}

/** The IPv6 address that stands for IPv4 `v4` (RFC 6052 2.2, /96). */
export function embed(p: Nat64Prefix, v4: string): Addr {
  return parseIp(ipaddr.fromByteArray([...p.bytes, ...ipaddr.parse(v4).toByteArray()]).toString()) as Addr;
}

/** The IPv4 address an IPv6 address inside the prefix stands for; null outside it. */
export function extract(p: Nat64Prefix, v6: string): Addr | null {
  if (v6.indexOf(':') < 0 || !ipaddr.isValid(v6)) return null;
  const b = ipaddr.parse(v6).toByteArray();
  for (let i = 0; i < 12; i++) if (b[i] !== p.bytes[i]) return null;
  return { addr: b.slice(12).join('.'), family: 4 };
}

/**
 * Why IPv4 `v4` may not be reached through the prefix, or null (SPEC 11): never loopback,
 * "this network", link-local, multicast, broadcast or 240/4; with the Well-Known Prefix, nothing but
 * global unicast (RFC 6052 3.1: private and other special ranges need a network-specific prefix).
 */
export function nat64Refusal(p: Nat64Prefix, v4: string): string | null {
  if (isSpecial(v4)) return 'special';
  if (ipaddr.parse(v4).range() === 'linkLocal') return 'link-local'; // 169.254.169.254: a cloud's metadata service
  if (p.wellKnown && ipaddr.parse(v4).range() !== 'unicast') return 'non-global';
  return null;
}
