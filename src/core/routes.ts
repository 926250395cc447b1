// Route information preprocessing (RFC 3261 16.4) and our double Record-Route (RFC 3261
// 16.6 step 4, RFC 5658): which Route entries are ours, what they tell, and what we add.
import { HostPort, parseHostPort, uriHost } from '../net/addr.js';
import { Edits } from '../sip/edits.js';
import { refuse } from '../sip/errors.js';
import { hasTag } from '../sip/fields.js';
import { elementsOf, Header, SipMessage } from '../sip/message.js';
import { R } from '../sip/reasons.js';
import { checkRequestUriAt, findUri, param, parseUri, UriParts } from '../sip/uri.js';
import { MAX_VIA } from '../sip/via.js';
import { verifies } from './mac.js';
import { rrTransport, Transport } from './transport.js';
import { Forward, ProxyContext, Routing } from './types.js';
import { isOwnEntry, OWN_PARAM } from './uris.js';

/** One Route element: its header, its span, and its URI's span and parts. */
export interface RouteEl {
  readonly header: Header;
  readonly start: number;
  readonly end: number;
  readonly uriStart: number;
  readonly uriEnd: number;
  readonly uri: UriParts | null;
}

function routeElements(m: SipMessage): RouteEl[] {
  const out: RouteEl[] = [];
  for (const [header, start, end] of elementsOf(m, 'Route')) {
    if (out.length === MAX_VIA) throw refuse(R.tooManyUris); // SPEC 11: as many as Via values (each is parsed)
    const span = findUri(m.text, start, end);
    if (!span) throw refuse(R.badRoute);
    out.push({ header, start, end, uriStart: span.start, uriEnd: span.end, uri: parseUri(m.text, span.start, span.end) });
  }
  return out;
}

export interface Preprocessed {
  readonly routes: readonly RouteEl[];
  readonly removed: ReadonlySet<RouteEl>;
  readonly routing: Routing;
}

/** RFC 3261 16.4: remove our own entries (at most our double pair), and handle strict routing. */
export function preprocessRoutes(ctx: ProxyContext, m: SipMessage, ruri: UriParts | null, src: HostPort): Preprocessed {
  const text = m.text;
  const routes = routeElements(m);
  const removed = new Set<RouteEl>();
  let newRuri: string | null = null;
  if (ruri && routes.length > 0 && isOwnEntry(text, ruri, ctx.ours)) {
    // Strict-routing previous hop: the last Route value becomes the Request-URI.
    const last = routes[routes.length - 1];
    checkRequestUriAt(text, last.uriStart, last.uriEnd); // it must be one (RFC 3261 16.4)
    newRuri = text.slice(last.uriStart, last.uriEnd);
    removed.add(last);
  }
  let received: Routing['received'] = null;
  for (const r of routes) {
    if (removed.has(r) || removed.size >= 2 + (newRuri ? 1 : 0) || !r.uri || !isOwnEntry(text, r.uri, ctx.ours, true)) break;
    removed.add(r); // ours, and the second of our double Record-Route pair (RFC 5658)
    const hp = receivedOf(ctx, text, r.uri);
    // received= names the generic party on the incoming side of the dialog's first request;
    // it is the target only for requests that come from the other family (SPEC 4), and only
    // with our MAC over it: a stranger cannot forge a Route that makes us relay (SPEC 2).
    if (hp && hp !== 'forged' && hp.family !== src.family) received = { hp, uri: r.uri };
    else if (hp === 'forged') ctx.count('forged-received');
  }
  const remaining = routes.filter((r) => !removed.has(r));
  return { routes, removed, routing: { remaining, received, newRuri, ruri } };
}

/** The received= on our own Route entry, if its MAC is ours ('forged' if not). */
function receivedOf(ctx: ProxyContext, text: string, u: UriParts): HostPort | 'forged' | null {
  const rec = param(u, 'received');
  const recText = rec && rec.valueStart >= 0 ? text.slice(rec.valueStart, rec.valueEnd) : null;
  const hp = recText ? parseHostPort(recText, 5060) : null;
  if (!hp || recText === null) return null;
  const mac = param(u, OWN_PARAM);
  return mac !== undefined && mac.valueStart >= 0 && verifies(ctx.macs, recText, text.slice(mac.valueStart, mac.valueEnd)) ? hp : 'forged';
}

/** Delete removed Route elements: runs of them per header, or the whole line if none is left. */
export function deleteRoutes(p: Preprocessed, edits: Edits): void {
  const byHeader = new Map<Header, RouteEl[]>();
  for (const r of p.routes) {
    const els = byHeader.get(r.header);
    if (els) els.push(r);
    else byHeader.set(r.header, [r]);
  }
  for (const [h, els] of byHeader) {
    if (els.every((r) => p.removed.has(r))) {
      edits.delete(h.start, h.end);
      continue;
    }
    for (let i = 0; i < els.length; i++) {
      if (!p.removed.has(els[i])) continue;
      let j = i;
      while (j + 1 < els.length && p.removed.has(els[j + 1])) j++;
      if (j + 1 < els.length) edits.delete(els[i].start, els[j + 1].start);
      else edits.delete(els[i - 1].end, els[j].end);
      i = j;
    }
  }
}

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/** The two sides of our Record-Route: address, port and transport. */
export interface RouteSides {
  readonly out: { readonly host: string; readonly port: number; readonly transport: Transport };
  readonly in: { readonly host: string; readonly port: number; readonly transport: Transport };
}

/**
 * RFC 3261 16.6 step 4 + RFC 5658: double Record-Route on dialog-creating requests; the
 * incoming side names a generic party in a MACed received= so later requests find it.
 */
export function addRecordRoute(ctx: ProxyContext, m: SipMessage, plan: Forward, src: HostPort, sides: RouteSides, edits: Edits, at: number): void {
  const to = m.hot.to as Header; // checked (RFC 3261 8.1.1)
  if (!DIALOG_CREATING.has(m.method) || hasTag(m.text.slice(to.valueStart, to.valueEnd))) return;
  const firstRR = m.headers.find((h) => h.def.name === 'Record-Route');
  const recValue = `${uriHost(src)}:${src.port}`;
  const inSide = plan.generic ? `${OWN_PARAM}=${ctx.mac(recValue)};received=${recValue}` : OWN_PARAM;
  const outRR = `Record-Route: <sip:${sides.out.host}:${sides.out.port}${rrTransport(sides.out.transport)};lr;${OWN_PARAM}>\r\n`;
  const inRR = `Record-Route: <sip:${sides.in.host}:${sides.in.port}${rrTransport(sides.in.transport)};lr;${inSide}>\r\n`;
  // RFC 5658 4: one entry when the request leaves by the interface it came in on (a hairpin).
  edits.insert(firstRR ? firstRR.start : at, outRR === inRR ? inRR : outRR + inRR);
}
