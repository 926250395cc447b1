// Which transport each side uses (RFC 3261 18.1.1, 19.1.5): the target's map line, the target
// URI's transport= parameter, else TCP for a request over 1300 bytes when TCP is on, else UDP.
// A connection that cannot be opened answers 503 (RETRY_AFTER), or goes back to UDP when only
// the size chose TCP.
import { Config } from '../config/config.js';
import { ContactEl, contactsOf, expiresOf } from '../sip/fields.js';
import { parseMessage, SipMessage } from '../sip/message.js';
import { findUri, hostIp, param, parseUri, UriParts } from '../sip/uri.js';
import { Via } from '../sip/via.js';
import { TRANSPORT_PARAM } from './uris.js';

export type Transport = 'udp' | 'tcp' | 'tls';

/** The largest UDP payload over IPv4 (65535 - 8 - 20): nothing larger leaves over UDP. */
export const MAX_UDP = 65507;

/** The name in a Via sent-protocol. */
export const VIA_NAME: Record<Transport, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

export const tlsOn = (cfg: Config): boolean => cfg.tlsCert !== null;

/** Our port for a transport: sip-port, or tls-port for TLS. */
export function portFor(t: Transport, cfg: Config): number {
  return t === 'tls' ? cfg.tlsPort : cfg.sipPort;
}

/** Is this one of our SIP ports (for the transport, or any when none is given)? */
export function isOurPort(port: number, cfg: Config): boolean {
  return port === cfg.sipPort || (tlsOn(cfg) && port === cfg.tlsPort);
}

/** RFC 3261 18.1.1: a request within 200 bytes of a 1500-byte MTU goes over TCP. */
export const UDP_SIZE_LIMIT = 1300;

/** Retry-After of the 503 for an unreachable next hop: short, so no phone blacklists us. */
export const RETRY_AFTER = 2;

export function transportParam(text: string, u: UriParts | null, name = 'transport'): string | null {
  const p = u ? param(u, name) : undefined;
  return p && p.valueStart >= 0 ? text.slice(p.valueStart, p.valueEnd).toLowerCase() : null;
}

/** ;sp64t=TRANSPORT[-PORT] (uris.ts keepTransport): the party's transport. */
function keptTransport(text: string, u: UriParts | null): string | null {
  const v = transportParam(text, u, TRANSPORT_PARAM);
  const dash = v === null ? -1 : v.indexOf('-');
  return dash >= 0 ? (v as string).slice(0, dash) : v;
}

/** ;sp64t=TRANSPORT-PORT: the port of the party's own connection to us (RFC 5626 5.3), or null. */
export function flowPort(text: string, u: UriParts | null): number | null {
  const v = transportParam(text, u, TRANSPORT_PARAM);
  const m = v === null ? null : /^[a-z]+-(\d{1,5})$/.exec(v);
  const port = m ? Number(m[1]) : 0;
  return port > 0 && port <= 65535 ? port : null;
}

/**
 * The transport towards a target URI: `forced` by the target's map line, else the URI's
 * transport= or sips: (RFC 3261 19.1.5, RFC 5630), else 'size': UDP, or TCP when TCP is on
 * and the request as it goes out is over 1300 bytes (RFC 3261 18.1.1; the caller measures).
 * `ours`: the URI names one of our addresses, so its transport= described the hop to us; the
 * party's own is in ;sp64t= (uris.ts TRANSPORT_PARAM).
 */
export function transportFor(text: string, u: UriParts | null, cfg: Config, forced: Transport | null, ours: boolean): Transport | 'size' {
  if (forced) return forced;
  const t = keptTransport(text, u) ?? (ours ? null : transportParam(text, u));
  if ((t === 'tls' || u?.scheme === 'sips') && tlsOn(cfg)) return 'tls'; // RFC 5630: sips means TLS hop by hop
  if (t === 'udp') return 'udp';
  if (t === 'tcp') return cfg.tcp ? 'tcp' : 'udp';
  return cfg.tcp ? 'size' : 'udp';
}

/** The transport a response goes back on: the one in the next Via (RFC 3261 18.2.2). */
export function viaTransport(v: Via, cfg: Config): Transport {
  if (v.transport === 'TLS' && tlsOn(cfg)) return 'tls';
  return v.transport === 'TCP' && cfg.tcp ? 'tcp' : 'udp';
}

/** ;transport= for our Record-Route entry on a side (UDP is the default and is not written). */
export function rrTransport(t: Transport): string {
  return t === 'udp' ? '' : `;transport=${t}`;
}

/** The longest a registration keeps its connection open: tcp-idle's own bound, a day. */
export const MAX_REGISTRATION_LIFE = 86400;

/** A registration a 2xx to REGISTER grants: its address-of-record (the To URI) and seconds. */
export interface Registration {
  readonly aor: string;
  readonly lasts: number;
}

/**
 * RFC 3261 10.3 step 8 (Kamailio registrar's tcp_persistent_flag): how long the registration
 * that a 2xx to REGISTER, as written for the phone at `to`, grants it: the longest of its
 * bindings (those naming its address, the only ones called on its connection, RFC 5626 5.3);
 * 0 when none is left. A stranger's registrar grants no more than a day (SPEC 11: the
 * connection limits still bound how many connections are kept).
 */
export function registrationLife(data: string, to: string): Registration {
  let m: SipMessage;
  let contacts: ContactEl[];
  try {
    m = parseMessage(data);
    contacts = contactsOf(m);
  } catch {
    return { aor: '', lasts: 0 }; // our own output always parses; nothing to keep if it did not
  }
  const dflt = expiresOf(m) ?? 3600; // RFC 3261 10.2.1.1
  let lasts = 0;
  for (const c of contacts) {
    const u = c.uri === '*' ? null : parseUri(c.uri, 0, c.uri.length);
    if (u && hostIp(c.uri, u.hostStart, u.hostEnd)?.addr === to) lasts = Math.max(lasts, Math.min(c.expires ?? dflt, MAX_REGISTRATION_LIFE));
  }
  const h = m.hot.to;
  const span = h ? findUri(m.text, h.valueStart, h.valueEnd) : null;
  return { aor: span ? m.text.slice(span.start, span.end) : '', lasts };
}
