// Rewrite steps for URI-carrying headers (SPEC section 4): IP-literal hosts, maddr= and
// received= map to their counterpart in the outgoing family; names and all else are kept.
import { Addr, Family, HostPort, isPort, parseHostIp, parseIp, uriHost } from '../net/addr.js';
import { decimalAt } from '../net/strings.js';
import { Edits } from '../sip/edits.js';
import { refuse } from '../sip/errors.js';
import { Header, SipMessage, splitList } from '../sip/message.js';
import { R } from '../sip/reasons.js';
import { findUri, hostIp, param, parseUri, portOf, UriParam, UriParts } from '../sip/uri.js';
import type { Ours } from './types.js';

/** How addresses are written for one direction: the address model (Mapping) or a mode's own. */
export interface Translator {
  translate(a: Addr, port: number | null, out: Family): { host: string; port: number | null };
  isGeneric(a: string): boolean; // an address that stands for unmapped parties
  hasFace(a: string): boolean; //   a party's real address with a face in the other family (map line, nat64)
  ownPort?(a: Addr, port: number): number | null; // sip-port when the party at `a` is not reached on `port` there (PORT_PARAM); absent: ports kept as written
}

/** A step that may take over a URI's host and port; true when it did (masquerading tokens). */
export type UriHook = (c: RewriteCtx, u: UriParts, a: Addr, port: number | null, restorable: boolean) => boolean;

export interface RewriteCtx {
  readonly text: string;
  readonly tr: Translator;
  readonly out: Family;
  readonly edits: Edits;
  readonly ours: Ours;
  readonly hook?: UriHook;
  readonly uriHeaders?: readonly string[]; // uri-header NAME: headers the table leaves alone that carry URIs
  readonly budget: { uris: number }; //       URIs this message may still have rewritten (MAX_URIS)
  readonly flow?: Flow | null; //                the TCP or TLS connection the message came on
  readonly src?: HostPort; //                     where the message came from
}

/** A party's connection to us: its address and port, and its transport. */
export interface Flow {
  readonly hp: HostPort;
  readonly transport: string;
}

/** The connection a message came on from `src`, or null over UDP (RewriteCtx.flow). */
export function flowOf(src: HostPort, transport: string): Flow | null {
  return transport === 'udp' ? null : { hp: src, transport };
}

/** SPEC 11: URIs rewritten in one message at most; each costs a parse of its parameters. */
export const MAX_URIS = 128;

/** The URI parameter that marks our own Record-Route entries. */
export const OWN_PARAM = 'sp64';

/**
 * One of our own Record-Route/Route entries (RFC 3261 16.4): our address, no user part and
 * our marker. A foreign entry mapped onto one of our faces has no marker, so it is mapped back.
 * `preloaded`: a Route a phone put there for its outbound proxy (RFC 3261 8.1.2) names an
 * address a mode lets phones preload, without our marker; it stands for nothing else: ours.
 */
export function isOwnEntry(text: string, u: UriParts, ours: Ours, preloaded = false): boolean {
  if (u.hasUser) return false;
  const a = hostIp(text, u.hostStart, u.hostEnd);
  if (a === null) return false;
  if (u.params.some((p) => p.name === OWN_PARAM)) return ours.isOurs(a.addr);
  // A foreign entry written onto our address carries its own in a marker (;sp64h=...): not ours.
  if (u.params.some((p) => ours.markers.has(p.name))) return false;
  return preloaded && ours.preloaded(a.addr);
}

/**
 * Map a parameter value that holds a host and maybe a port (maddr=, received=,
 * icid-generated-at=, ccf=...). IPv6 comes out as a bracketed reference (RFC 3261 25.1).
 */
function rewriteHostValue(c: RewriteCtx, s: number, e: number): void {
  if (e <= s) return;
  const v = c.text.slice(s, e);
  let hostEnd = e;
  let a: Addr | null;
  if (v.startsWith('[')) {
    hostEnd = s + v.indexOf(']') + 1;
    a = hostEnd > s ? hostIp(c.text, s, hostEnd) : null;
  } else {
    a = parseIp(v); // a bare IPv4, or an unbracketed IPv6 some stacks write
    if (!a) {
      const colon = v.lastIndexOf(':');
      if (colon > 0 && /^\d{1,5}$/.test(v.slice(colon + 1))) {
        hostEnd = s + colon;
        a = hostIp(c.text, s, hostEnd);
      }
    }
  }
  if (!a) return;
  const t = c.tr.translate(a, null, c.out);
  if (t.host !== uriHost(a)) c.edits.replace(s, hostEnd, t.host); // the same address stays as written
}

/** URI parameter that keeps an unmapped party's own address when the generic one replaces it. */
export const KEEP_PARAM = 'sp64h';

/**
 * URI parameter that carries a party's transport= while its URI names our address: there,
 * transport= would name the far side's hop to us (RFC 3261 19.1.5), which UDP always serves.
 */
export const TRANSPORT_PARAM = 'sp64t';

/**
 * A party's routing URI now names our address: its transport= becomes ;sp64t= (RFC 3261
 * 19.1.5). The sender's own URI, come over TCP or TLS, also names the port of that
 * connection (;sp64t=tcp-39302), so that requests back reach it there first (RFC 5626 5.3:
 * a phone behind a firewall or without a TLS server certificate takes no new connection).
 */
export function keepTransport(c: RewriteCtx, u: UriParts, a: Addr): void {
  const t = param(u, 'transport');
  if (!t || param(u, TRANSPORT_PARAM)) return;
  c.edits.replace(t.start + 1, t.start + 10, TRANSPORT_PARAM); // ";transport"
  const f = c.flow;
  if (f && f.hp.addr === a.addr && t.valueStart >= 0 && c.text.slice(t.valueStart, t.valueEnd).toLowerCase() === f.transport) c.edits.insert(t.valueEnd, `-${f.hp.port}`);
}

/** Our address back to the party's: ;sp64t= is its transport= again (without the flow), and a transport= for the hop to us goes. */
export function restoreTransport(c: RewriteCtx, u: UriParts): void {
  const k = param(u, TRANSPORT_PARAM);
  if (!k) return;
  const t = param(u, 'transport');
  if (t) c.edits.delete(t.start, t.end);
  c.edits.replace(k.start + 1, k.start + 1 + TRANSPORT_PARAM.length, 'transport');
  const dash = k.valueStart >= 0 ? c.text.indexOf('-', k.valueStart) : -1;
  if (dash >= 0 && dash < k.valueEnd) c.edits.delete(dash, k.valueEnd);
}

/**
 * URI parameter that keeps a party's port while its URI names our face or generic address
 * on sip-port: those serve no other port, and a registrar sends to a Contact's port as
 * written (a softphone on a port of its own, a TLS phone's 5061).
 */
export const PORT_PARAM = 'sp64p';

/** ;sp64p=PORT of a URI we wrote, when it reads as a port (the port a request to it goes to). */
export function keptPort(text: string, u: UriParts): { p: UriParam; port: number } | null {
  const p = param(u, PORT_PARAM);
  if (!p || p.valueStart < 0) return null;
  const port = decimalAt(text, p.valueStart, p.valueEnd, 5);
  return isPort(port) ? { p, port } : null;
}

/** Write `port` as the URI's port (u's own port replaced, or one added after its host). */
function setPort(c: RewriteCtx, u: UriParts, port: number | null): void {
  if (u.portStart >= 0) c.edits.replace(u.portStart - 1, u.portEnd, port === null ? '' : ':' + port);
  else if (port !== null) c.edits.insert(u.hostEnd, ':' + port);
}

/**
 * Rewrite the URI at [s, e): host, port, maddr= and received=. Returns the parsed URI.
 * `restorable` (routing URIs: Request-URI, Contact, Route-like headers): an unmapped address
 * replaced by the generic one is kept in ;sp64h= and put back when the URI comes back, so
 * remote targets behind other proxies stay reachable (RFC 3261 12.1.1). It is never used
 * to choose where a request goes. `parsed`: parseUri(c.text, s, e), null too, when the caller has it.
 */
export function rewriteUri(c: RewriteCtx, s: number, e: number, restorable = false, parsed?: UriParts | null): UriParts | null {
  if (--c.budget.uris < 0) throw refuse(R.tooManyUris);
  const u = parsed === undefined ? parseUri(c.text, s, e) : parsed;
  if (!u) return null;
  const a = hostIp(c.text, u.hostStart, u.hostEnd);
  if (a && c.hook?.(c, u, a, portOf(c.text, u), restorable)) {
    /* taken over by the hook */
  } else if (a) {
    const port = portOf(c.text, u);
    const ours = a.family !== c.out && c.ours.isOurs(a.addr); // our face or generic address, back to a party
    const back = restorable && ours && u.params.length > 0 ? keptPort(c.text, u) : null; // its ;sp64p=
    const kept = param(u, KEEP_PARAM);
    const orig = kept && kept.valueStart >= 0 ? parseHostIp(c.text.slice(kept.valueStart, kept.valueEnd)) : null;
    if (kept && orig && orig.family === c.out && c.tr.isGeneric(a.addr)) {
      c.edits.replace(u.hostStart, u.hostEnd, uriHost(orig)); // back to the party's own address
      c.edits.delete(kept.start, kept.end);
      if (back) {
        setPort(c, u, back.port);
        c.edits.delete(back.p.start, back.p.end);
      }
    } else {
      const t = c.tr.translate(a, port, c.out);
      // Only what the proxy writes itself is in RFC 5952 form: the same address stays as
      // written (2001:db8::192.0.2.1 is not made 2001:db8::c000:201).
      if (t.host !== uriHost(a)) c.edits.replace(u.hostStart, u.hostEnd, t.host);
      // A party's port our face does not serve: sip-port, the party's in ;sp64p= (PORT_PARAM).
      const toUs = restorable && a.family !== c.out && !ours;
      const own = toUs && u.scheme === 'sip' && t.port !== null && t.port === port && c.tr.ownPort && !param(u, PORT_PARAM) ? c.tr.ownPort(a, t.port) : null;
      const restored = t.port === port ? back : null; // (a port face's line chose its own)
      const written = own ?? restored?.port ?? t.port;
      if (written !== port) setPort(c, u, written);
      if (restored) c.edits.delete(restored.p.start, restored.p.end);
      const lossy = a.family !== c.out && !ours && !c.tr.hasFace(a.addr);
      if (restorable && lossy && !kept) c.edits.insert(u.portStart >= 0 ? u.portEnd : u.hostEnd, `;${KEEP_PARAM}=${uriHost(a)}`);
      if (own !== null) c.edits.insert(u.portStart >= 0 ? u.portEnd : u.hostEnd, `;${PORT_PARAM}=${t.port}`);
    }
    if (restorable && a.family !== c.out && u.params.length > 0) {
      if (ours) restoreTransport(c, u); // RFC 3261 19.1.5
      else keepTransport(c, u, a);
    }
  }
  for (const p of u.params) {
    if ((p.name === 'maddr' || p.name === 'received') && p.valueStart >= 0) rewriteHostValue(c, p.valueStart, p.valueEnd);
  }
  return u;
}

/** Headers whose URIs are remote targets or routes: their unmapped hosts are kept restorable. */
const ROUTING = new Set(['Contact', 'Route', 'Record-Route', 'Path', 'Service-Route']);

/** Each element of a name-addr / addr-spec list (Contact, From, To, Route, ...). */
export function rewriteUriHeader(c: RewriteCtx, h: Header, skipOwn: boolean): void {
  const restorable = ROUTING.has(h.def.name);
  for (const [s, e] of splitList(c.text, h.valueStart, h.valueEnd)) {
    const span = findUri(c.text, s, e);
    if (!span) continue;
    const u = skipOwn ? parseUri(c.text, span.start, span.end) : undefined;
    if (u && isOwnEntry(c.text, u, c.ours)) continue;
    // An addr-spec without <> cannot take a URI parameter (RFC 3261 20.10).
    rewriteUri(c, span.start, span.end, restorable && span.angle, u);
  }
}

/** warning-value = warn-code SP warn-agent SP warn-text (RFC 3261 20.43); Laes-sig (RFC 5503). */
export function rewriteHostportHeader(c: RewriteCtx, h: Header): void {
  for (const [s, e] of splitList(c.text, h.valueStart, h.valueEnd)) {
    let hs = s;
    if (h.def.name === 'Warning') {
      const m = /^\d{3}[ \t]+/.exec(c.text.slice(s, e));
      if (!m) continue;
      hs = s + m[0].length;
    }
    let he = hs;
    if (c.text.charCodeAt(hs) === 91) he = c.text.indexOf(']', hs) + 1;
    else while (he < e && !' \t:;'.includes(c.text[he])) he++;
    if (he <= hs) continue;
    const a = hostIp(c.text, hs, he);
    if (!a) continue;
    const t = c.tr.translate(a, null, c.out);
    c.edits.replace(hs, he, t.host);
  }
}

const HOST_PARAMS = new Set(['icid-generated-at', 'ccf', 'ecf']);

/** Parameters whose value is a host (RFC 7315 4.6, 4.5). */
export function rewriteHostParamHeader(c: RewriteCtx, h: Header): void {
  const v = c.text.slice(h.valueStart, h.valueEnd);
  const re = /(?:^|[;,])\s*([A-Za-z-]+)\s*=\s*("?)(\[[^\]]*\]|[^;,"\s]+)\2/g;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    if (!HOST_PARAMS.has(m[1].toLowerCase())) continue;
    const s = h.valueStart + m.index + m[0].length - m[2].length - m[3].length;
    rewriteHostValue(c, s, s + m[3].length);
  }
}

/** Rewrite a standalone URI string (used when the Request-URI is replaced). */
export function rewriteUriText(uri: string, c: Omit<RewriteCtx, 'text' | 'edits'>): string {
  const edits = new Edits();
  rewriteUri({ ...c, text: uri, edits }, 0, uri.length, true);
  return edits.apply(uri);
}

/** Rewrite every header by its kind in the table, except those in `skip` (SPEC 4). */
export function rewriteHeaders(c: RewriteCtx, m: SipMessage, skip: ReadonlySet<Header>, agent: string | null): void {
  const more = c.uriHeaders && c.uriHeaders.length > 0 ? c.uriHeaders : null;
  for (const h of m.headers) {
    if (skip.has(h)) continue;
    // uri-header NAME: an operator's vendor header carries URIs (only where no rule applies).
    const kind = more && h.def.kind === 'opaque' && more.includes(h.name.toLowerCase()) ? 'uri' : h.def.kind;
    switch (kind) {
      case 'uri': rewriteUriHeader(c, h, false); break; //            RFC 3261 20 (and extensions)
      case 'route': rewriteUriHeader(c, h, true); break; //           RFC 3261 16.4: our own entries stay
      case 'hostport': rewriteHostportHeader(c, h); break; //        RFC 3261 20.43 warn-agent
      case 'hostparam': rewriteHostParamHeader(c, h); break; //      RFC 7315 4.5, 4.6
      case 'agent': if (agent !== null) c.edits.replace(h.valueStart, h.valueEnd, agent); break; // SPEC 4
      default: break; // via, maxfwd, clen: handled by their steps; opaque and digest pass unchanged
    }
  }
}
