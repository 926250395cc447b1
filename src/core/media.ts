// SDP through RTPproxy64's table (SPEC 5, 6): bodies rewritten by a media plan, Content-Length
// after them, and the life of a call's streams (offer, answer, release).
import { Family, formatHostPort, HostPort } from '../net/addr.js';
import type { Dialog, Refused } from '../media/table.js';
import { hidden, mediaType, rewriteBody } from '../sdp/body.js';
import type { SdpTarget } from '../sdp/rewrite.js';
import { Edits } from '../sip/edits.js';
import { isSpiral } from './branch.js';
import { contactsOf, tagOf } from '../sip/fields.js';
import { hostIp, parseUri } from '../sip/uri.js';
import { SipMessage } from '../sip/message.js';
import { R, Reason } from '../sip/reasons.js';
import { MediaPlan, ProxyContext, sendable } from './types.js';

/** The address model's plan: the relay's IPv4 and IPv6 sides, keyed by Call-ID and leg (`via`: our two SIP addresses on it). */
export function familyMedia(ctx: ProxyContext, callId: string, src: HostPort, out: Family, via: string, m: SipMessage): MediaPlan {
  const key = ctx.ng ? ctx.ng.legOf(callId, via, () => isSpiral(ctx.macs, m, callId)) : legOf(ctx, callId, src.family, via, m);
  return { key, side: src.family, media: ctx.map.written(ctx.map.media(out)), via };
}

/**
 * SPEC 6: a call that leaves through a provider and comes back through the proxy (two IPv4
 * phones at an IPv6 registrar) meets its own relay address in SDP, on a leg of other
 * addresses: that leg gets streams of its own, and the relay hands each packet from one
 * leg's pair to the other's (one hand-over, never more: the datapaths' loop rule).
 */
function legOf(ctx: ProxyContext, callId: string, side: Family, via: string, m: SipMessage): string {
  const key = ctx.media.legKey(callId, via);
  if (key !== callId || m.bodyEnd <= m.bodyStart) return key;
  const first = ctx.media.firstOf(callId);
  if (!first || first.via === undefined || first.via === via) return key;
  const own = `IN IP${side} ${ctx.map.written(ctx.map.media(side)).addr}`;
  if (m.text.slice(m.bodyStart, m.bodyEnd).indexOf(own) < 0) return key;
  // SPEC 11: a request starts a leg only as a spiral; a stranger's meets the first leg's party rule.
  if (m.isRequest && !isSpiral(ctx.macs, m, callId)) return key;
  return ctx.media.newLeg(callId, via) ?? key;
}

/**
 * Rewrite SDP bodies by `plan` (null: leave them). Returns the change in body length, or the
 * reason no relay port could be had.
 * `keepParties`: an answer from another fork of an established call leaves the media alone.
 */
/** Does this SDP come from a configured party (no quota, may name its own media servers)? The plan says, or a map line. */
export function trustedSender(ctx: ProxyContext, plan: MediaPlan, src: HostPort): boolean {
  return plan.trusted ?? ctx.map.isMapped(src.addr);
}

export function rewriteMessageBody(ctx: ProxyContext, m: SipMessage, edits: Edits, plan: MediaPlan | null, src: HostPort, keepParties = false, answerers?: () => readonly string[], dialog?: Dialog): number | Reason {
  const body = plan ? declaredBody(m) : null;
  if (!plan || body === null) return 0;
  if ('code' in body) return body;
  const { key, side } = plan;
  const media = ctx.media;
  const sides = plan.addrs ?? [ctx.map.media(4), ctx.map.media(6)];
  const relay = sides.map((a) => a?.addr);
  const family = sides[side === 4 ? 0 : 1]?.family; // of the relay's socket on the sender's side
  const trusted = trustedSender(ctx, plan, src);
  const contact = contactIp(m);
  let refused: Refused | Malformed = 'exhausted';
  // SPEC 11: only the stream's party removes it (port 0) or puts it on hold.
  const mine = (index: number): boolean => {
    if (media.mayChange(key, index, side, src.addr, m.isRequest, trusted)) return true;
    refused = 'not-the-party';
    return false;
  };
  const delta = rewriteBody(m.text, m.bodyStart, m.bodyEnd, body.ctype, {
    out: plan.media.family,
    media: plan.media,
    stream(index, party) {
      if (party === null) { // port 0: the stream is removed (RFC 3264 8.2)
        if (!mine(index)) return null;
        media.releaseStream(key, index, 'disabled');
        return 0;
      }
      const held = keepParties ? media.get(key, index) : undefined;
      if (held) return held.port;
      // SPEC 11: an SDP address the relay may not send to names no party; only the source
      // latches. The relay's own addresses stay (a call that leaves and comes back through a
      // provider meets its other leg there); the relay never forwards from itself to itself.
      const a = party.addr === null ? null : ctx.map.localOf(party.addr); // our advertised media: the relay's own
      // An address of the other family than the relay's socket on its side (a dual-stack
      // party's IPv4, a CLAT's) cannot be sent to from there: only the source latches.
      const addr = a !== null && (sendable(ctx, a) || relay.includes(a)) && (family === undefined || (a.includes(':') ? 6 : 4) === family) ? a : null;
      const port = media.update(key, index, side, { addr, rtp: party.rtp, rtcp: party.rtcp, mux: party.mux, signal: src.addr, contact, trusted, held: party.held }, plan.addrs, plan.via, m.isRequest, answerers, dialog);
      if (typeof port === 'number') return port;
      refused = port;
      return null;
    },
    malformed(why) {
      refused = why;
    },
    hold(index) {
      if (!mine(index)) return false;
      media.hold(key, index);
      return true;
    },
  }, edits, body.type);
  return delta ?? REFUSED[refused];
}

/**
 * RFC 3261 20.15, 20.12, 7.3.1: the one Content-Type of a body the proxy reads for SDP, or why
 * none can be trusted: a receiver that guessed SDP, read the other Content-Type, or decoded a
 * Content-Encoding would read a body we did not rewrite (SPEC 11). Null: no body.
 */
export function declaredBody(m: SipMessage): { readonly ctype: string; readonly type: string } | Reason | null {
  if (m.bodyEnd <= m.bodyStart) return null;
  let ctype: string | null = null;
  let encoding = '';
  for (const h of m.headers) {
    const name = h.def.name;
    if (name === 'Content-Type') {
      if (ctype !== null) return R.badContentType;
      ctype = m.text.slice(h.valueStart, h.valueEnd);
    } else if (name === 'Content-Encoding') encoding += `,${m.text.slice(h.valueStart, h.valueEnd)}`;
  }
  if (ctype === null) return /^\s*$/.test(m.text.slice(m.bodyStart, m.bodyEnd)) ? null : R.badContentType;
  const type = mediaType(ctype);
  if (type === null) return R.badContentType;
  return hidden(type, encoding) ? R.encodedBody : { ctype, type };
}

type Malformed = Parameters<NonNullable<SdpTarget['malformed']>>[0];
/** Why a body was refused unread, as a reason. */
export const malformedBody = (why: Malformed): Reason => REFUSED[why];
const REFUSED: Record<Refused | Malformed, Reason> = {
  'exhausted': R.rtpPortsExhausted,
  'fd-limit': R.rtpFdLimit,
  'too-many-streams': R.tooManyStreams,
  'source-quota': R.rtpSourceQuota,
  'stranger-quota': R.rtpStrangerQuota,
  'not-the-party': R.mediaNotYours,
  'port': R.badSdpPort,
  'line-end': R.badSdpLineEnd,
  'line': R.badSdpLine,
  'encoding': R.encodedBody,
  'multipart': R.badMultipart,
};

/** The IP literal of a message's first Contact, if any: where that party's own requests come from. */
export function contactIp(m: SipMessage): string | undefined {
  try {
    const c = contactsOf(m)[0];
    const u = c && c.uri !== '*' ? parseUri(c.uri, 0, c.uri.length) : null;
    return u ? hostIp(c.uri, u.hostStart, u.hostEnd)?.addr : undefined;
  } catch {
    return undefined; // a Contact without a URI names nothing
  }
}

/**
 * A refused offer releases the streams it made since `mark`: a new call keeps nothing, one
 * ringing or established keeps what it had (SPEC 11: a stranger's refused INVITE with a
 * ringing call's Call-ID ends none of its media).
 */
export function releaseRefused(ctx: ProxyContext, key: string, mark: number): void {
  ctx.media.undo(key, mark, 'refused');
}

/**
 * Content-Length follows the body (RFC 3261 20.14); compact forms stay compact. A datagram
 * may come without one (RFC 3261 18.3), but what we forward gets one: on TCP or TLS the next
 * hop frames by it, and one that took a missing length for 0 would read the body as the next
 * request, from us (SPEC 11).
 */
export function fixContentLength(m: SipMessage, edits: Edits, delta: number): void {
  const cl = m.hot.contentLength;
  if (!cl) edits.insert(m.headersEnd, `Content-Length: ${m.bodyEnd - m.bodyStart + delta}\r\n`);
  else if (delta !== 0) edits.replace(cl.valueStart, cl.valueEnd, String(m.bodyEnd - m.bodyStart + delta));
}

/**
 * SPEC 6: what a request does to its call's streams (CANCEL, BYE, an ACK with the answer).
 * SPEC 11: a stranger's CANCEL or BYE ends them only if it is a party of the call.
 * `last`: a CANCEL ends the last open branch of the INVITE (Forks); else others still ring.
 */
export function requestMediaLife(ctx: ProxyContext, m: SipMessage, key: string, sdp: boolean, src: HostPort, stranger = false, last = true): void {
  const media = ctx.media;
  if (stranger && (m.method === 'CANCEL' || m.method === 'BYE') && !media.isPartyOf(key, src.addr)) return;
  if (m.method === 'CANCEL' && last && !media.isEstablished(key)) media.release(key, 'cancel', formatHostPort(src)); // by: the call log's who
  else if (m.method === 'BYE') byeEnds(ctx, m, key, formatHostPort(src));
  else if (m.method === 'ACK' && sdp) media.markEstablished(key);
}

/**
 * A BYE, or a party's 2xx to one, ends its dialog (RFC 3261 15.1.2). A forked call may see a
 * 2xx from several callees; the caller hangs up the extra ones: only the dialog that holds
 * the media releases it (the BYE's tags, which its responses repeat).
 */
function byeEnds(ctx: ProxyContext, m: SipMessage, key: string, by: string): void {
  const held = ctx.media.dialogTag(key);
  if (!held || held === tagOf(m, 'To') || held === tagOf(m, 'From')) ctx.media.release(key, 'bye', by);
}

/**
 * SPEC 6: an answer in a 2xx completes the session; a final error to an unanswered INVITE
 * releases it, on its last open branch (`last`, Forks: RFC 3261 16.7, others may answer yet).
 * `toTag`: the response's To tag, as the caller read it.
 */
export function responseMediaLife(ctx: ProxyContext, m: SipMessage, method: string, key: string, sdp: boolean, src: HostPort, toTag: string | null, last: boolean, bySender: HostPort): void {
  // RFC 3261 15.1.2: the UAS that answers a BYE 2xx has ended the session. SPEC 11: only a
  // party's answer counts; it ends what a BYE from an address no party's SIP came from (a
  // provider's other node) left. `bySender`: where the BYE came from, for the call log.
  if (method === 'BYE' && m.status >= 200 && m.status < 300 && ctx.media.isPartyOf(key, src.addr)) byeEnds(ctx, m, key, formatHostPort(bySender));
  if (method !== 'INVITE') return;
  if (m.status >= 200 && m.status < 300 && sdp) ctx.media.markEstablished(key, toTag);
  else if (m.status >= 300 && last && !ctx.media.isEstablished(key)) ctx.media.release(key, `status-${m.status}`, formatHostPort(src));
}
