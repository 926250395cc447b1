// Our Via branch (RFC 3261 16.11, 8.1.1.7; SPEC 3 step 6 and 11): stateless, so that
// retransmissions, a CANCEL and the ACK of a non-2xx get the branch of their INVITE, and
// keyed, so that it proves we sent the request: it binds the previous hop's branch and
// sent-by, the Call-ID, the CSeq number and the hop the response goes back to (address,
// port, transport). A response whose branch does not verify was not caused by us: it is a
// counted drop (forged-response), whatever the mode.
import type { HostPort } from '../net/addr.js';
import { cseqOf, tagOf, type CSeq } from '../sip/fields.js';
import type { SipMessage } from '../sip/message.js';
import { leadingVias, MAX_VIA, stampedDestination, Via, viaDestination, viaParam } from '../sip/via.js';

/** The magic cookie (RFC 3261 8.1.1.7) and our prefix. */
const PREFIX = 'z9hG4bK64';

/** The branch we write for a request whose previous hop's Via is `prev`, its response returning to `hop`. */
export function signed(mac: (v: string) => string, prev: Via, callId: string, cseqNum: string, hop: { addr: string; port: number }): string {
  const b = viaParam(prev, 'branch')?.value ?? '';
  return PREFIX + mac(`${b}\n${prev.host}:${prev.port ?? ''}\n${callId}\n${cseqNum}\n${hop.addr}:${hop.port}/${prev.transport}`);
}

/** The branch for a request arriving from `src` with top Via `via` (before it is stamped). */
export function branchFor(mac: (v: string) => string, via: Via, callId: string, cseq: CSeq, src: HostPort, stream: boolean): string | null {
  const hop = stampedDestination(via, src, stream);
  return hop ? signed(mac, via, callId, cseq.num, hop) : null;
}

/** Did we sign `top` for `hop`, where the next Via `next` sends the response (viaDestination)? */
export function verifyBranch(macs: ReadonlyArray<(v: string) => string>, top: Via, next: Via, hop: HostPort, callId: string, cseq: CSeq): boolean {
  const b = viaParam(top, 'branch')?.value;
  for (const mac of macs) if (b === signed(mac, next, callId, cseq.num, hop)) return true;
  return false;
}

/**
 * RFC 3261 16.3: is this request a spiral, the dialog-creating INVITE come back through us (a
 * call that leaves through a provider and returns, SPEC 6)? It has no To tag, and below its
 * top a Via we signed for its Call-ID and CSeq: a stranger who knows a live Call-ID has none.
 */
export function isSpiral(macs: ReadonlyArray<(v: string) => string>, m: SipMessage, callId: string): boolean {
  const cseq = m.isRequest && m.method === 'INVITE' && !tagOf(m, 'To') ? cseqOf(m) : null;
  if (!cseq) return false;
  const vias = leadingVias(m, MAX_VIA);
  for (let i = 1; i + 1 < vias.length; i++) {
    if (!viaParam(vias[i], 'branch')?.value?.startsWith(PREFIX)) continue;
    const hop = viaDestination(vias[i + 1]);
    if (hop && verifyBranch(macs, vias[i], vias[i + 1], hop, callId, cseq)) return true;
  }
  return false;
}
