// Via values (RFC 3261 20.42, 18.2.1; RFC 3581 rport; RFC 5118 IPv6 sent-by and received).
import { Addr, HostPort, parseIp, unicast, withPort } from '../net/addr.js';
import type { Edits } from './edits.js';
import { Header, SipMessage, splitList } from './message.js';
import { MAX_URI_PARAMS } from './uri.js';

export interface ViaParam {
  readonly name: string; // lower case
  readonly value: string | null;
  readonly start: number; // offset of the ';'
  readonly end: number;
}

export interface Via {
  readonly start: number; // element span within the message
  readonly end: number;
  readonly header: Header;
  readonly transport: string; // upper case
  readonly host: string; //      as written (brackets kept)
  readonly hostAddr: Addr | null;
  readonly port: number | null;
  readonly sentByEnd: number;
  readonly params: readonly ViaParam[];
}

const VIA = /^SIP[ \t\r\n]*\/[ \t\r\n]*2\.0[ \t\r\n]*\/[ \t\r\n]*([A-Za-z0-9-]+)[ \t\r\n]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:[ \t\r\n]*:[ \t\r\n]*(\d{1,5}))?/;

// Any protocol name and version: a request we answer 505 still gets its Via stamped.
const ANY_VIA = new RegExp(VIA.source.replace('SIP', '[A-Za-z0-9.!%*_+`\'~-]+').replace('2\\.0', '[A-Za-z0-9.!%*_+`\'~-]+'));

/** One via-params element (sticky: read where the last one ended), made once, not per Via. */
const VIA_PARAM = /[ \t\r\n]*;[ \t\r\n]*([A-Za-z0-9.!%*_+`'~-]+)(?:[ \t\r\n]*=[ \t\r\n]*("(?:[^"\\]|\\.)*"|\[[0-9A-Fa-f:.]+\]|[^;, \t\r\n]+))?/y;

/** One Via value (RFC 3261 20.42); `anyVersion` reads sent-protocols other than SIP/2.0 too. */
export function parseVia(text: string, s: number, e: number, header: Header, anyVersion = false): Via | null {
  const v = text.slice(s, e);
  const m = (anyVersion ? ANY_VIA : VIA).exec(v);
  if (!m) return null;
  const host = m[2];
  let hostAddr: Addr | null = null;
  if (host.startsWith('[')) {
    hostAddr = parseIp(host.slice(1, -1));
    if (!hostAddr || hostAddr.family !== 6) return null;
  } else if (/^[\d.]+$/.test(host)) {
    hostAddr = parseIp(host);
    if (!hostAddr) return null;
  }
  const port = m[3] ? Number(m[3]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  const params: ViaParam[] = [];
  let p = m[0].length;
  for (;;) {
    VIA_PARAM.lastIndex = p;
    const pm = VIA_PARAM.exec(v);
    if (!pm) break;
    if (params.length === MAX_URI_PARAMS) return null; // SPEC 11: as a URI's (a malformed Via; the answer path reads Vias too, and must not throw)
    params.push({ name: pm[1].toLowerCase(), value: pm[2] ?? null, start: s + p, end: s + p + pm[0].length });
    p += pm[0].length;
  }
  if (v.slice(p).trim() !== '') return null;
  return { start: s, end: e, header, transport: m[1].toUpperCase(), host, hostAddr, port, sentByEnd: s + m[0].length, params };
}

export function viaParam(v: Via, name: string): ViaParam | undefined {
  for (const p of v.params) if (p.name === name) return p;
  return undefined;
}

/** The address in received= (RFC 3261 18.2.1); IPv6 may come bracketed (RFC 5118 4.5). */
export function receivedAddr(v: Via): Addr | null {
  const rec = viaParam(v, 'received')?.value;
  return rec ? parseIp(rec.replace(/^\[|\]$/g, '')) : null;
}

/** The first n Via values in order (top first), up to the first malformed one. */
export function leadingVias(m: SipMessage, n: number): Via[] {
  const out: Via[] = [];
  for (const h of m.headers) {
    if (h.def.kind !== 'via') continue;
    for (const [s, e] of splitList(m.text, h.valueStart, h.valueEnd)) {
      const v = parseVia(m.text, s, e, h);
      if (!v) return out;
      out.push(v);
      if (out.length === n) return out;
    }
  }
  return out;
}

/** The address the request's sender (the UAC) sent from: its Via, the bottom one, by received= if stamped (RFC 3261 18.2.1). */
export function originAddr(m: SipMessage): string | null {
  const vias = leadingVias(m, MAX_VIA);
  const v = vias.length === viaCount(m) ? vias[vias.length - 1] : undefined;
  return v ? (receivedAddr(v) ?? v.hostAddr)?.addr ?? null : null;
}

/** A Via path longer than this is a loop or an attack (RFC 3261 16.3; sipproxy64(8) LIMITS). */
export const MAX_VIA = 70;

/** How many Via values a message carries (RFC 3261 16.3: a path this long is a loop). */
export function viaCount(m: SipMessage): number {
  let n = 0;
  for (const h of m.headers) if (h.def.kind === 'via') n += splitList(m.text, h.valueStart, h.valueEnd).length;
  return n;
}

/** The first Via value only (cheap: responses and most requests need no more). */
export function topVia(m: SipMessage): Via | null {
  const h = m.hot.via;
  if (!h) return null;
  const list = splitList(m.text, h.valueStart, h.valueEnd);
  if (list.length === 0) return null;
  return parseVia(m.text, list[0][0], list[0][1], h);
}

/** Where a response goes: the Via's received= and rport= (RFC 3261 18.2.2, RFC 3581 4). */
/** Does the Via (its received= first) name an IP address that is not unicast (broadcast, multicast)? */
export function viaNotUnicast(v: Via): boolean {
  const addr = receivedAddr(v) ?? v.hostAddr;
  return addr !== null && !unicast(addr.addr);
}

export function viaDestination(v: Via): HostPort | null {
  const addr = receivedAddr(v) ?? v.hostAddr;
  if (!addr || !unicast(addr.addr)) return null;
  const rp = viaParam(v, 'rport')?.value;
  const port = rp && /^\d{1,5}$/.test(rp) ? Number(rp) : v.port ?? 5060;
  if (port < 1 || port > 65535) return null;
  return withPort(addr, port);
}

/**
 * received= and rport= on the top Via of a request (RFC 3261 18.2.1, RFC 3581 4), for a
 * request we forward and for one we answer: they say where the packet really came from. A
 * value the sender wrote itself is replaced when it is not the truth, or the response would
 * go wherever a stranger pointed it (SPEC 11). `stream`: it came over TCP/TLS and we forward
 * it, so the response must find this connection again (RFC 3261 18.2.2): the stateless
 * proxy names it in the Via, so the source port is stamped even unasked.
 */
export function stampVia(via: Via, src: HostPort, edits: Edits, stream: boolean): void {
  const rport = viaParam(via, 'rport');
  const port = String(src.port);
  if (rport && rport.value !== port) edits.replace(rport.start, rport.end, `;rport=${port}`);
  else if (!rport && stream) edits.insert(via.end, `;rport=${port}`);
  const rec = viaParam(via, 'received');
  if (rec) {
    if (receivedAddr(via)?.addr !== src.addr) edits.replace(rec.start, rec.end, `;received=${src.addr}`);
  } else if (rport || stream || via.hostAddr?.addr !== src.addr) edits.insert(via.end, `;received=${src.addr}`);
}

/**
 * Where the response to a request will go once stampVia has stamped its top Via: what
 * viaDestination reads from the stamped Via (the two must agree; t/unit/sip/via.ts checks).
 */
export function stampedDestination(via: Via, src: HostPort, stream: boolean): { addr: string; port: number } | null {
  const rport = viaParam(via, 'rport');
  const stamped = viaParam(via, 'received') || rport || stream || via.hostAddr?.addr !== src.addr;
  const addr = stamped ? src.addr : via.hostAddr?.addr;
  if (!addr) return null;
  return { addr, port: rport || stream ? src.port : via.port ?? 5060 };
}
