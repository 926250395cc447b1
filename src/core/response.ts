// Responses: RFC 3261 16.7 steps 3-9 as a stateless proxy does them (16.11), SPEC section 3.
import { HostPort, withPort } from '../net/addr.js';
import { deleteElement, Edits } from '../sip/edits.js';
import { callIdOf, cseqOf, tagOf } from '../sip/fields.js';
import { hasLongHeader, Header, MAX_LINE, SipMessage } from '../sip/message.js';
import { R, Reason } from '../sip/reasons.js';
import { leadingVias, MAX_VIA, originAddr, Via, viaCount, viaDestination, viaNotUnicast, viaParam } from '../sip/via.js';
import { verifyBranch } from './branch.js';
import { fixContentLength, responseMediaLife, rewriteMessageBody } from './media.js';
import { ngStep, throughEngine } from './ng.js';
import { MAX_UDP, portFor, registrationLife, Transport, viaTransport } from './transport.js';
import { Action, drop, Planner, PlanResponse, ProxyContext, sendable } from './types.js';
import { flowOf, MAX_URIS, rewriteHeaders } from './uris.js';

export function handleResponse(ctx: ProxyContext, planner: Planner, m: SipMessage, src: HostPort, local: HostPort, inT: Transport = 'udp'): Action[] {
  const [top, next] = leadingVias(m, 2); // ours, and the one that says where the response goes
  // RFC 3261 16.7 step 3 / 18.1.2: a response whose top Via is not ours is not ours to send.
  if (!top || !top.hostAddr || !ctx.ours.isOurs(top.hostAddr.addr) || !ctx.map.listensOn(top.port ?? 5060)) return [drop(R.notOurVia)];
  if (!next) return [drop(planner.ownResponse?.(m, top) ? R.keepaliveAnswered : R.noNextVia)];
  const dest = viaDestination(next);
  if (!dest) return [drop(viaNotUnicast(next) ? R.viaNotUnicast : R.viaNotIp)];
  const callId = callIdOf(m);
  const cseq = cseqOf(m);
  if (!callId || !cseq) return [drop(R.badResponseHeaders)];
  // RFC 3261 16.3 applies to responses too: a path this long is a loop or an attack.
  if (viaCount(m) > MAX_VIA) return [drop(R.tooManyVia)];
  // SPEC 11: only a response to a request we sent, returning to the hop it came from.
  if (!verifyBranch(ctx.macs, top, next, dest, callId, cseq)) return [drop(R.forgedResponse)];
  if (!sendable(ctx, dest.addr)) return [drop(R.forbiddenDestination)]; // never to ourselves or special addresses
  const res: PlanResponse = { m, src, local, top, next, dest, callId, cseq };
  const plan = planner.response(ctx, res); //                         the mode: verify, and how to write
  if ('code' in plan) return [drop(plan)];

  const edits = new Edits();
  deleteElement(m, edits, top.header, top.start, top.end); //         RFC 3261 16.7 step 3: pop our Via
  const rw = { text: m.text, tr: plan.tr, out: dest.family, edits, ours: ctx.ours, hook: plan.hook, uriHeaders: ctx.cfg.uriHeaders, budget: { uris: MAX_URIS }, flow: flowOf(src, inT), src };
  rewriteHeaders(rw, m, new Set<Header>([top.header]), ctx.cfg.keepUserAgent ? null : ctx.product); // SPEC 4
  const key = plan.media?.key ?? callId;
  const held = ctx.media.dialogTag(key);
  // A late offer here is answered by the UAC: from the hop this goes to, or its own (bottom) Via's address.
  const answerers = (): string[] => [dest.addr, originAddr(m) ?? dest.addr];
  // RFC 3261 16.7: a final response ends its branch; a fork's others may still be answered.
  const branch = viaParam(top, 'branch')?.value ?? '';
  if (plan.media && cseq.method === 'INVITE' && m.status < 200) ctx.forks.heard(key, branch); // RFC 3261 9.1: it may be CANCELled
  const last = !plan.media || cseq.method !== 'INVITE' || m.status < 200 || ctx.forks.end(key, branch);
  const ng = ctx.ng ? ngStep(ctx.ng, m, plan.media, src, cseq.method, null, answerers, last) : null; // media-engine rtpengine
  if (ng !== null && 'code' in ng) return [drop(ng)];
  const mark = ctx.media.mark(); //                                  SPEC 11: a dropped response keeps no stream it made
  const toTag = tagOf(m, 'To');
  const dialog = !ng && cseq.method === 'INVITE' && toTag ? { tag: toTag, final: m.status >= 200 && m.status < 300 } : undefined; // RFC 3261 16.7: whose answer
  const writes = ctx.media.writes;
  const delta = ng ? 0 : rewriteMessageBody(ctx, m, edits, plan.media, src, held !== null && held !== toTag, answerers, dialog); // SPEC 5
  if (typeof delta !== 'number') return undone(ctx, key, mark, delta);
  fixContentLength(m, edits, delta); //                               RFC 3261 20.14
  const data = edits.apply(m.text, m.bodyEnd);
  const transport = viaTransport(next, ctx.cfg); //                   RFC 3261 18.2.2
  if (transport === 'udp' && data.length > MAX_UDP) return undone(ctx, key, mark, R.tooLargeAfterRewrite);
  if (data.length - (m.bodyEnd - m.bodyStart + delta) > MAX_LINE && hasLongHeader(data)) return undone(ctx, key, mark, R.headerTooLongAfterRewrite); // no next hop would read it
  if (!ng) responseMediaLife(ctx, m, cseq.method, key, ctx.media.writes !== writes, src, toTag, last, dest); // SPEC 6: its SDP was read (not: its length changed)
  const from = withPort(plan.outAddr, plan.outPort ?? portFor(transport, ctx.cfg));
  const registered = transport !== 'udp' && cseq.method === 'REGISTER' && m.status >= 200 && m.status < 300;
  const reopen = transport === 'udp' ? undefined : sentBy(next, dest, transport);
  const send: Action = registered // RFC 5626 5.3: the phone is called on the connection it registered on
    ? { type: 'send', from, to: dest, data, transport, reopen, registration: registrationLife(data, dest.addr) }
    : { type: 'send', from, to: dest, data, transport, reopen };
  return ng ? throughEngine(ng, key, [send], dest, () => [drop(R.mediaEngineDown)]) : [send];
}

/**
 * RFC 3261 18.2.2: over TCP or TLS, when the request's connection has closed, a new one goes
 * to received= (dest's address) and the sent-by port, or the transport's default port.
 */
function sentBy(v: Via, dest: HostPort, transport: Transport): HostPort | undefined {
  const port = v.port ?? (transport === 'tls' ? 5061 : 5060);
  return port === dest.port ? undefined : withPort(dest, port);
}

/** A response dropped after its SDP was read: the streams it made go (its call keeps the rest). */
function undone(ctx: ProxyContext, key: string, mark: number, why: Reason): Action[] {
  ctx.media.undo(key, mark, 'refused');
  return [drop(why)];
}
