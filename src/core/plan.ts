// The address model's planner (SPEC 2, 3 steps 4-5): faces, mapped parties, uplinks and
// generic parties. Other modes (masquerading) implement the same Planner interface.
import { Addr, Family, HostPort, other, uriHost, withPort } from '../net/addr.js';
import { refuse } from '../sip/errors.js';
import { R } from '../sip/reasons.js';
import { hostIp, parseUri, targetPortOf, UriParts } from '../sip/uri.js';
import { familyMedia } from './media.js';
import { Mapping } from './mapping.js';
import { Plan, Planner, PlanRequest, PlanResponse, ProxyContext, Writing } from './types.js';
import { KEEP_PARAM, keptPort } from './uris.js';

/** Where a URI leads: a face, a mapped real address, or a configured uplink name. */
export function targetOfUri(map: Mapping, text: string, u: UriParts, prefer: Family): HostPort | null {
  const port = targetPortOf(text, u);
  const a = hostIp(text, u.hostStart, u.hostEnd);
  if (!a) {
    const t = map.targetOfName(text.slice(u.hostStart, u.hostEnd), port, prefer);
    if (t === 'unresolved') throw refuse(R.uplinkUnresolved);
    return t;
  }
  // A face on sip-port with the party's own port kept in ;sp64p= (uris.ts PORT_PARAM): the
  // face on sip-port names the party (the kept port may be another's port face), at that port.
  const kept = u.params.length > 0 && map.isOurs(a.addr) ? keptPort(text, u) : null;
  if (!kept) return map.targetOfIp(a, port);
  const t = map.targetOfIp(a, map.cfg.sipPort);
  return t && withPort(t, kept.port);
}

/** Our two SIP addresses on a leg, in and out, in one order (a port face's port too): see MediaTable.legKey. */
function legId(map: Mapping, local: HostPort, outAddr: Addr, outPort: number | undefined): string {
  const a = map.isFacePort(local.port) ? `${uriHost(local)}:${local.port}` : local.addr;
  const b = outPort ? `${uriHost(outAddr)}:${outPort}` : outAddr.addr;
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

export class AddressPlanner implements Planner {
  readonly addresses = [];
  readonly markers = [];

  serves(): boolean {
    return true;
  }

  preloaded(): boolean {
    return false;
  }

  isParty(): boolean {
    return false; // the engine asks the mapping itself
  }

  /** SPEC 3 step 4: the target; step 5: the outgoing address and how addresses are written. */
  request(ctx: ProxyContext, r: PlanRequest): Plan {
    const { map } = ctx;
    const { m, src, local, routing } = r;
    const text = m.text;
    const prefer = other(src.family);
    let target: HostPort | null = null;
    let viaReceived = false;
    if (routing.remaining.length > 0) {
      const u = routing.remaining[0].uri;
      target = u ? targetOfUri(map, text, u, prefer) : null;
    } else if (routing.received) {
      target = routing.received.hp;
      viaReceived = true;
    } else if (routing.newRuri) {
      const u = parseUri(routing.newRuri, 0, routing.newRuri.length);
      target = u ? targetOfUri(map, routing.newRuri, u, prefer) : null;
    } else if (routing.ruri) {
      target = targetOfUri(map, text, routing.ruri, prefer);
    }
    if (!target) {
      // Traffic that arrives on a face is meant for the party behind it (SPEC 2).
      const face = map.byFace(local.addr, local.port);
      const real = face ? map.realAddr(face) : null;
      // A port face's own port says which party, not the party's port (5060 unless its line says).
      if (face && real) target = withPort(real, face.realPort ?? (face.name ? map.uplinkPort(face) : face.facePort ? 5060 : local.port));
      else if (face) throw refuse(R.uplinkUnresolved);
    }
    if (!target || ctx.ours.isOurs(target.addr)) throw refuse(R.notARelay);
    const out = target.family;
    let ruriHost: string | null = null;
    const ruri = routing.ruri;
    if (!routing.newRuri && ruri && viaReceived && routing.received) {
      const ra = hostIp(text, ruri.hostStart, ruri.hostEnd);
      const kept = ruri.params.some((p) => p.name === KEEP_PARAM);
      if (ra && map.isGeneric(ra.addr) && !kept) ruriHost = uriHost(routing.received.hp); // back to the generic party
    }
    const outAddr = map.representative(src, out);
    const outPort = map.facePortOf(src, out);
    return {
      type: 'forward',
      target,
      outAddr,
      outPort,
      tr: map,
      media: familyMedia(ctx, r.callId, src, out, legId(map, local, outAddr, outPort), m),
      newRuri: null,
      ruriHost,
      viaReceived,
      generic: !map.byReal(src.addr),
    };
  }

  /** The responder is represented by its face or the generic address in the next Via's family. */
  response(ctx: ProxyContext, r: PlanResponse): Writing {
    const out = r.dest.family;
    const outAddr = ctx.map.representative(r.src, out);
    const outPort = ctx.map.facePortOf(r.src, out);
    return { outAddr, outPort, tr: ctx.map, media: familyMedia(ctx, r.callId, r.src, out, legId(ctx.map, r.local, outAddr, outPort), r.m) };
  }
}
