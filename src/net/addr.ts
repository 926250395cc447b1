// IP address helpers: validation, RFC 5952 canonical text, host:port forms.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { decimalAt, detached } from './strings.js';

export type Family = 4 | 6;

export interface Addr {
  readonly addr: string; // canonical text: dotted quad, or RFC 5952 IPv6 (no brackets)
  readonly family: Family;
}

export interface HostPort extends Addr {
  readonly port: number;
}

const cache = new Map<string, Addr | null>();
const THREE_COLONS = /^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*:::\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Parse a bare IP literal (no brackets). net.isIP first: ipaddr.js reads 010.0.0.1 as octal. */
export function parseIp(text: string): Addr | null {
  let hit = cache.get(text);
  if (hit !== undefined) return hit;
  text = detached(text); // the cache outlives the message the address was cut from
  // RFC 5118 4.10: an old ABNF allowed three colons before an embedded IPv4 address.
  const ip = THREE_COLONS.test(text) ? text.replace(':::', '::') : text;
  // No zone (fe80::1%eth0): SIP's IPv6reference and SDP's addresses have none (RFC 3261
  // 25.1, RFC 4566 9), and one would let a stranger pick the gateway's interface (SPEC 11).
  const kind = ip.indexOf('%') < 0 ? isIP(ip) : 0;
  if (kind === 4) hit = { addr: text, family: 4 };
  else if (kind === 6) {
    try {
      hit = { addr: ipaddr.IPv6.parse(ip).toRFC5952String(), family: 6 };
    } catch {
      hit = null;
    }
  } else hit = null;
  if (cache.size > 4096) cache.clear();
  cache.set(text, hit);
  return hit;
}

/** An address with a port, in HostPort's one shape (an object spread of a cached Addr cost 4% of a masqueraded INVITE). */
export function withPort(a: Addr, port: number): HostPort {
  return { addr: a.addr, family: a.family, port };
}

/** Parse an IP that may be written in brackets ("[2001:db8::1]" or "192.0.2.1"). */
export function parseHostIp(text: string): Addr | null {
  if (text.length > 2 && text.charCodeAt(0) === 0x5b && text.charCodeAt(text.length - 1) === 0x5d) {
    const a = parseIp(text.slice(1, -1));
    return a && a.family === 6 ? a : null;
  }
  const a = parseIp(text);
  return a && a.family === 4 ? a : null; // an IPv6 literal must be bracketed in host:port text
}

/** A UDP or TCP port a datagram can go to: 1..65535 (RFC 768). */
export const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

export function parsePort(text: string): number | null {
  const n = decimalAt(text, 0, text.length, 5);
  return isPort(n) ? n : null;
}

/** "192.0.2.1:5060", "[2001:db8::1]:5060"; the port is required unless defPort is given. */
export function parseHostPort(text: string, defPort?: number): HostPort | null {
  let host = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return null;
    host = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0) {
      if (text.indexOf(':', colon + 1) >= 0) host = '[' + text + ']'; // bare IPv6 without port
      else {
        host = text.slice(0, colon);
        portText = text.slice(colon + 1);
      }
    }
  }
  const a = parseHostIp(host);
  if (!a) return null;
  const port = portText === undefined ? defPort : parsePort(portText);
  if (port === undefined || port === null) return null;
  return withPort(a, port);
}

/** Host as written in a URI or Via: IPv6 in brackets (RFC 3261 25.1, RFC 5118). */
/** The address as it goes on the wire: 4 or 16 bytes (a canonical Addr: parseIp's). */
export function addrBytes(a: Addr): Buffer {
  return Buffer.from(ipaddr.parse(a.addr).toByteArray());
}

/** The address of 4 or 16 bytes off the wire, in canonical text (RFC 5952 for IPv6). */
export function addrFromBytes(b: Uint8Array): Addr {
  const a = ipaddr.fromByteArray([...b]);
  return a.kind() === 'ipv4' ? { addr: a.toString(), family: 4 } : { addr: (a as ipaddr.IPv6).toRFC5952String(), family: 6 };
}

/** The first 64 bits of an IPv6 address, as text (rtp-latch prefix: the party's /64). */
export function prefix64(a: string): string {
  return first64(ipaddr.IPv6.parse(a).parts);
}

/** The /64 of an address's eight groups, as prefix64 writes it (2001:db8:0:1). */
function first64(p: readonly number[]): string {
  return p.slice(0, 4).map((g) => g.toString(16)).join(':');
}

export function uriHost(a: Addr): string {
  return a.family === 6 ? '[' + a.addr + ']' : a.addr;
}

export function formatHostPort(hp: HostPort): string {
  return uriHost(hp) + ':' + hp.port;
}

export function other(f: Family): Family {
  return f === 4 ? 6 : 4;
}

/** Never send to a broadcast, multicast or unspecified address (RFC 4475 bcast). */
export function unicast(a: string): boolean {
  if (a === '0.0.0.0' || a === '::' || a === '255.255.255.255') return false;
  if (/^(22[4-9]|23\d)\./.test(a) || /^ff/i.test(a)) return false;
  return true;
}

/**
 * Addresses nothing may be sent to unless a map line names them (SPEC 11): loopback,
 * "this network" 0.0.0.0/8, unspecified, multicast, broadcast and the rest of 240.0.0.0/4;
 * and every IPv4 address written inside IPv6 (IPv4-mapped, or the deprecated
 * IPv4-compatible): such an address names no IPv6 host (RFC 4291 2.5.5), and a socket that
 * took it would send over IPv4, past the address model, to any address, this proxy's own
 * included. `a` is canonical (parseIp): IPv6 in RFC 5952 lower case.
 */
export function isSpecial(a: string): boolean {
  if (a.indexOf(':') < 0) return special4(a);
  if (a === '::' || a === '::1') return true;
  if (a.charCodeAt(0) === 102 && a.charCodeAt(1) === 102) return true; // ff00::/8 multicast
  return a.startsWith('::') && embedded4(a) !== null;
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:0:0/96, RFC 4291 2.5.5.2) or IPv4-compatible
 * (::/96, deprecated, 2.5.5.1) address, in any of its spellings: RFC 5952 text writes
 * ::ffff:127.0.0.1 as ::ffff:7f00:1, which a test for a dot missed. Null for any other.
 */
function embedded4(a: string): string | null {
  return isIP(a) ? v4Inside(ipaddr.IPv6.parse(a).parts) : null;
}

/** embedded4 of an address's eight groups; `nat64`: also inside 64:ff9b::/96 (RFC 6052 2.1). */
function v4Inside(p: readonly number[], nat64 = false): string | null {
  const wellKnown = nat64 && p[0] === 0x64 && p[1] === 0xff9b && !p[5];
  if (!wellKnown && (p[0] || p[1] || (p[5] !== 0 && p[5] !== 0xffff))) return null;
  if (p[2] || p[3] || p[4]) return null;
  return `${p[6] >> 8}.${p[6] & 255}.${p[7] >> 8}.${p[7] & 255}`;
}

function special4(a: string): boolean {
  const first = parseInt(a, 10); // the first octet
  return first === 0 || first === 127 || first >= 224;
}

/**
 * An address only its own site reaches (RFC 1918, RFC 6598 shared, RFC 3927 and RFC 4291
 * 2.5.6 link-local, RFC 4193 unique local): a party that writes one and sends from another
 * is behind a NAT. `a` is canonical (parseIp).
 */
export function isSiteLocal(a: Addr): boolean {
  const t = a.addr;
  if (a.family === 6) {
    if (t.indexOf(':') !== 4) return false; // fc00::/7 and fe80::/10 have a first group of four digits
    const g = parseInt(t.slice(0, 4), 16);
    return (g & 0xfe00) === 0xfc00 || (g & 0xffc0) === 0xfe80;
  }
  const d = t.indexOf('.');
  const x = Number(t.slice(0, d));
  const y = parseInt(t.slice(d + 1), 10);
  return x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127) || (x === 169 && y === 254);
}

const nets = new Map<string, string>();

/** The source an IPv6 host is: its /64 (it may use any address in it); an IPv4 address itself, also written in IPv6. */
export function sourceKey(a: Addr): string {
  return a.family === 4 ? a.addr : sourceOf(a.addr);
}

/** sourceKey of an address in canonical text (parseIp's). */
export function sourceOf(addr: string): string {
  if (addr.indexOf(':') < 0) return addr;
  let k = nets.get(addr);
  if (k === undefined) {
    // An IPv4 host written in IPv6 (mapped, or through NAT64's well-known prefix) is that
    // host, not a /64 that every IPv4 host would share. One parse for both (a stranger's
    // new address each message misses this cache).
    const p = ipaddr.IPv6.parse(addr).parts;
    k = v4Inside(p, true) ?? first64(p) + '::/64';
    if (nets.size >= 4096) nets.clear();
    nets.set(addr, k);
  }
  return k;
}
