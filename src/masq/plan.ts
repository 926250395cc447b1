// Masquerading: where a request that arrived on the inbound or outbound address goes, and
// how it is written (sipproxy64(8) MASQUERADING). Not an open relay: the public side reaches
// only phones (by ;sp64n=, by registration); the LAN may call anywhere.
import type { OutboundProxy } from '../config/config.js';
import { localReply } from '../core/reply.js';
import { Forward, MediaPlan, Plan, PlanRequest, ProxyContext, Writing } from '../core/types.js';
import { MAX_REGISTRATION_LIFE, registrationLife, transportParam } from '../core/transport.js';
import { KEEP_PARAM, keptPort } from '../core/uris.js';
import { Addr, Family, HostPort, parseHostIp, withPort } from '../net/addr.js';
import { refuse } from '../sip/errors.js';
import { R, Reason } from '../sip/reasons.js';
import { param, parseUri, UriParts, userOf, hostIp, targetPortOf } from '../sip/uri.js';
import { Binding, sourceOf } from './bindings.js';
import { NameCache, Service } from './names.js';
import { Nat, Realm } from './nat.js';
import { Registrar } from './registrar.js';

/** What masquerading keeps: the realms, the registrar and its tables, the names phones send to. */
export interface MasqState {
  readonly nat: Nat;
  readonly registrar: Registrar;
  readonly names: NameCache;
  readonly defaultTarget: string | null; // default-target URI
  readonly outboundProxies: readonly OutboundProxy[]; // outbound-proxy DOMAIN HOST[:PORT]
}

type NeedName = { readonly type: 'resolve'; readonly name: string; readonly family: Family; readonly service: Service };

/** The transport a URI asks for, as the SRV service its host is looked up for (RFC 3263 4.2; RFC 3261 19.1.2: sips is TLS). */
function serviceOf(text: string, u: UriParts): Service {
  const t = u.scheme === 'sips' ? 'tls' : transportParam(text, u);
  return t === 'tls' || t === 'tcp' ? t : 'udp';
}

/** Relay plan between the realms; media of one LAN phone's leg is keyed by its address. */
export function natMedia(nat: Nat, callId: string, from: Realm, to: Realm, lan: Addr, wan: Family): MediaPlan | null {
  if (from === to) return null; // within one realm the parties reach each other directly
  // The LAN's phones are this gateway's own: quotas for strangers and proof of media
  // addresses apply to the public side, on our public address of the far party's family.
  return { key: `${callId} ${lan.addr}`, side: from === 'lan' ? 4 : 6, media: nat.writtenOf(to, wan), addrs: [nat.inbound, nat.addrOf('wan', wan)], trusted: from === 'lan' };
}

/** A URI's target when it names a host: a literal, or a name from the cache (resolved first if not yet). */
function targetOfHost(st: MasqState, text: string, u: UriParts, family: Family, service = serviceOf(text, u)): HostPort | NeedName {
  const port = targetPortOf(text, u);
  const a = hostIp(text, u.hostStart, u.hostEnd);
  if (a) return withPort(a, port ?? 5060);
  const name = text.slice(u.hostStart, u.hostEnd).toLowerCase().replace(/\.$/, '');
  // A dual-stack line: the primary outbound's family first, then the other one's.
  const families: Family[] = st.nat.outbound2 ? [family, st.nat.outbound2.family === family ? st.nat.outbound.family : st.nat.outbound2.family] : [family];
  for (const f of families) {
    const r = st.names.get(name, f, service);
    if (r === undefined) return { type: 'resolve', name, family: f, service };
    if (r !== null) return withPort(r.addr, port ?? r.port ?? 5060);
  }
  throw refuse(R.nameUnresolved, `Service Unavailable (cannot resolve ${name})`);
}

/**
 * default-target (siproxd's plugin_defaulttarget): an incoming call from the public side
 * that no registration matches goes to that URI (a reception phone, a PBX) instead of its
 * 404/480; anything else gets the refusal.
 */
function fallback(st: MasqState, r: PlanRequest, from: Realm, reason: Reason): string {
  if (!st.defaultTarget || from !== 'wan' || r.m.method !== 'INVITE') throw refuse(reason);
  return st.defaultTarget;
}

/**
 * RFC 3261 16.5: a registered phone: the Request-URI becomes its contact, the target its host.
 * A phone that registered from the public side behind a NAT of its own (its Contact names
 * another address than the one its REGISTER came from) is reached where the REGISTER came
 * from (Kamailio nathelper's received; the binding keepalive keeps that open); over TCP or
 * TLS, on the connection it registered on (RFC 5626 5.3's flow, without its reg-id).
 */
function bindingTarget(st: MasqState, contact: string, binding?: Binding): { newRuri: string; target: HostPort | NeedName } {
  const cu = parseUri(contact, 0, contact.length);
  if (!cu) throw refuse(R.badBinding);
  // Over TCP or TLS only when the Contact asks for that transport: then its connection.
  const src = binding ? sourceOf(binding) : null;
  const from = src && (src.transport === 'udp' || src.transport === (contact.startsWith('sips:') ? 'tls' : transportParam(contact, cu))) ? src.hp : null;
  const host = hostIp(contact, cu.hostStart, cu.hostEnd);
  if (from && !st.nat.isLan(from) && host?.addr !== from.addr) return { newRuri: contact, target: from };
  return { newRuri: contact, target: targetOfHost(st, contact, cu, st.nat.inbound.family) };
}

export function natPlan(ctx: ProxyContext, st: MasqState, r: PlanRequest, from: Realm): Plan {
  const { nat, registrar: reg } = st;
  const { m, src, local, routing } = r;
  const text = m.text;
  const ruri = routing.ruri;
  const routed = routing.remaining.length > 0;
  const ruriHost = ruri ? text.slice(ruri.hostStart, ruri.hostEnd).toLowerCase() : '';
  const ruriIp = ruri ? hostIp(text, ruri.hostStart, ruri.hostEnd) : null;
  const toUs = ruriIp !== null && nat.realmOf(ruriIp.addr) !== null;
  // RFC 3261 10.3: a REGISTER for our domain is ours to answer.
  if (m.method === 'REGISTER' && !routed && reg.enabled && (reg.isOurDomain(ruriHost) || toUs)) {
    const { extra, lasts } = reg.register(m, src, r.transport, r.callId, Number(r.cseq.num));
    const ok = localReply(text, 200, 'OK', R.registered, src, local, ctx.product, extra, r.transport);
    // RFC 5626 5.3: the phone is called on the connection it registered on while that lasts:
    // every binding it registered on it (Kamailio's tcp_persistent_flag), a phone behind a NAT
    // of its own too, whose Contact names another address than the connection's.
    if (ok.type !== 'send' || r.transport === 'udp') return { type: 'answer', action: ok };
    const life = registrationLife(ok.data, src.addr);
    return { type: 'answer', action: { ...ok, registration: { aor: life.aor, lasts: Math.min(Math.max(life.lasts, lasts), MAX_REGISTRATION_LIFE) } } };
  }
  let target: HostPort | NeedName | null = null;
  let newRuri: string | null = routing.newRuri;
  const uri = routed ? { text, u: routing.remaining[0].uri } : newRuri ? { text: newRuri, u: parseUri(newRuri, 0, newRuri.length) } : { text, u: ruri };
  if (!uri.u) throw refuse(R.notARelay, 'Forbidden (no route for this Request-URI)');
  const phone = nat.tokenOf(uri.text, uri.u);
  const user = userOf(uri.text, uri.u);
  const host = uri.text.slice(uri.u.hostStart, uri.u.hostEnd).toLowerCase();
  const ip = hostIp(uri.text, uri.u.hostStart, uri.u.hostEnd);
  const forUs = ip !== null && nat.realmOf(ip.addr) !== null;
  const kept = forUs && from === 'lan' ? param(uri.u, KEEP_PARAM) : undefined;
  const keptAddr = kept && kept.valueStart >= 0 ? parseHostIp(uri.text.slice(kept.valueStart, kept.valueEnd)) : null;
  const nated = from === 'lan' && !phone ? nat.natedOf(uri.text, uri.u) : null;
  if (phone) {
    target = phone; // a URI we gave out for a LAN phone (the remote target of a dialog, a registration)
  } else if (nated) {
    target = nated; // a public party behind a NAT of its own: where its message came from (nat.ts NATED_PARAM)
  } else if (keptAddr) {
    // A public party we wrote as our address (;sp64h=), at its own port (;sp64p=) when it is not sip-port.
    target = withPort(keptAddr, keptPort(uri.text, uri.u)?.port ?? targetPortOf(uri.text, uri.u) ?? 5060);
  } else if (!routed && reg.enabled && user && (reg.isOurDomain(host) || forUs)) {
    // Our registrar's user, at its most recent binding.
    const b = reg.contactOf(`${user}@${forUs ? reg.domains[0] : host}`);
    ({ newRuri, target } = b ? bindingTarget(st, b.contact, b) : bindingTarget(st, fallback(st, r, from, reg.knows(user) ? R.notRegistered : R.noSuchUser)));
  } else if (!routed && forUs && user) {
    // Outbound-proxy operation: the phone that registered elsewhere through us, by user part.
    const b = reg.learnedOf(user);
    ({ newRuri, target } = bindingTarget(st, b?.contact ?? fallback(st, r, from, R.noRegistration)));
  } else if (from === 'lan' && !forUs) {
    const via = routed ? undefined : st.outboundProxies.find((p) => p.domain === host.replace(/\.$/, ''));
    if (via) return viaProxy(ctx, st, r, via);
    target = targetOfHost(st, uri.text, uri.u, nat.outbound.family);
  } else if (!routed && forUs && !user && st.defaultTarget) {
    ({ newRuri, target } = bindingTarget(st, fallback(st, r, from, R.notARelay))); // a call to the public address itself
  }
  if (target && 'type' in target) return target;
  return forward(ctx, st, r, from, target, newRuri === routing.newRuri ? null : newRuri);
}

/**
 * outbound-proxy DOMAIN HOST[:PORT] (siproxd's outbound_domain_name/_host): a LAN request for
 * DOMAIN goes to HOST, which is pushed as the top Route (RFC 3261 16.6 step 6; it removes
 * itself, loose routing, and sends on by the Request-URI, which stays).
 */
function viaProxy(ctx: ProxyContext, st: MasqState, r: PlanRequest, p: OutboundProxy): Plan {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  const uri = `sip:${host}${p.port ? `:${p.port}` : ''};lr`;
  const u = parseUri(uri, 0, uri.length) as UriParts;
  // The proxy's SRV service is the request's transport (a sips: Request-URI goes on over TLS).
  const ruri = r.routing.ruri;
  const target = targetOfHost(st, uri, u, st.nat.outbound.family, ruri ? serviceOf(r.m.text, ruri) : 'udp');
  if ('type' in target) return target;
  return { ...forward(ctx, st, r, 'lan', target, null), pushRoute: uri };
}

/** The checks every masqueraded target passes, and how the request is written towards it. */
function forward(ctx: ProxyContext, st: MasqState, r: PlanRequest, from: Realm, target: HostPort | null, newRuri: string | null): Forward {
  const { nat } = st;
  if (!target || nat.realmOf(target.addr) || ctx.ours.isOurs(target.addr)) throw refuse(R.notARelay, 'Forbidden (no phone or route for this destination)');
  const to = nat.realmOfTarget(target);
  const outAddr = nat.addrOf(to, target.family);
  if (outAddr.family !== target.family) throw refuse(R.noAddressInFamily, `Forbidden (no IPv${target.family} address on the ${to === 'lan' ? 'LAN' : 'public'} side)`);
  if (from === 'wan' && to === 'wan') throw refuse(R.notARelay, 'Forbidden (public to public)');
  const tr = nat.translator(from, to);
  return {
    type: 'forward',
    target,
    outAddr,
    tr,
    hook: tr.hook,
    media: natMedia(nat, r.callId, from, to, from === 'lan' ? r.src : target, from === 'lan' ? target.family : r.src.family),
    newRuri,
    ruriHost: null,
    viaReceived: false,
    generic: false,
  };
}

/** Where a response to a LAN or public party goes and how it is written. */
export function natResponsePlan(nat: Nat, from: Realm, src: HostPort, dest: HostPort, callId: string): (Writing & { to: Realm }) | null {
  const to = nat.realmOfTarget(dest);
  const outAddr = nat.addrOf(to, dest.family);
  if (outAddr.family !== dest.family) return null;
  const tr = nat.translator(from, to);
  return { to, outAddr, tr, hook: tr.hook, media: natMedia(nat, callId, from, to, from === 'lan' ? src : dest, from === 'lan' ? dest.family : src.family) };
}
