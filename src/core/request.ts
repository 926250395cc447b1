// Requests: RFC 3261 16.3-16.6 and 16.11 (stateless proxy), SPEC section 3. handleRequest is
// the list of steps; each step is a function of its own, citing its section.
import { Addr, HostPort, sourceOf, uriHost, withPort } from '../net/addr.js';
import { decimalAt } from '../net/strings.js';
import { Edits } from '../sip/edits.js';
import { refuse } from '../sip/errors.js';
import { cseqOf, CSeq, callIdOf, tagOf } from '../sip/fields.js';
import { hasComma, hasLongHeader, Header, MAX_HEADERS, MAX_LINE, SipMessage, splitList, unfold } from '../sip/message.js';
import { HOT_NAMES } from '../sip/headers.js';
import { R, Reason } from '../sip/reasons.js';
import { checkRequestUriAt, findUri, hostIp, param, parseUri, UriParts } from '../sip/uri.js';
import { MAX_VIA, stampVia, topVia, Via, viaCount } from '../sip/via.js';
import { branchFor } from './branch.js';
import { fixContentLength, releaseRefused, requestMediaLife, rewriteMessageBody, trustedSender } from './media.js';
import { ngStep, throughEngine } from './ng.js';
import { addRecordRoute, deleteRoutes, Preprocessed, preprocessRoutes } from './routes.js';
import { localReply } from './reply.js';
import { flowPort, MAX_UDP, portFor, RETRY_AFTER, Transport, transportFor, UDP_SIZE_LIMIT, VIA_NAME } from './transport.js';
import { Action, drop, Forward, Ours, Planner, PlanRequest, ProxyContext, sendable } from './types.js';
import { flowOf, isOwnEntry, MAX_URIS, RewriteCtx, TRANSPORT_PARAM, rewriteHeaders, rewriteUri, rewriteUriText } from './uris.js';

/** Single-value headers (RFC 3261 7.3.1), by the parser's bit for a hot header met twice (Content-Length: the parser's own refusal). */
const ONCE: ReadonlyArray<readonly [number, Reason]> = ([
  ['Call-ID', R.duplicateCallId], ['CSeq', R.duplicateCseq], ['Max-Forwards', R.duplicateMaxForwards], ['From', R.badFrom], ['To', R.badTo],
] as const).map(([name, why]) => [1 << HOT_NAMES.indexOf(name), why]);
/** How many bytes a stranger's request may grow by when rewritten (sipproxy64(8) SECURITY). */
export const GROWTH = 1024;

interface Checked {
  readonly via: Via;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly ruri: UriParts | null;
}

/** Process one request: answered here, a name to resolve first, or forwarded. */
export function handleRequest(ctx: ProxyContext, planner: Planner, m: SipMessage, src: HostPort, local: HostPort, inT: Transport, retry: () => Action[]): Action[] {
  const { via, callId, cseq, ruri } = checkRequest(m); //       RFC 3261 8.1.1, 16.3 steps 1-2
  checkHops(m); //                                               RFC 3261 16.3 (loops)
  checkProxyRequire(m); //                                       RFC 3261 16.3 step 4
  const edits = new Edits();
  const skip = new Set<Header>();
  decrementMaxForwards(m, edits, skip); //                       RFC 3261 16.6 step 3
  const pre = preprocessRoutes(ctx, m, ruri, src); //            RFC 3261 16.4
  for (const r of pre.routes) skip.add(r.header);
  const req: PlanRequest = { m, src, local, transport: inT, via, callId, cseq, routing: pre.routing };
  const plan = planner.request(ctx, req); //                     RFC 3261 16.5-16.6 (the mode decides)
  if (plan.type === 'answer') return [plan.action];
  if (plan.type === 'resolve') return [{ type: 'resolve', name: plan.name, family: plan.family, service: plan.service, retry }];
  const rw: RewriteCtx = { text: m.text, tr: plan.tr, out: plan.outAddr.family, edits, ours: ctx.ours, hook: plan.hook, uriHeaders: ctx.cfg.uriHeaders, budget: { uris: MAX_URIS }, flow: flowOf(src, inT), src };
  const ruriToUs = namesUs(ctx.ours, m.text, pre.routing.ruri); // its transport= was the hop to us
  const newRuri = rewriteRequestUri(rw, m, plan, pre, ruriToUs); // RFC 3261 16.6 step 2, SPEC 4
  rewriteRoutes(rw, pre); //                                     RFC 3261 16.4: ours go, the rest are mapped
  stampVia(via, src, edits, inT !== 'udp'); //                   RFC 3261 18.2.1, RFC 3581 4
  rewriteHeaders(rw, m, skip, ctx.cfg.keepUserAgent ? null : ctx.product); // SPEC 4
  const hop = nextHop(ctx, m, plan, pre, newRuri, ruriToUs); //  RFC 3261 18.1.1, RFC 3263 4.2
  if (!sendable(ctx, hop.target.addr)) throw refuse(R.forbiddenDestination); // SPEC 11
  const branch = branchFor(ctx.mac, via, callId, cseq, src, inT !== 'udp');
  if (!branch) throw refuse(R.badVia); //                        no address a response could return to
  if (plan.media && m.method === 'INVITE' && ctx.forks.gone(plan.media.key, branch)) return [drop(R.cancelledBranch)]; // RFC 3261 9.1
  const stranger = plan.media && !trustedSender(ctx, plan.media, src); // SPEC 11: its quota, as RTPproxy64's
  const last = m.method !== 'CANCEL' || !plan.media || ctx.forks.end(plan.media.key, branch, true); // RFC 3261 16.7: a fork's other branches ring on
  const ng = ctx.ng ? ngStep(ctx.ng, m, plan.media, src, m.method, stranger ? sourceOf(src.addr) : null, undefined, last) : null; // media-engine rtpengine
  if (ng !== null && 'code' in ng) throw refuse(ng);
  const mark = ctx.media.mark();
  const writes = ctx.media.writes;
  const delta = ng ? 0 : rewriteMessageBody(ctx, m, edits, plan.media, src); // SPEC 5
  if (typeof delta !== 'number') {
    if (plan.media) releaseRefused(ctx, plan.media.key, mark);
    throw refuse(delta);
  }
  fixContentLength(m, edits, delta); //                          RFC 3261 20.14
  if (!ng) requestMediaLife(ctx, m, plan.media?.key ?? callId, ctx.media.writes !== writes, src, !!stranger, last); // SPEC 6, 11: its SDP was read (not: its length changed)
  const out = writeOut(ctx, m, plan, edits, hop, branch, src, local, inT); // RFC 3261 16.6 steps 4 and 8, 18.1.1
  checkOutgoing(ctx, m, plan, pre, src, out, mark, m.bodyEnd - m.bodyStart + delta); //            SPEC 11 growth, RFC 3261 18.1.1 (513)
  if (plan.media && m.method === 'INVITE' && !tagOf(m, 'To')) ctx.forks.open(plan.media.key, branch, src.addr); // RFC 3261 16.7: a branch
  const from = withPort(plan.outAddr, plan.outPort ?? portFor(out.transport, ctx.cfg));
  const send = { type: 'send', from, to: hop.target, data: out.data, transport: out.transport, method: m.method } as const;
  const udp = out.udp === null || out.udp.length > MAX_UDP ? null : { ...send, data: out.udp, transport: 'udp' as const };
  const actions: Action[] = [out.transport === 'udp' ? send : { ...send, flow: hop.flow ?? undefined, unreachable: () => unreachable(ctx, m, src, local, inT, udp) }];
  return ng && plan.media ? throughEngine(ng, plan.media.key, actions, hop.target, () => engineDown(ctx, m, src, local, inT)) : actions;
}

/** No rtpengine answered: 503 to the sender (an ACK is never answered). */
function engineDown(ctx: ProxyContext, m: SipMessage, src: HostPort, local: HostPort, inT: Transport): Action[] {
  if (m.method === 'ACK' || !ctx.answerAllowed(src)) return [drop(R.mediaEngineDown)];
  ctx.count(`refuse:503 ${R.mediaEngineDown.code}`);
  return [localReply(m.text, 503, R.mediaEngineDown.phrase, R.mediaEngineDown, src, local, ctx.product, `Retry-After: ${RETRY_AFTER}\r\n`, inT)];
}

interface Written {
  readonly data: string;
  readonly transport: Transport;
  readonly udp: string | null; // the UDP form, when only the size chose TCP
}

/**
 * Our Via and Record-Route for the transport, then the bytes (RFC 3261 16.6 steps 4 and 8,
 * RFC 5658). RFC 3261 18.1.1: over 1300 bytes as it goes out, TCP, when TCP is on and
 * nothing else chose the transport; the UDP form is kept should TCP fail.
 */
function writeOut(ctx: ProxyContext, m: SipMessage, plan: Forward, edits: Edits, hop: { transport: Transport | 'size' }, branch: string, src: HostPort, local: HostPort, inT: Transport): Written {
  const firstVia = m.hot.via as Header;
  const mark = edits.size;
  const write = (t: Transport): string => {
    edits.rollback(mark);
    const port = plan.outPort ?? portFor(t, ctx.cfg); // a port face sends from its own port
    pushVia(edits, firstVia, t, ctx.map.written(plan.outAddr), port, branch);
    addRecordRoute(ctx, m, plan, src, {
      out: { host: uriHost(ctx.map.written(plan.outAddr)), port, transport: t }, // advertise: PUBLIC
      in: { host: uriHost(ctx.map.written(local)), port: ctx.map.isFacePort(local.port) ? local.port : portFor(inT, ctx.cfg), transport: inT },
    }, edits, firstVia.start);
    if (plan.pushRoute) edits.insert(firstVia.start, `Route: <${plan.pushRoute}>\r\n`); // RFC 3261 16.6 step 6
    return edits.apply(m.text, m.bodyEnd);
  };
  if (hop.transport !== 'size') return { data: write(hop.transport), transport: hop.transport, udp: null };
  const udp = write('udp');
  return udp.length > UDP_SIZE_LIMIT ? { data: write('tcp'), transport: 'tcp', udp } : { data: udp, transport: 'udp', udp: null };
}

/** What may not leave: too much growth for a stranger (SPEC 11), too large for UDP (513); nothing this offer allocated stays. */
function checkOutgoing(ctx: ProxyContext, m: SipMessage, plan: Forward, pre: Preprocessed, src: HostPort, out: Written, mark: number, body: number): void {
  // No amplification: a stranger's request outside a dialog we record-routed may grow by at
  // most GROWTH bytes (our Via and Record-Route, addresses in the other family).
  const tooMuch = out.data.length > m.text.length + GROWTH && pre.removed.size === 0 && !ctx.isParty(src);
  const tooLarge = out.transport === 'udp' && out.data.length > MAX_UDP;
  // Our Via, Record-Routes and a pushed Route may take a message of almost MAX_HEADERS past
  // it, and the next hop (another sipproxy64, Kamailio's own limit) would answer 400.
  const tooMany = m.headers.length > MAX_HEADERS - 4 && headerLines(out.data) > MAX_HEADERS;
  // No header is longer than the head: only a head past MAX_LINE is read again.
  const tooLong = out.data.length - body > MAX_LINE && hasLongHeader(out.data);
  if (!tooMuch && !tooLarge && !tooMany && !tooLong) return;
  if (plan.media) releaseRefused(ctx, plan.media.key, mark);
  throw refuse(tooMuch ? R.tooMuchGrowth : tooLarge ? R.tooLargeAfterRewrite : tooMany ? R.tooManyHeaders : R.headerTooLongAfterRewrite);
}

/** The header lines of a message, continuation lines not counted (RFC 3261 7.3.1). */
function headerLines(data: string): number {
  let n = 0;
  for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) {
    const c = data.charCodeAt(i + 1);
    if (c === 13 || c === 10 || Number.isNaN(c)) return n; // the empty line
    if (c !== 32 && c !== 9) n++;
  }
  return n;
}

/**
 * No connection to the next hop opened: the request's UDP form when only its size chose TCP
 * (RFC 3261 18.1.1 SHOULD), else 503 with a short Retry-After, so the phone learns at once.
 */
function unreachable(ctx: ProxyContext, m: SipMessage, src: HostPort, local: HostPort, inT: Transport, udp: Action | null): Action[] {
  if (udp) {
    ctx.count('tcp-fallback-udp');
    return [udp];
  }
  if (m.method === 'ACK') return [drop(R.nextHopUnreachable)];
  if (!ctx.answerAllowed(src)) return [drop(R.answerLimited)]; // no reflector of errors (SPEC 11)
  ctx.count(`refuse:503 ${R.nextHopUnreachable.code}`);
  return [localReply(m.text, 503, R.nextHopUnreachable.phrase, R.nextHopUnreachable, src, local, ctx.product, `Retry-After: ${RETRY_AFTER}\r\n`, inT)];
}

/** The reason for the first ONCE header the parser met twice (out of line: a loop in checkRequest cost 5% of a REGISTER). */
function onceRefusal(again: number): Reason | null {
  for (const [bit, why] of ONCE) if (again & bit) return why;
  return null; // Content-Type, Via: may repeat
}

/** Validate the parts every request needs (RFC 3261 8.1.1, 8.2.2); throws 400/416. */
function checkRequest(m: SipMessage): Checked {
  const via = topVia(m);
  if (!via) throw refuse(R.badVia);
  const callId = callIdOf(m);
  if (!callId) throw refuse(R.missingCallId);
  const cseq = cseqOf(m);
  if (!cseq) throw refuse(R.badCseq);
  if (cseq.method !== m.method) throw refuse(R.cseqMethodMismatch);
  // Single-value headers must appear once (RFC 3261 7.3.1; RFC 4475 multi01, mcl01).
  const twice = m.again === 0 ? null : onceRefusal(m.again);
  if (twice) throw refuse(twice);
  checkNameAddr(m, m.hot.from, R.badFrom);
  checkNameAddr(m, m.hot.to, R.badTo);
  return { via, callId, cseq, ruri: checkRequestUri(m) };
}

/** From and To: one name-addr or addr-spec each (RFC 3261 8.1.1.2-3). */
function checkNameAddr(m: SipMessage, h: Header | undefined, why: Reason): void {
  if (!h) throw refuse(why);
  // Without a comma the value is its one element (the parser trimmed it as splitList would).
  const list = hasComma(m.text, h.valueStart, h.valueEnd) ? splitList(m.text, h.valueStart, h.valueEnd) : null;
  const [s, e] = list === null ? [h.valueStart, h.valueEnd] : list.length === 1 ? list[0] : [0, 0];
  if (s >= e || !findUri(m.text, s, e)) throw refuse(why);
}

/** The Request-URI: sip, sips or tel (RFC 3261 16.3 step 2: 416 else), with a sound host and port. */
function checkRequestUri(m: SipMessage): UriParts | null {
  return checkRequestUriAt(m.text, m.uriStart, m.uriEnd);
}

/** A path this long is a loop or an attack (limit documented in sipproxy64(8)). */
function checkHops(m: SipMessage): void {
  if (viaCount(m) > MAX_VIA) throw refuse(R.tooManyVia);
}

/** RFC 3261 16.3 step 4: we support no extension a Proxy-Require could name. */
function checkProxyRequire(m: SipMessage): void {
  if (m.method === 'ACK' || m.method === 'CANCEL' || !m.headers.some((h) => h.def.name === 'Proxy-Require')) return; // no array a request
  const pr = m.headers.filter((h) => h.def.name === 'Proxy-Require');
  const tags = pr.flatMap((h) => splitList(m.text, h.valueStart, h.valueEnd).map(([a, b]) => unfold(m.text.slice(a, b))));
  throw refuse(R.proxyRequire, undefined, `Unsupported: ${tags.join(', ')}\r\n`);
}

/** RFC 3261 16.6 step 3: Max-Forwards (483 at zero; added as 70 when absent). */
function decrementMaxForwards(m: SipMessage, edits: Edits, skip: Set<Header>): void {
  const mf = m.hot.maxForwards;
  if (!mf) {
    edits.insert(m.headersEnd, 'Max-Forwards: 70\r\n');
    return;
  }
  skip.add(mf);
  const v = unfold(m.text.slice(mf.valueStart, mf.valueEnd));
  const n = decimalAt(v, 0, v.length, 10); // 1*DIGIT, at most ten
  if (!(n <= 255)) throw refuse(R.badMaxForwards); // NaN too
  if (n === 0) throw refuse(R.maxForwardsZero);
  edits.replace(mf.valueStart, mf.valueEnd, String(n - 1));
}

/** RFC 3261 16.6 step 2 leaves the Request-URI; SPEC 4 maps its IP literal. Returns a new one, if any. */
function rewriteRequestUri(rw: RewriteCtx, m: SipMessage, plan: Forward, pre: Preprocessed, ruriToUs: boolean): string | null {
  const newRuri = plan.newRuri ?? pre.routing.newRuri;
  const ruri = pre.routing.ruri;
  if (newRuri) rw.edits.replace(m.uriStart, m.uriEnd, rewriteUriText(newRuri, rw));
  else if (ruri && plan.ruriHost) rw.edits.replace(ruri.hostStart, ruri.hostEnd, plan.ruriHost);
  else if (ruri) rewriteUri(rw, m.uriStart, m.uriEnd, true, ruri); // (parsed by checkRequestUri)
  // RFC 3261 19.1.5: transport= on a URI that named our face described the phone's hop to
  // us, not the party's: it does not go on (a UDP-only registrar would take it as its own).
  // (With our ;sp64t= it is the party's again: rewriteUri puts that back.)
  const t = ruri && !newRuri && ruriToUs ? param(ruri, 'transport') : undefined;
  if (t && !param(ruri as UriParts, TRANSPORT_PARAM)) rw.edits.delete(t.start, t.end);
  return newRuri;
}

/** RFC 3261 16.4: our own Route entries go, the others are mapped. */
function rewriteRoutes(rw: RewriteCtx, pre: Preprocessed): void {
  // Our own entries further down stay as written (a call that comes back through us: SPEC 6).
  for (const r of pre.routes) if (!pre.removed.has(r) && !(r.uri && isOwnEntry(rw.text, r.uri, rw.ours))) rewriteUri(rw, r.uriStart, r.uriEnd, true);
  deleteRoutes(pre, rw.edits);
}

/** The transport and address of the next hop (RFC 3261 18.1.1; RFC 3263 4.2 for TLS's 5061). */
function nextHop(ctx: ProxyContext, m: SipMessage, plan: Forward, pre: Preprocessed, newRuri: string | null, ruriToUs: boolean): { target: HostPort; transport: Transport | 'size'; flow: number | null } {
  const { remaining, received } = pre.routing;
  const text = m.text;
  const towards = remaining.length > 0 ? { text, u: remaining[0].uri }
    : plan.viaReceived && received ? { text, u: received.uri }
      : newRuri ? { text: newRuri, u: parseUri(newRuri, 0, newRuri.length) } : { text, u: pre.routing.ruri };
  // A Request-URI that names our face: its transport= was the phone's hop to us, not the
  // party's (a Route entry mapped onto a face keeps its own: it came from the party's side).
  const entry = ctx.map.byReal(plan.target.addr);
  const transport = transportFor(towards.text, towards.u, ctx.cfg, entry?.transport ?? null, towards.u === pre.routing.ruri && ruriToUs);
  // RFC 3261 19.1.2 / RFC 3263 4.2: without a port, TLS goes to 5061.
  // RFC 5626 5.3: the party's own connection to us, named in ;sp64t= (uris.ts keepTransport).
  const flow = transport === 'tcp' || transport === 'tls' ? flowPort(towards.text, towards.u) : null;
  if (transport === 'tls' && !(towards.u && towards.u.portStart >= 0) && !entry?.realPort && plan.target.port === 5060) {
    return { target: withPort(plan.target, 5061), transport, flow };
  }
  return { target: plan.target, transport, flow };
}

/** Does a URI name one of our addresses? */
function namesUs(ours: Ours, text: string, u: UriParts | null): boolean {
  const ip = u ? hostIp(text, u.hostStart, u.hostEnd) : null;
  return ip !== null && ours.isOurs(ip.addr);
}

/** RFC 3261 16.6 step 8 + SPEC 3 step 6: our Via on top, with the mode's branch. */
function pushVia(edits: Edits, firstVia: Header, transport: Transport, at: Addr, port: number, branch: string): void {
  edits.insert(firstVia.start, `Via: SIP/2.0/${VIA_NAME[transport]} ${uriHost(at)}:${port};branch=${branch};rport\r\n`);
}
