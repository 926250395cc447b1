// Via values (RFC 3261 20.42, 18.2.1; RFC 3581 rport; RFC 5118 IPv6 sent-by and received).
import { Addr, parseIp } from '../net/addr.js';
import { Header, SipMessage, splitList } from './message.js';

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

export function parseVia(text: string, s: number, e: number, header: Header): Via | null {
  const v = text.slice(s, e);
  const m = VIA.exec(v);
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
  const re = /[ \t\r\n]*;[ \t\r\n]*([A-Za-z0-9.!%*_+`'~-]+)(?:[ \t\r\n]*=[ \t\r\n]*("(?:[^"\\]|\\.)*"|\[[0-9A-Fa-f:.]+\]|[^;, \t\r\n]+))?/y;
  for (;;) {
    re.lastIndex = p;
    const pm = re.exec(v);
    if (!pm) break;
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

/** The first Via value only (cheap: responses and most requests need no more). */
export function topVia(m: SipMessage): Via | null {
  for (const h of m.headers) {
    if (h.def.kind !== 'via') continue;
    const list = splitList(m.text, h.valueStart, h.valueEnd);
    if (list.length === 0) return null;
    return parseVia(m.text, list[0][0], list[0][1], h);
  }
  return null;
}
