// Requests: RFC 3261 16.3-16.6 and 16.11 (stateless proxy), SPEC section 3.
import { hash } from 'node:crypto';
import { HostPort, parseHostPort, uriHost } from '../net/addr.js';
import { SipError, bad } from '../sip/errors.js';
import { Header, SipMessage, splitList, unfold } from '../sip/message.js';
import { findUri, parseUri, UriParts, param } from '../sip/uri.js';
import { receivedAddr, topVia, Via, viaParam } from '../sip/via.js';
import { callIdOf, cseqOf, fixContentLength, tagOf, rewriteHeaders, rewriteMessageBody, SdpExhausted } from './common.js';
import type { Engine } from './engine.js';
import { Edits } from './splice.js';
import { portFor, rrTransport, Transport, transportFor, VIA_NAME } from './transport.js';
import { MAX_STREAMS_PER_CALL } from '../media/table.js';
import { Action } from './types.js';
import { hostIp, isOwnEntry, OWN_PARAM, rewriteUri, rewriteUriText } from './uris.js';
import { addressPlan, Prepared } from './plan.js';
import { natPlan } from '../nat/plan.js';
import { natBranch } from '../nat/nat.js';

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);
/** The largest UDP payload over IPv4 (65535 - 8 - 20). */
export const MAX_UDP = 65507;
export const MAX_VIA = 70;
const ONCE = new Set(['Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length', 'From', 'To']);
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

interface RouteEl {
  readonly h: Header;
  readonly s: number;
  readonly e: number;
  readonly us: number;
  readonly ue: number;
  readonly u: UriParts | null;
}

/** Validate the parts every request needs (RFC 3261 8.1.1, 8.2.2); throws 400/416. */
function checkRequest(m: SipMessage): { via: Via; callId: string; cseq: { num: string; method: string }; ruri: UriParts | null } {
  const via = topVia(m);
  if (!via) throw bad('bad-via', 'Bad Request (Via)');
  const callId = callIdOf(m);
  if (!callId) throw bad('missing-call-id', 'Bad Request (Call-ID)');
  const cseq = cseqOf(m);
  if (!cseq) throw bad('bad-cseq', 'Bad Request (CSeq)');
  if (cseq.method !== m.method) throw bad('cseq-method-mismatch', 'Bad Request (CSeq method)');
  // Single-value headers must appear once (RFC 3261 7.3.1; RFC 4475 multi01, mcl01).
  const seen = new Map<string, Header>();
  for (const h of m.headers) {
    const n = h.def.name;
    if (!ONCE.has(n)) continue;
    if (seen.has(n)) throw n === 'From' || n === 'To' ? bad(`bad-${n.toLowerCase()}`, `Bad Request (${n})`) : bad(`duplicate-${n.toLowerCase()}`, `Bad Request (more than one ${n})`);
    seen.set(n, h);
  }
  for (const name of ['From', 'To']) {
    const h = seen.get(name);
    if (!h) throw bad(`bad-${name.toLowerCase()}`, `Bad Request (${name})`);
    const list = splitList(m.text, h.valueStart, h.valueEnd);
    if (list.length !== 1 || !findUri(m.text, list[0][0], list[0][1])) throw bad(`bad-${name.toLowerCase()}`, `Bad Request (${name})`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(m.text.slice(m.uriStart, m.uriEnd))?.[1].toLowerCase();
  if (!scheme) throw bad('bad-request-uri');
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') throw new SipError(416, 'unsupported-uri-scheme');
  let ruri: UriParts | null = null;
  if (scheme !== 'tel') {
    ruri = parseUri(m.text, m.uriStart, m.uriEnd);
    if (!ruri) throw bad('bad-request-uri');
    const host = m.text.slice(ruri.hostStart, ruri.hostEnd);
    if (!hostIp(m.text, ruri.hostStart, ruri.hostEnd) && (host.startsWith('[') || /^[\d.]+$/.test(host) || !HOSTNAME.test(host))) {
      throw bad('bad-request-uri-host', 'Bad Request (Request-URI host)');
    }
    const after = ruri.portStart >= 0 ? ruri.portEnd : ruri.hostEnd;
    if ((ruri.portStart >= 0 && (ruri.portEnd === ruri.portStart || Number(m.text.slice(ruri.portStart, ruri.portEnd)) > 65535)) ||
        (after < m.uriEnd && !';?'.includes(m.text[after]))) {
      throw bad('bad-request-uri-port', 'Bad Request (Request-URI port)');
    }
  }
  return { via, callId, cseq, ruri };
}

/** Stateless branch (RFC 3261 16.11): the same for retransmissions, CANCEL and non-2xx ACK. */
function branchOf(m: SipMessage, via: Via, callId: string, cseqNum: string, src: HostPort): string {
  const b = viaParam(via, 'branch')?.value;
  const key = b && b.startsWith('z9hG4bK') ? b : m.text.slice(via.start, via.end);
  return 'z9hG4bK64' + hash('md5', `${key}\n${callId}\n${cseqNum}\n${src.addr}:${src.port}`, 'hex').slice(0, 20);
}

/** received= and rport= on the top Via (RFC 3261 18.2.1, RFC 3581 4). */
function stampVia(via: Via, src: HostPort, edits: Edits, stream: boolean): void {
  const rport = viaParam(via, 'rport');
  if (rport && rport.value === null) edits.replace(rport.start, rport.end, `;rport=${src.port}`);
  // Over TCP the response must come back on this connection (RFC 3261 18.2.2): the
  // stateless proxy names it in the Via, so the source port is stamped even unasked.
  else if (!rport && stream) edits.insert(via.end, `;rport=${src.port}`);
  if ((rport || stream || via.hostAddr?.addr !== src.addr) && !viaParam(via, 'received')) edits.insert(via.end, `;received=${src.addr}`);
}

function routeElements(m: SipMessage): RouteEl[] {
  const out: RouteEl[] = [];
  for (const h of m.headers) {
    if (h.def.name !== 'Route') continue;
    for (const [s, e] of splitList(m.text, h.valueStart, h.valueEnd)) {
      const span = findUri(m.text, s, e);
      if (!span) throw bad('bad-route', 'Bad Request (Route)');
      out.push({ h, s, e, us: span.start, ue: span.end, u: parseUri(m.text, span.start, span.end) });
    }
  }
  return out;
}

export function handleRequest(eng: Engine, m: SipMessage, src: HostPort, local: HostPort, inT: Transport = 'udp'): Action[] {
  const map = eng.map;
  const text = m.text;
  const { via, callId, cseq, ruri } = checkRequest(m);
  // A path this long is a loop or an attack (limit documented in sipproxy64(8)).
  let vias = 0;
  for (const h of m.headers) if (h.def.kind === 'via') vias += splitList(text, h.valueStart, h.valueEnd).length;
  if (vias > MAX_VIA) throw new SipError(483, 'too-many-via', 'Too Many Hops (Via)');
  const edits = new Edits();
  const skip = new Set<Header>();

  // RFC 3261 16.3 step 4: we support no extension a Proxy-Require could name.
  const pr = m.headers.filter((h) => h.def.name === 'Proxy-Require');
  if (pr.length > 0 && m.method !== 'ACK' && m.method !== 'CANCEL') {
    const tags = pr.flatMap((h) => splitList(text, h.valueStart, h.valueEnd).map(([a, b]) => unfold(text.slice(a, b))));
    throw new SipError(420, 'proxy-require', 'Bad Extension', `Unsupported: ${tags.join(', ')}\r\n`);
  }

  // RFC 3261 16.6 step 3: Max-Forwards (483 at zero; added as 70 when absent).
  const mf = m.headers.find((h) => h.def.kind === 'maxfwd');
  if (mf) {
    skip.add(mf);
    const v = unfold(text.slice(mf.valueStart, mf.valueEnd));
    if (!/^\d{1,10}$/.test(v) || Number(v) > 255) throw bad('bad-max-forwards', 'Bad Request (Max-Forwards)');
    if (Number(v) === 0) throw new SipError(483, 'max-forwards-zero');
    edits.replace(mf.valueStart, mf.valueEnd, String(Number(v) - 1));
  } else edits.insert(m.headersEnd, 'Max-Forwards: 70\r\n');

  // RFC 3261 16.4: route information preprocessing.
  const routes = routeElements(m);
  const removed = new Set<RouteEl>();
  let newRuri: string | null = null;
  if (ruri && routes.length > 0 && isOwnEntry(text, ruri, map)) {
    // Strict-routing previous hop: the last Route value becomes the Request-URI.
    const last = routes[routes.length - 1];
    newRuri = text.slice(last.us, last.ue);
    removed.add(last);
  }
  let received: { hp: HostPort; text: string; u: UriParts } | null = null;
  for (const r of routes) {
    if (removed.has(r) || removed.size >= 2 + (newRuri ? 1 : 0) || !r.u || !isOwnEntry(text, r.u, map, true)) break;
    removed.add(r); // ours, and the second of our double Record-Route pair (RFC 5658)
    const rec = param(r.u, 'received');
    const mac = param(r.u, OWN_PARAM);
    // received= names the generic party on the incoming side of the dialog's first request;
    // it is the target only for requests that come from the other family (SPEC 4), and only
    // with our MAC over it: a stranger cannot forge a Route that makes us relay (SPEC 2).
    const recText = rec && rec.valueStart >= 0 ? text.slice(rec.valueStart, rec.valueEnd) : null;
    const hp = recText ? parseHostPort(recText, 5060) : null;
    const macOk = recText !== null && mac !== undefined && mac.valueStart >= 0 && text.slice(mac.valueStart, mac.valueEnd) === eng.receivedMac(recText);
    if (hp && hp.family !== src.family && macOk) received = { hp, text, u: r.u };
    else if (hp) eng.count('forged-received');
  }
  for (const r of routes) skip.add(r.h);

  // SPEC 3 step 4: the target; step 5: the outgoing address O and how to write addresses.
  const remaining = routes.filter((r) => !removed.has(r));
  const pre: Prepared = { remaining, received, newRuri, ruri };
  const realm = eng.nat?.realmOf(local.addr) ?? null;
  const plan = realm ? natPlan(eng, m, src, local, inT, realm, pre, callId, edits) : addressPlan(eng, m, src, local, pre, callId, edits);
  if (plan.type === 'answer') return [plan.action];
  let target = plan.target;
  const O = plan.O;
  const ctx = plan.ctx;
  if (plan.newRuri !== null) newRuri = plan.newRuri;

  // Request-URI (RFC 3261 16.6 step 2 leaves it; SPEC 4 maps its IP literal).
  if (newRuri) edits.replace(m.uriStart, m.uriEnd, rewriteUriText(newRuri, ctx.map, ctx.out, ctx.hook));
  else if (ruri && plan.ruriHost) edits.replace(ruri.hostStart, ruri.hostEnd, plan.ruriHost);
  else if (ruri) rewriteUri(ctx, m.uriStart, m.uriEnd, true);

  // Route: drop our own entries, map the rest.
  for (const r of routes) if (!removed.has(r)) rewriteUri(ctx, r.us, r.ue, true);
  deleteRoutes(routes, removed, edits);

  stampVia(via, src, edits, inT !== 'udp');
  rewriteHeaders(eng, ctx, m, skip);

  // RFC 3261 16.6 step 8 + SPEC 3 step 6: our Via on top.
  const firstVia = m.headers.find((h) => h.def.kind === 'via') as Header;
  const targetUri = remaining.length > 0 ? { text, u: remaining[0].u } : plan.viaReceived && received ? received : newRuri ? { text: newRuri, u: parseUri(newRuri, 0, newRuri.length) } : { text, u: ruri };
  const outT = transportFor(targetUri.text, targetUri.u, text.length + 300, eng.cfg, map.byReal(target.addr)?.transport ?? null);
  // RFC 3261 19.1.2 / RFC 3263 4.2: without a port, TLS goes to 5061.
  if (outT === 'tls' && !(targetUri.u && targetUri.u.portStart >= 0) && !map.byReal(target.addr)?.realPort && target.port === 5060) {
    target = { ...target, port: 5061 };
  }
  const port = portFor(outT, eng.cfg);
  const inPort = portFor(inT, eng.cfg);
  const branch = realm ? natBranch((v) => eng.receivedMac(v), via, callId, cseq.num, receivedAddr(via)?.addr ?? src.addr) : branchOf(m, via, callId, cseq.num, src);
  edits.insert(firstVia.start, `Via: SIP/2.0/${VIA_NAME[outT]} ${uriHost(O)}:${port};branch=${branch};rport\r\n`);

  // RFC 3261 16.6 step 4 + RFC 5658: double Record-Route on dialog-creating requests.
  const toH = m.headers.find((h) => h.def.name === 'To') as Header;
  const hasToTag = /;\s*tag\s*=/i.test(text.slice(toH.valueStart, toH.valueEnd).replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/<[^>]*>/g, ''));
  if (DIALOG_CREATING.has(m.method) && !hasToTag) {
    const firstRR = m.headers.find((h) => h.def.name === 'Record-Route');
    const generic = plan.generic;
    const recValue = `${uriHost(src)}:${src.port}`;
    const inSide = generic ? `${OWN_PARAM}=${eng.receivedMac(recValue)};received=${recValue}` : OWN_PARAM;
    const outRR = `Record-Route: <sip:${uriHost(O)}:${port}${rrTransport(outT)};lr;${OWN_PARAM}>\r\n`;
    const inRR = `Record-Route: <sip:${uriHost(local)}:${inPort}${rrTransport(inT)};lr;${inSide}>\r\n`;
    // RFC 5658 4: one entry when the request leaves by the interface it came in on (a hairpin).
    edits.insert(firstRR ? firstRR.start : firstVia.start, outRR === inRR ? inRR : outRR + inRR);
  }

  // SDP (SPEC 5) and Content-Length.
  let delta: number;
  try {
    delta = rewriteMessageBody(eng, m, edits, plan.media, src);
  } catch (err) {
    if (err instanceof SdpExhausted) {
      // The answer is a refusal: nothing this offer allocated may stay (an established
      // call keeps its streams; the re-offer just fails).
      if (plan.media && !eng.media.isEstablished(plan.media.key)) eng.media.release(plan.media.key, 'refused');
      throw err.message === 'too-many-streams'
        ? new SipError(503, 'too-many-streams', `Service Unavailable (more than ${MAX_STREAMS_PER_CALL} media streams in one call)`)
        : new SipError(503, 'rtp-ports-exhausted', 'Service Unavailable (no media relay ports)');
    }
    throw err;
  }
  fixContentLength(m, edits, delta);

  // SPEC 6: media life.
  const key = plan.media?.key ?? callId;
  if (m.method === 'CANCEL' && !eng.media.isEstablished(key)) eng.media.release(key, 'cancel');
  else if (m.method === 'BYE') {
    // A forked call may see a 2xx from several callees; the caller hangs up the extra ones.
    // Only the BYE of the dialog that holds the media releases it.
    const held = eng.media.dialogTag(key);
    if (!held || held === tagOf(m, 'To') || held === tagOf(m, 'From')) eng.media.release(key, 'bye');
  }
  else if (m.method === 'ACK' && delta !== 0) eng.media.markEstablished(key);

  const data = edits.apply(text, m.bodyEnd);
  // RFC 3261 18.1.1: too large for UDP; without TCP towards the target the answer is 513.
  if (outT === 'udp' && data.length > MAX_UDP) throw new SipError(513, 'too-large-after-rewrite');
  return [{ type: 'send', from: { addr: O.addr, family: O.family, port }, to: target, data, transport: outT }];
}

/** Delete removed Route elements: runs of them per header, or the whole line if none is left. */
function deleteRoutes(routes: RouteEl[], removed: Set<RouteEl>, edits: Edits): void {
  const byHeader = new Map<Header, RouteEl[]>();
  for (const r of routes) byHeader.set(r.h, [...(byHeader.get(r.h) ?? []), r]);
  for (const [h, els] of byHeader) {
    if (els.every((r) => removed.has(r))) {
      edits.delete(h.start, h.end);
      continue;
    }
    for (let i = 0; i < els.length; i++) {
      if (!removed.has(els[i])) continue;
      let j = i;
      while (j + 1 < els.length && removed.has(els[j + 1])) j++;
      if (j + 1 < els.length) edits.delete(els[i].s, els[j + 1].s);
      else edits.delete(els[i - 1].e, els[j].e);
      i = j;
    }
  }
}
