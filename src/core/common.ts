// Steps shared by requests and responses: header rewriting, bodies, Content-Length.
import { Addr, Family, HostPort } from '../net/addr.js';
import { Header, SipMessage, splitList, unfold } from '../sip/message.js';
import { receivedAddr, Via, viaParam } from '../sip/via.js';
import { MAX_STREAMS_PER_CALL, Party } from '../media/table.js';
import { SdpExhausted } from '../sdp/rewrite.js';
import { rewriteBody } from './body.js';
import type { Engine } from './engine.js';
import { Edits } from './splice.js';
import { rewriteHostParamHeader, rewriteHostportHeader, rewriteUriHeader, RewriteCtx } from './uris.js';

export { SdpExhausted };

/** Rewrite every header by its kind in the table, except those in `skip`. */
export function rewriteHeaders(eng: Engine, c: RewriteCtx, m: SipMessage, skip: Set<Header>): void {
  for (const h of m.headers) {
    if (skip.has(h)) continue;
    switch (h.def.kind) {
      case 'uri': rewriteUriHeader(c, h, false); break; //            RFC 3261 20 (and extensions)
      case 'route': rewriteUriHeader(c, h, true); break; //           RFC 3261 16.4: our own entries stay
      case 'hostport': rewriteHostportHeader(c, h); break; //        RFC 3261 20.43 warn-agent
      case 'hostparam': rewriteHostParamHeader(c, h); break; //      RFC 7315 4.5, 4.6
      case 'agent': //                                                SPEC 4: identify ourselves
        if (!eng.cfg.keepUserAgent) c.edits.replace(h.valueStart, h.valueEnd, eng.product);
        break;
      default: break; // via, maxfwd, clen: handled by their steps; opaque and digest pass unchanged
    }
  }
}

/** Where a message's media goes through the relay. */
export interface MediaPlan {
  readonly key: string; //    media table key: the Call-ID (and the LAN phone when masquerading)
  readonly side: Family; //   the sender's side of the relay (4: IPv4 or LAN, 6: IPv6 or public)
  readonly media: Addr; //    the relay address written into the SDP that goes out
  readonly addrs?: readonly [Addr, Addr]; // relay addresses of sides 4 and 6 (default media4, media6)
}

/** The address model's plan: the relay's IPv4 and IPv6 sides, keyed by Call-ID. */
export function familyMedia(eng: Engine, callId: string, src: HostPort, out: Family): MediaPlan {
  return { key: callId, side: src.family, media: eng.map.media(out) };
}

/** Rewrite SDP bodies by plan `mp` (null: leave them); returns the body length change. */
export function rewriteMessageBody(eng: Engine, m: SipMessage, edits: Edits, mp: MediaPlan | null, src: HostPort, keepParties = false): number {
  if (!mp) return 0;
  const { key: callId, side } = mp;
  if (m.bodyEnd <= m.bodyStart) return 0;
  const ct = m.headers.find((h) => h.def.kind === 'ctype');
  if (!ct) return 0;
  const media = eng.media;
  return rewriteBody(m.text, m.bodyStart, m.bodyEnd, m.text.slice(ct.valueStart, ct.valueEnd), {
    out: mp.media.family,
    media: mp.media,
    stream(index: number, party: Party | null): number | null {
      if (party === null) {
        media.releaseStream(callId, index, 'disabled');
        return 0;
      }
      // keepParties: an answer from another fork of an established call leaves the media alone.
      const held = keepParties ? media.get(callId, index) : undefined;
      if (held) return held.port;
      const port = media.update(callId, index, side, { ...party, signal: src.addr }, mp.addrs);
      if (port === null) {
        throw new SdpExhausted(media.sessionsOf(callId).length >= MAX_STREAMS_PER_CALL ? 'too-many-streams' : 'rtp-ports-exhausted');
      }
      return port;
    },
  }, edits);
}

/** Content-Length follows the body (RFC 3261 20.14); compact forms stay compact. */
export function fixContentLength(m: SipMessage, edits: Edits, delta: number): void {
  if (delta === 0) return;
  const cl = m.headers.find((h) => h.def.kind === 'clen');
  if (cl) edits.replace(cl.valueStart, cl.valueEnd, String(m.bodyEnd - m.bodyStart + delta));
}

/** Delete one element of a comma-separated header, or the whole line if it is the only one. */
export function deleteElement(m: SipMessage, edits: Edits, h: Header, s: number, e: number): void {
  const list = splitList(m.text, h.valueStart, h.valueEnd);
  if (list.length <= 1) {
    edits.delete(h.start, h.end);
    return;
  }
  const i = list.findIndex(([a]) => a === s);
  if (i < 0) return;
  if (i < list.length - 1) edits.delete(s, list[i + 1][0]);
  else edits.delete(list[i - 1][1], e);
}

export function callIdOf(m: SipMessage): string | null {
  const h = m.headers.find((x) => x.def.name === 'Call-ID');
  return h ? unfold(m.text.slice(h.valueStart, h.valueEnd)) : null;
}

/** CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); the number is below 2**31. */
export function cseqOf(m: SipMessage): { num: string; method: string } | null {
  const h = m.headers.find((x) => x.def.name === 'CSeq');
  if (!h) return null;
  const r = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(unfold(m.text.slice(h.valueStart, h.valueEnd)));
  if (!r || Number(r[1]) >= 2 ** 31) return null;
  return { num: String(Number(r[1])), method: r[2] };
}

/** Where a response goes: the Via's received= and rport= (RFC 3261 18.2.2, RFC 3581 4). */
export function viaDestination(v: Via): HostPort | null {
  const addr = receivedAddr(v) ?? v.hostAddr;
  if (!addr || !unicast(addr.addr)) return null;
  const rp = viaParam(v, 'rport')?.value;
  const port = rp && /^\d{1,5}$/.test(rp) ? Number(rp) : v.port ?? 5060;
  if (port < 1 || port > 65535) return null;
  return { addr: addr.addr, family: addr.family, port };
}

/** Never send to a broadcast, multicast or unspecified address (RFC 4475 bcast). */
export function unicast(a: string): boolean {
  if (a === '0.0.0.0' || a === '::' || a === '255.255.255.255') return false;
  if (/^(22[4-9]|23\d)\./.test(a) || /^ff/i.test(a)) return false;
  return true;
}

/** The tag= of From or To (RFC 3261 19.3), outside display names and <URI>. */
export function tagOf(m: SipMessage, name: 'From' | 'To'): string | null {
  const h = m.headers.find((x) => x.def.name === name);
  if (!h) return null;
  const v = unfold(m.text.slice(h.valueStart, h.valueEnd)).replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/<[^>]*>/g, '');
  return /;\s*tag\s*=\s*([^;\s,]+)/i.exec(v)?.[1] ?? null;
}
