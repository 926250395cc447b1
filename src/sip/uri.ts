// Locating URIs and their hosts inside header values (RFC 3261 19.1, 20.10, 25.1;
// IPv6 references per RFC 5118 / RFC 3986 3.2.2). All offsets are absolute.
import { Addr, isPort, parseIp } from '../net/addr.js';
import { allDotted, charClass, decimalAt, inClass } from '../net/strings.js';
import { refuse } from './errors.js';
import { isLws } from './message.js';
import { R } from './reasons.js';

/** SPEC 11: parameters one URI may carry (RFC 3261 sets no bound; real ones carry a few). */
export const MAX_URI_PARAMS = 64;

export interface UriSpan {
  readonly start: number;
  readonly end: number;
  readonly angle: boolean; // written as <URI> (name-addr)
}

export interface UriParam {
  readonly start: number; // offset of its ';'
  readonly end: number;
  readonly name: string; // lower case
  readonly valueStart: number; // -1 when the parameter has no value
  readonly valueEnd: number;
}

export interface UriParts {
  readonly scheme: string; // lower case
  readonly hasUser: boolean;
  readonly userStart: number; // after "scheme:"; the user part runs to hostStart - 1 when hasUser
  readonly hostStart: number; // host text, brackets included
  readonly hostEnd: number;
  readonly portStart: number; // -1 when absent (digits only)
  readonly portEnd: number;
  readonly params: readonly UriParam[];
  readonly rest: number; // where the parameters end: the URI's end, or its '?headers' (sip, sips)
  readonly end: number;
}

/** Find the URI of one name-addr or addr-spec list element [s, e). */
export function findUri(text: string, s: number, e: number): UriSpan | null {
  let inQuote = false;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60) {
      const close = text.indexOf('>', i + 1);
      if (close < 0 || close >= e) return null;
      let us = i + 1;
      let ue = close;
      while (us < ue && isLws(text.charCodeAt(us))) us++;
      while (ue > us && isLws(text.charCodeAt(ue - 1))) ue--;
      return { start: us, end: ue, angle: true };
    }
  }
  if (inQuote) return null;
  // addr-spec: a ';' starts header parameters, not URI parameters (RFC 3261 20.10).
  let ue = s;
  while (ue < e) {
    const c = text.charCodeAt(ue);
    if (c === 59 || isLws(c)) break;
    ue++;
  }
  return ue > s ? { start: s, end: ue, angle: false } : null;
}

/** Characters that end a host: : ; ? > / # , SP HT CR LF (a table: one load per character). */
const HOST_END = charClass(':;?>/#, \t\r\n');
const isHostEnd = (c: number): boolean => inClass(HOST_END, c);

/** The scheme, lower-cased; "sip" itself without a copy (nearly every URI). */
function schemeOf(text: string, s: number, colon: number): string {
  if (colon - s === 3 && (text.charCodeAt(s) | 32) === 115 && (text.charCodeAt(s + 1) | 32) === 105 && (text.charCodeAt(s + 2) | 32) === 112) return 'sip';
  return text.slice(s, colon).toLowerCase();
}

/** ; ? = end a URI parameter's name; ; ? its value (RFC 3261 25.1 uri-parameters). */
const isParamEnd = (c: number, eq: boolean): boolean => c === 59 || c === 63 || (eq && c === 61);

/** Split a URI into scheme, host, port and parameters; null when it has no host part. */
export function parseUri(text: string, s: number, e: number): UriParts | null {
  const colon = text.indexOf(':', s);
  if (colon < 0 || colon >= e) return null;
  const scheme = schemeOf(text, s, colon);
  if (scheme !== 'sip' && !/^[a-z][a-z0-9+.-]*$/.test(scheme)) return null;
  let p = colon + 1;
  let authEnd = e;
  if (scheme === 'sip' || scheme === 'sips') {
    // userinfo ends at the first '@': neither user, password nor headers may hold a bare '@' (RFC 3261 25.1)
    const at = text.indexOf('@', p);
    if (at >= 0 && at < e) p = at + 1;
  } else if (text.startsWith('//', p)) {
    p += 2;
    let i = p;
    while (i < e && !'/?#'.includes(text[i])) i++;
    authEnd = i;
    const at = text.lastIndexOf('@', authEnd - 1);
    if (at >= p) p = at + 1;
  } else return null; // tel:, urn:, cid: ... have no host
  const hasUser = p > colon + 1 && text.charCodeAt(p - 1) === 64;
  const hostStart = p;
  let hostEnd: number;
  if (text.charCodeAt(p) === 91) {
    const close = text.indexOf(']', p);
    if (close < 0 || close >= e) return null;
    hostEnd = close + 1;
  } else {
    hostEnd = p;
    while (hostEnd < authEnd && !isHostEnd(text.charCodeAt(hostEnd))) hostEnd++;
  }
  if (hostEnd === hostStart) return null;
  let portStart = -1;
  let portEnd = -1;
  let q = hostEnd;
  if (text.charCodeAt(q) === 58 && q < e) {
    portStart = q + 1;
    portEnd = portStart;
    while (portEnd < e && text.charCodeAt(portEnd) >= 48 && text.charCodeAt(portEnd) <= 57) portEnd++;
    q = portEnd;
  }
  const params: UriParam[] = [];
  if (scheme === 'sip' || scheme === 'sips') {
    while (q < e && text.charCodeAt(q) === 59) {
      if (params.length === MAX_URI_PARAMS) throw refuse(R.tooManyParams);
      const ps = q;
      let ne = q + 1;
      while (ne < e && !isParamEnd(text.charCodeAt(ne), true)) ne++;
      const name = text.slice(q + 1, ne).trim().toLowerCase();
      let vs = -1;
      let ve = -1;
      if (text.charCodeAt(ne) === 61 && ne < e) {
        vs = ne + 1;
        ve = vs;
        while (ve < e && !isParamEnd(text.charCodeAt(ve), false)) ve++;
        q = ve;
      } else q = ne;
      params.push({ start: ps, end: q, name, valueStart: vs, valueEnd: ve });
    }
  }
  return { scheme, hasUser, userStart: colon + 1, hostStart, hostEnd, portStart, portEnd, params, rest: q, end: e };
}

export function param(u: UriParts, name: string): UriParam | undefined {
  for (const p of u.params) if (p.name === name) return p;
  return undefined;
}

/** The user part of a SIP URI (without a password), or null. */
export function userOf(text: string, u: UriParts): string | null {
  if (!u.hasUser) return null;
  const ui = text.slice(u.userStart, u.hostStart - 1);
  const c = ui.indexOf(':');
  return c >= 0 ? ui.slice(0, c) : ui;
}

/** An IP literal as written in a URI host: [v6] or dotted v4 (RFC 3261 25.1, RFC 5118 4.1). */
export function hostIp(text: string, s: number, e: number): Addr | null {
  if (text.charCodeAt(s) === 91) {
    const a = parseIp(text.slice(s + 1, e - 1));
    return a && a.family === 6 ? a : null;
  }
  const a = parseIp(text.slice(s, e));
  return a && a.family === 4 ? a : null;
}

/** A URI's port, or null when it names none. */
export function portOf(text: string, u: UriParts): number | null {
  if (u.portStart < 0 || u.portEnd === u.portStart) return null;
  return decimalAt(text, u.portStart, u.portEnd);
}

/** The port a request is sent to by this URI, or null when it names none. SPEC 11: port =
 *  1*DIGIT (RFC 3261 25.1) allows 0, 99999 or none after the colon; no datagram goes there.
 *  And the URI must read as the proxy reads it: after hostport and parameters only the end
 *  or '?headers' (RFC 3261 25.1 SIP-URI); `[2001:db8::1]x` or `host:5060x` would send the
 *  request where the next hop reads another host. */
export function targetPortOf(text: string, u: UriParts): number | null {
  if ((u.scheme === 'sip' || u.scheme === 'sips') && strayAfterParams(text, u)) throw refuse(R.badUriHostport);
  if (u.portStart < 0) return null;
  const p = portWritten(text, u);
  if (!isPort(p)) throw refuse(R.badUriPort);
  return p;
}

/** Does a SIP URI go on after its hostport and parameters with anything but '?headers' (RFC 3261 25.1)? */
function strayAfterParams(text: string, u: UriParts): boolean {
  return u.rest < u.end && text.charCodeAt(u.rest) !== 63;
}

/** The digits after a URI's colon as a number; none (`host:`) reads as 0, no port. */
function portWritten(text: string, u: UriParts): number {
  return u.portEnd === u.portStart ? 0 : decimalAt(text, u.portStart, u.portEnd);
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/**
 * text[s, e) as a Request-URI: sip, sips or tel (RFC 3261 16.3 step 2: 416 else), no
 * whitespace (RFC 3261 25.1, RFC 4475 3.1.2.6), a sound host and port, no headers (19.1.5,
 * RFC 4475 3.1.2.11; a '?' before the host is the user part's own). The parts; null for tel.
 * The Request-URI itself, and the last Route value a strict router leaves to become it (16.4).
 */
export function checkRequestUriAt(text: string, s: number, e: number): UriParts | null {
  const t = text.slice(s, e);
  if (t === '' || /[ \t\r\n<>]/.test(t)) throw refuse(R.badRequestUri);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(t)?.[1].toLowerCase();
  if (!scheme) throw refuse(R.badRequestUri);
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') throw refuse(R.unsupportedUriScheme);
  if (scheme === 'tel') return null;
  const u = parseUri(text, s, e);
  if (!u) throw refuse(R.badRequestUri);
  const host = text.slice(u.hostStart, u.hostEnd);
  if (!hostIp(text, u.hostStart, u.hostEnd) && (host.startsWith('[') || allDotted(host) || !HOSTNAME.test(host))) {
    throw refuse(R.badRequestUriHost);
  }
  if ((u.portStart >= 0 && !isPort(portWritten(text, u))) || strayAfterParams(text, u)) {
    throw refuse(R.badRequestUriPort);
  }
  const q = text.indexOf('?', u.hostEnd);
  if (q >= 0 && q < e) throw refuse(R.requestUriHeaders);
  return u;
}
