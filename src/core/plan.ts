// Where a request goes and how it is written (SPEC 3 steps 4-5): the address model's plan.
// Masquerading has its own (src/nat/plan.ts); both return a Plan for request.ts to carry out.
import { Addr, Family, HostPort, other, uriHost } from '../net/addr.js';
import { SipError } from '../sip/errors.js';
import { SipMessage } from '../sip/message.js';
import { parseUri, UriParts } from '../sip/uri.js';
import { familyMedia, MediaPlan } from './common.js';
import type { Engine } from './engine.js';
import { Mapping } from './mapping.js';
import { Edits } from './splice.js';
import { Action } from './types.js';
import { hostIp, KEEP_PARAM, portOf, RewriteCtx } from './uris.js';

/** What route preprocessing (RFC 3261 16.4) left for the plan. */
export interface Prepared {
  readonly remaining: ReadonlyArray<{ readonly u: UriParts | null }>; // Route entries after ours
  readonly received: { hp: HostPort } | null; // a generic party named by our Record-Route (MACed)
  readonly newRuri: string | null; //          strict routing: the Request-URI to use
  readonly ruri: UriParts | null;
}

export type Plan =
  | { readonly type: 'answer'; readonly action: Action } // answered here (a registrar)
  | {
      readonly type: 'forward';
      readonly target: HostPort;
      readonly O: Addr; //                 outgoing local address
      readonly ctx: RewriteCtx; //         how addresses are written
      readonly media: MediaPlan | null; // null: SDP passes unchanged
      readonly newRuri: string | null; //  replaces the Request-URI (then written by ctx)
      readonly ruriHost: string | null; // replaces only the Request-URI host
      readonly viaReceived: boolean; //    the target came from received= on our Route
      readonly generic: boolean; //        our incoming-side Record-Route carries received=
    };

/** Where a URI leads: a face, a mapped real address, or a configured uplink name. */
export function targetOfUri(map: Mapping, text: string, u: UriParts, prefer: Family): HostPort | null {
  const port = portOf(text, u);
  const a = hostIp(text, u.hostStart, u.hostEnd);
  if (a) return map.targetOfIp(a, port);
  const t = map.targetOfName(text.slice(u.hostStart, u.hostEnd), port, prefer);
  if (t === 'unresolved') throw new SipError(503, 'uplink-unresolved', 'Service Unavailable (uplink not resolved)');
  return t;
}

/** The address model (SPEC 2): faces, mapped parties, uplinks, generic parties. */
export function addressPlan(eng: Engine, m: SipMessage, src: HostPort, local: HostPort, pre: Prepared, callId: string, edits: Edits): Plan {
  const map = eng.map;
  const text = m.text;
  const prefer = other(src.family);
  let target: HostPort | null = null;
  let viaReceived = false;
  if (pre.remaining.length > 0) {
    const u = pre.remaining[0].u;
    target = u ? targetOfUri(map, text, u, prefer) : null;
  } else if (pre.received) {
    target = pre.received.hp;
    viaReceived = true;
  } else if (pre.newRuri) {
    const u = parseUri(pre.newRuri, 0, pre.newRuri.length);
    target = u ? targetOfUri(map, pre.newRuri, u, prefer) : null;
  } else if (pre.ruri) {
    target = targetOfUri(map, text, pre.ruri, prefer);
  }
  if (!target) {
    // Traffic that arrives on a face is meant for the party behind it (SPEC 2).
    const face = map.byFace(local.addr);
    const real = face ? map.realAddr(face) : null;
    if (face && real) target = { addr: real.addr, family: real.family, port: face.realPort ?? (face.name ? map.uplinkPort(face) : local.port) };
    else if (face) throw new SipError(503, 'uplink-unresolved', 'Service Unavailable (uplink not resolved)');
  }
  if (!target || map.isOurs(target.addr)) throw new SipError(403, 'not-a-relay', 'Forbidden (no mapping for this destination)');
  const out = target.family;
  let ruriHost: string | null = null;
  const ruri = pre.ruri;
  if (!pre.newRuri && ruri && viaReceived && pre.received) {
    const ra = hostIp(text, ruri.hostStart, ruri.hostEnd);
    const kept = ruri.params.some((p) => p.name === KEEP_PARAM);
    if (ra && map.isGeneric(ra.addr) && !kept) ruriHost = uriHost(pre.received.hp); // back to the generic party
  }
  return {
    type: 'forward',
    target,
    O: map.representative(src, out),
    ctx: { text, map, out, edits },
    media: familyMedia(eng, callId, src, out),
    newRuri: null,
    ruriHost,
    viaReceived,
    generic: !map.byReal(src.addr),
  };
}
