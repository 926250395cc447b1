// Via values (RFC 3261 20.42, 18.2.1; RFC 3581 rport; RFC 5118 IPv6 sent-by and received).
import { Addr, HostPort, parseIp, unicast, withPort } from '../net/addr.js';
import type { Edits } from './edits.js';
import { Header, isLws, sameNoCase, SipMessage, splitList, TOKEN_CHARS as TOKEN } from './message.js';
import { charClass, decimalAt, DIGITS_DOTS, inClass, isLineEnd, runOf } from '../net/strings.js';
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

/** Characters of a transport name, of a host name, of an IPv6 reference; and those that end a token-form param value. */
const TRANSPORT = charClass('A-Za-z0-9-');
const HOST = charClass('A-Za-z0-9.-');
const V6REF = charClass('0-9A-Fa-f:.');
const VALUE_END = charClass(';, \t\r\n');

function skipLws(text: string, i: number, e: number): number {
  while (i < e && isLws(text.charCodeAt(i))) i++;
  return i;
}

/** The names and transports nearly every Via carries, so that reading one copies nothing. */
const PARAM_NAMES = ['branch', 'rport', 'received', 'maddr', 'ttl', 'alias', 'keep', 'sigcomp-id', 'oc', 'oc-validity', 'oc-seq', 'oc-algo'];
const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'SCTP', 'TLS-SCTP', 'WS', 'WSS'];

/** text[s, e) in lower (or upper) case: one of `known` when it is one, in any case; else a copy. */
function caseOf(text: string, s: number, e: number, known: readonly string[], upper: boolean): string {
  for (const k of known) if (k.length === e - s && sameNoCase(text, s, k)) return k;
  const t = text.slice(s, e);
  return upper ? t.toUpperCase() : t.toLowerCase();
}

/**
 * Where sent-protocol and sent-by end (RFC 3261 20.42): `SIP / 2.0 / transport LWS host
 * [: port]`, LWS allowed around each "/" and ":"; -1 when they do not read. With
 * `anyVersion`, any token as protocol name and version.
 */
function sentBy(text: string, s: number, e: number, anyVersion: boolean, out: Int32Array): number {
  let i = s;
  if (anyVersion) i = runOf(text, i, e, TOKEN);
  else if (text.startsWith('SIP', i) && e - i >= 3) i += 3;
  if (i === s) return -1;
  i = skipLws(text, i, e);
  if (text.charCodeAt(i) !== 47 || i >= e) return -1; // "/"
  i = skipLws(text, i + 1, e);
  const vs = i;
  if (anyVersion) i = runOf(text, i, e, TOKEN);
  else if (text.startsWith('2.0', i) && e - i >= 3) i += 3;
  if (i === vs) return -1;
  i = skipLws(text, i, e);
  if (text.charCodeAt(i) !== 47 || i >= e) return -1;
  i = skipLws(text, i + 1, e);
  out[0] = i; // transport
  i = runOf(text, i, e, TRANSPORT);
  if (i === out[0]) return -1;
  out[1] = i;
  const hs = skipLws(text, i, e);
  if (hs === i) return -1; // LWS+ before the host
  out[2] = hs;
  let he: number;
  if (text.charCodeAt(hs) === 91 && hs < e) { // "[" IPv6reference "]"
    he = runOf(text, hs + 1, e, V6REF);
    if (he === hs + 1 || text.charCodeAt(he) !== 93 || he >= e) return -1;
    he++;
  } else {
    he = runOf(text, hs, e, HOST);
    if (he === hs) return -1;
  }
  out[3] = he;
  out[4] = -1; // port digits
  const colon = skipLws(text, he, e);
  if (text.charCodeAt(colon) === 58 && colon < e) {
    const ps = skipLws(text, colon + 1, e);
    let pe = ps;
    while (pe < e && pe - ps < 5 && text.charCodeAt(pe) >= 48 && text.charCodeAt(pe) <= 57) pe++;
    if (pe > ps) {
      out[4] = ps;
      out[5] = pe;
      return pe;
    }
  }
  return he;
}

/** The end of a via-param's value at i (quoted-string, IPv6 reference or token-ish run); -1 when none reads. */
function paramValue(text: string, i: number, e: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) { // quoted-string: a backslash escapes any character but a line end
    for (let j = i + 1; j < e; j++) {
      const d = text.charCodeAt(j);
      if (d === 34) return j + 1;
      if (d === 92) {
        const n = text.charCodeAt(j + 1);
        if (j + 1 >= e || isLineEnd(n)) break;
        j++;
      }
    }
  } else if (c === 91) {
    const j = runOf(text, i + 1, e, V6REF);
    if (j > i + 1 && j < e && text.charCodeAt(j) === 93) return j + 1;
  }
  let j = i;
  while (j < e && !inClass(VALUE_END, text.charCodeAt(j))) j++;
  return j > i ? j : -1;
}

/** Is text[i, e) white space only, as String.prototype.trim reads it? */
function blankTail(text: string, i: number, e: number): boolean {
  i = skipLws(text, i, e);
  return i >= e || text.slice(i, e).trim() === '';
}

/** One Via value (RFC 3261 20.42); `anyVersion` reads sent-protocols other than SIP/2.0 too. By hand: a regex's match arrays and captures were a tenth of what an INVITE allocated. */
export function parseVia(text: string, s: number, e: number, header: Header, anyVersion = false): Via | null {
  const at = AT;
  const sbEnd = sentBy(text, s, e, anyVersion, at);
  if (sbEnd < 0) return null;
  const host = text.slice(at[2], at[3]);
  let hostAddr: Addr | null = null;
  if (text.charCodeAt(at[2]) === 91) {
    hostAddr = parseIp(text.slice(at[2] + 1, at[3] - 1));
    if (!hostAddr || hostAddr.family !== 6) return null;
  } else if (runOf(text, at[2], at[3], DIGITS_DOTS) === at[3]) {
    hostAddr = parseIp(host);
    if (!hostAddr) return null;
  }
  const port = at[4] >= 0 ? decimalAt(text, at[4], at[5]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  const params: ViaParam[] = [];
  let p = sbEnd;
  for (;;) {
    // via-params: LWS ";" LWS token [ LWS "=" LWS value ]
    const semi = skipLws(text, p, e);
    if (semi >= e || text.charCodeAt(semi) !== 59) break;
    const ns = skipLws(text, semi + 1, e);
    const ne = runOf(text, ns, e, TOKEN);
    if (ne === ns) break;
    let end = ne;
    let value: string | null = null;
    const eq = skipLws(text, ne, e);
    if (eq < e && text.charCodeAt(eq) === 61) {
      const vs = skipLws(text, eq + 1, e);
      const ve = vs < e ? paramValue(text, vs, e) : -1;
      if (ve > 0) {
        value = text.slice(vs, ve);
        end = ve;
      }
    }
    if (params.length === MAX_URI_PARAMS) return null; // SPEC 11: as a URI's (a malformed Via; the answer path reads Vias too, and must not throw)
    params.push({ name: caseOf(text, ns, ne, PARAM_NAMES, false), value, start: p, end });
    p = end;
  }
  if (!blankTail(text, p, e)) return null;
  return { start: s, end: e, header, transport: caseOf(text, at[0], at[1], TRANSPORTS, true), host, hostAddr, port, sentByEnd: sbEnd, params };
}
/** sentBy's offsets: transport start and end, host start and end, port start and end (one array for all calls). */
const AT = new Int32Array(6);

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
