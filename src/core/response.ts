// Responses: RFC 3261 16.7 steps 3-9 as a stateless proxy does them (16.11), SPEC section 3.
import { HostPort } from '../net/addr.js';
import { Header, SipMessage } from '../sip/message.js';
import { leadingVias, viaParam } from '../sip/via.js';
import { callIdOf, cseqOf, familyMedia, tagOf, deleteElement, fixContentLength, rewriteHeaders, rewriteMessageBody, SdpExhausted, viaDestination } from './common.js';
import { learnRegistration } from '../nat/learn.js';
import { natResponsePlan } from '../nat/plan.js';
import { natBranch } from '../nat/nat.js';
import type { Engine } from './engine.js';
import { MAX_UDP } from './request.js';
import { isOurPort, portFor, viaTransport } from './transport.js';
import { Edits } from './splice.js';
import { RewriteCtx } from './uris.js';
import { Action, drop } from './types.js';

export function handleResponse(eng: Engine, m: SipMessage, src: HostPort, local: HostPort): Action[] {
  const map = eng.map;
  const [top, next] = leadingVias(m, 2); // ours, and the one that says where the response goes
  // RFC 3261 16.7 step 3 / 18.1.2: a response whose top Via is not ours is not ours to send.
  if (!top || !top.hostAddr || !map.isOurs(top.hostAddr.addr) || !isOurPort(top.port ?? 5060, eng.cfg)) return [drop('not-our-via')];
  if (!next) return [drop('no-next-via')];
  const dest = viaDestination(next);
  if (!dest) return [drop('via-not-ip')];
  const callId = callIdOf(m);
  const cseq = cseqOf(m);
  if (!callId || !cseq) return [drop('bad-response-headers')];

  const out = dest.family;
  const edits = new Edits();
  const realm = eng.nat?.realmOf(local.addr) ?? null;
  let O = map.representative(src, out);
  let ctx: RewriteCtx = { text: m.text, map, out, edits };
  let mp = familyMedia(eng, callId, src, out);
  if (realm) {
    // Masquerading: only a response to a request we sent passes (our keyed branch).
    if (viaParam(top, 'branch')?.value !== natBranch((v) => eng.receivedMac(v), next, callId, cseq.num, dest.addr)) return [drop('forged-response')];
    // From the LAN or the public side, to the realm of the next Via.
    const p = natResponsePlan(eng, realm, src, dest, callId);
    if (!p) return [drop('no-address-in-family')];
    if (realm === 'wan' && p.to === 'lan' && cseq.method === 'REGISTER' && m.status >= 200 && m.status < 300) learnRegistration(eng, m, callId, Number(cseq.num));
    O = p.O;
    ctx = { text: m.text, map: p.tr, out, edits, hook: p.tr.hook };
    mp = p.media as typeof mp;
  }
  deleteElement(m, edits, top.header, top.start, top.end); // RFC 3261 16.7 step 3: pop our Via
  const skip = new Set<Header>([top.header]);
  rewriteHeaders(eng, ctx, m, skip);

  const key = mp?.key ?? callId;
  let delta: number;
  try {
    const held = eng.media.dialogTag(key);
    delta = rewriteMessageBody(eng, m, edits, mp, src, held !== null && held !== tagOf(m, 'To'));
  } catch (err) {
    if (err instanceof SdpExhausted) return [drop(err.message)];
    throw err;
  }
  fixContentLength(m, edits, delta);

  // SPEC 6: an answer in a 2xx completes the session; a final error to an unanswered INVITE releases it.
  if (cseq.method === 'INVITE') {
    if (m.status >= 200 && m.status < 300 && delta !== 0) eng.media.markEstablished(key, tagOf(m, 'To'));
    else if (m.status >= 300 && !eng.media.isEstablished(key)) eng.media.release(key, `status-${m.status}`);
  }
  const data = edits.apply(m.text, m.bodyEnd);
  const transport = viaTransport(next, eng.cfg);
  if (transport === 'udp' && data.length > MAX_UDP) return [drop('too-large-after-rewrite')];
  return [{ type: 'send', from: { addr: O.addr, family: O.family, port: portFor(transport, eng.cfg) }, to: dest, data, transport }];
}
