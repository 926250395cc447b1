// Which transport each side uses (RFC 3261 18.1.1, 19.1.5): the target URI's transport=
// parameter, else TCP for a request over 1300 bytes when TCP is on, else UDP.
import { Config } from '../config/config.js';
import { param, UriParts } from '../sip/uri.js';
import { Via } from '../sip/via.js';

export type Transport = 'udp' | 'tcp';

/** The name in a Via sent-protocol. */
export const VIA_NAME: Record<Transport, string> = { udp: 'UDP', tcp: 'TCP' };

/** RFC 3261 18.1.1: a request within 200 bytes of a 1500-byte MTU goes over TCP. */
export const UDP_SIZE_LIMIT = 1300;

export function transportParam(text: string, u: UriParts | null): string | null {
  const p = u ? param(u, 'transport') : undefined;
  return p && p.valueStart >= 0 ? text.slice(p.valueStart, p.valueEnd).toLowerCase() : null;
}

/** The transport towards a target URI for a request of about `size` bytes. */
export function transportFor(text: string, u: UriParts | null, size: number, cfg: Config): Transport {
  const t = transportParam(text, u);
  if (t === 'udp') return 'udp';
  if (t === 'tcp') return cfg.tcp ? 'tcp' : 'udp';
  return cfg.tcp && size > UDP_SIZE_LIMIT ? 'tcp' : 'udp';
}

/** The transport a response goes back on: the one in the next Via (RFC 3261 18.2.2). */
export function viaTransport(v: Via, cfg: Config): Transport {
  return v.transport === 'TCP' && cfg.tcp ? 'tcp' : 'udp';
}

/** ;transport= for our Record-Route entry on a side (UDP is the default and is not written). */
export function rrTransport(t: Transport): string {
  return t === 'udp' ? '' : `;transport=${t}`;
}
