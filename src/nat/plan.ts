// Masquerading: where a request that arrived on the inbound or outbound address goes, and
// how it is written (sipproxy64(8) MASQUERADING). Not an open relay: the public side reaches
// only phones (by ;sp64n=, by registration); the LAN may call anywhere.
import { Addr, Family, HostPort, parseHostIp } from '../net/addr.js';
import { SipError } from '../sip/errors.js';
import { SipMessage } from '../sip/message.js';
import { param, parseUri, UriParts, userOf } from '../sip/uri.js';
import { cseqOf, MediaPlan } from '../core/common.js';
import type { Engine } from '../core/engine.js';
import { Plan, Prepared } from '../core/plan.js';
import { localReply } from '../core/reply.js';
import { Edits } from '../core/splice.js';
import type { Transport } from '../core/transport.js';
import { hostIp, KEEP_PARAM, portOf } from '../core/uris.js';
import { Nat, Realm } from './nat.js';

/** Thrown when a target is a host name not resolved yet; the daemon resolves it and retries. */
export class NeedsName extends Error {
  constructor(override readonly name: string, readonly family: Family) {
    super(`resolve ${name}`);
  }
}

/** Relay plan between the realms; media of one LAN phone's leg is keyed by its address. */
export function natMedia(nat: Nat, callId: string, from: Realm, to: Realm, lan: Addr): MediaPlan | null {
  if (from === to) return null; // within one realm the parties reach each other directly
  return { key: `${callId} ${lan.addr}`, side: from === 'lan' ? 4 : 6, media: nat.addrOf(to), addrs: [nat.inbound, nat.outbound] };
}

/** A URI's target when it names a host: a literal, or a name from the cache (NeedsName if not yet). */
function targetOfHost(eng: Engine, text: string, u: UriParts, family: Family): HostPort {
  const port = portOf(text, u);
  const a = hostIp(text, u.hostStart, u.hostEnd);
  if (a) return { ...a, port: port ?? 5060 };
  const name = text.slice(u.hostStart, u.hostEnd).toLowerCase().replace(/\.$/, '');
  const r = eng.names.get(name, family);
  if (r === undefined) throw new NeedsName(name, family);
  if (r === null) throw new SipError(503, 'name-unresolved', `Service Unavailable (cannot resolve ${name})`);
  return { ...r.addr, port: port ?? r.port ?? 5060 };
}

/** RFC 3261 16.5: a registered phone: the Request-URI becomes its contact, the target its host. */
function bindingTarget(eng: Engine, contact: string): { newRuri: string; target: HostPort } {
  const cu = parseUri(contact, 0, contact.length);
  if (!cu) throw new SipError(480, 'bad-binding', 'Temporarily Unavailable');
  return { newRuri: contact, target: targetOfHost(eng, contact, cu, (eng.nat as Nat).inbound.family) };
}

export function natPlan(eng: Engine, m: SipMessage, src: HostPort, local: HostPort, inT: Transport, from: Realm, pre: Prepared, callId: string, edits: Edits): Plan {
  const nat = eng.nat as Nat;
  const reg = eng.registrar;
  const text = m.text;
  const ruri = pre.ruri;
  const routed = pre.remaining.length > 0;
  const ruriHost = ruri ? text.slice(ruri.hostStart, ruri.hostEnd).toLowerCase() : '';
  const ruriIp = ruri ? hostIp(text, ruri.hostStart, ruri.hostEnd) : null;
  const toUs = ruriIp !== null && nat.realmOf(ruriIp.addr) !== null;
  // RFC 3261 10.3: a REGISTER for our domain is ours to answer.
  if (m.method === 'REGISTER' && !routed && reg?.enabled && (reg.isOurDomain(ruriHost) || toUs)) {
    const extra = reg.register(m, src, inT, callId, Number(cseqOf(m)?.num));
    return { type: 'answer', action: localReply(text, 200, 'OK', 'registered', src, local, eng.product, extra, inT) };
  }
  let target: HostPort | null = null;
  let newRuri: string | null = pre.newRuri;
  const uri = routed ? { text, u: pre.remaining[0].u } : newRuri ? { text: newRuri, u: parseUri(newRuri, 0, newRuri.length) } : { text, u: ruri };
  if (!uri.u) throw new SipError(403, 'not-a-relay', 'Forbidden (no route for this Request-URI)');
  const phone = nat.tokenOf(uri.text, uri.u);
  const user = userOf(uri.text, uri.u);
  const host = uri.text.slice(uri.u.hostStart, uri.u.hostEnd).toLowerCase();
  const ip = hostIp(uri.text, uri.u.hostStart, uri.u.hostEnd);
  const forUs = ip !== null && nat.realmOf(ip.addr) !== null;
  const kept = forUs && from === 'lan' ? param(uri.u, KEEP_PARAM) : undefined;
  const keptAddr = kept && kept.valueStart >= 0 ? parseHostIp(uri.text.slice(kept.valueStart, kept.valueEnd)) : null;
  if (phone) {
    target = phone; // a URI we gave out for a LAN phone (the remote target of a dialog, a registration)
  } else if (keptAddr) {
    target = { ...keptAddr, port: portOf(uri.text, uri.u) ?? 5060 }; // a public party we wrote as our address (;sp64h=)
  } else if (!routed && reg?.enabled && user && (reg.isOurDomain(host) || forUs)) {
    // Our registrar's user, at its most recent binding.
    const b = reg.contactOf(`${user}@${forUs ? reg.domains[0] : host}`);
    if (!b) throw reg.knows(user) ? new SipError(480, 'not-registered', 'Temporarily Unavailable') : new SipError(404, 'no-such-user', 'Not Found');
    ({ newRuri, target } = bindingTarget(eng, b.contact));
  } else if (!routed && forUs && user) {
    // Outbound-proxy operation: the phone that registered elsewhere through us, by user part.
    const b = reg?.learnedOf(user) ?? null;
    if (!b) throw new SipError(404, 'no-registration', 'Not Found (no phone registered through this proxy)');
    ({ newRuri, target } = bindingTarget(eng, b.contact));
  } else if (from === 'lan' && !forUs) {
    target = targetOfHost(eng, uri.text, uri.u, nat.outbound.family);
  }
  if (!target || nat.realmOf(target.addr) || eng.map.isOurs(target.addr)) throw new SipError(403, 'not-a-relay', 'Forbidden (no phone or route for this destination)');
  const to = nat.realmOfTarget(target);
  const O = nat.addrOf(to);
  if (O.family !== target.family) throw new SipError(403, 'no-address-in-family', `Forbidden (no IPv${target.family} address on the ${to === 'lan' ? 'LAN' : 'public'} side)`);
  if (from === 'wan' && to === 'wan') throw new SipError(403, 'not-a-relay', 'Forbidden (public to public)');
  const tr = nat.translator(from, to, (a) => eng.map.isOurs(a));
  return {
    type: 'forward',
    target,
    O,
    ctx: { text, map: tr, out: O.family, edits, hook: tr.hook },
    media: natMedia(nat, callId, from, to, from === 'lan' ? src : target),
    newRuri: newRuri === pre.newRuri ? null : newRuri,
    ruriHost: null,
    viaReceived: false,
    generic: false,
  };
}

/** Where a response to a LAN or public party goes and how it is written. */
export function natResponsePlan(eng: Engine, from: Realm, src: HostPort, dest: HostPort, callId: string): { to: Realm; O: Addr; media: MediaPlan | null; tr: ReturnType<Nat['translator']> } | null {
  const nat = eng.nat as Nat;
  const to = nat.realmOfTarget(dest);
  const O = nat.addrOf(to);
  if (O.family !== dest.family) return null;
  return { to, O, media: natMedia(nat, callId, from, to, from === 'lan' ? src : dest), tr: nat.translator(from, to, (a) => eng.map.isOurs(a)) };
}
