// media-engine rtpengine (sipproxy64(8) MEDIA ENGINE): each offer and answer goes to rtpengine
// through its ng protocol instead of RTPproxy64's table, and the SDP it returns is spliced
// into the message as it goes out (the headers stay ours, byte for byte). Pure: the core
// returns a 'media' action; the daemon asks the engine and calls then() with the answer.
import { HostPort } from '../net/addr.js';
import { detached } from '../net/strings.js';
import { tagOf } from '../sip/fields.js';
import { SipMessage } from '../sip/message.js';
import { R, Reason } from '../sip/reasons.js';
import { sdpSpans } from '../sdp/body.js';
import { declaredBody, malformedBody } from './media.js';
import { Action, MediaPlan, NgCommand } from './types.js';

const MAX_CALLS = 100_000;

/**
 * What this instance remembers of the calls it gave the engine (bounded): which began with a
 * late offer (an INVITE without SDP: the 2xx then carries the offer), and which are answered.
 * Another instance that shares the engine knows none of it and still works: a reply's SDP
 * is then taken as the answer, and only calls this instance saw are deleted on an error.
 */
export class NgCalls {
  private readonly calls = new Map<string, { late: boolean; established: boolean }>();

  private entry(key: string): { late: boolean; established: boolean } {
    let c = this.calls.get(key);
    if (!c) {
      if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value as string); // the oldest
      c = { late: false, established: false };
      this.calls.set(detached(key), c); // kept for the call: no INVITE with it (net/strings.ts)
    }
    return c;
  }

  invited(key: string, withSdp: boolean): void {
    const c = this.entry(key);
    if (!c.established) c.late = !withSdp;
  }

  isLate(key: string): boolean {
    return this.calls.get(key)?.late ?? false;
  }

  establish(key: string): void {
    this.entry(key).established = true;
  }

  /** A call this instance set up that is not answered yet: an error or CANCEL ends it. */
  isPending(key: string): boolean {
    const c = this.calls.get(key);
    return c !== undefined && !c.established;
  }

  forget(key: string): void {
    this.calls.delete(key);
  }

  get size(): number {
    return this.calls.size;
  }
}

/** What the engine is asked for one message: an ng command, and whether its SDP replaces the body. */
export interface NgStep {
  readonly cmd: NgCommand;
  readonly splice: boolean;
}

/**
 * The ng command for one message, RFC 3264's offer/answer seen statelessly: an INVITE or
 * UPDATE with SDP is an offer, an ACK or PRACK with SDP an answer; a reply with SDP is the
 * answer when its caller offered, else the offer (late offer, answered in the ACK). A BYE,
 * a CANCEL or a final error before the call is answered ends it: delete. Null: nothing to ask.
 */
export function ngStep(calls: NgCalls, m: SipMessage, plan: MediaPlan | null, src: HostPort, method: string): NgStep | Reason | null {
  if (!plan) return null;
  const key = plan.key;
  const fromTag = tagOf(m, 'From') ?? '';
  const del = (): NgStep => {
    calls.forget(key);
    return { cmd: { command: 'delete', 'call-id': key }, splice: false };
  };
  const isRequest = m.status === 0;
  if (isRequest && m.method === 'BYE') return del();
  if (isRequest && m.method === 'CANCEL' && calls.isPending(key)) return del();
  if (!isRequest && method === 'INVITE' && m.status >= 300 && calls.isPending(key)) return del();
  const body = declaredBody(m); // RFC 3261 20.15: what the engine reads is what the receiver reads
  if (body !== null && 'code' in body) return body;
  if (isRequest && m.method === 'INVITE') calls.invited(key, body?.type === 'application/sdp');
  if (body === null || (body.type !== 'application/sdp' && !body.type.startsWith('multipart/'))) return null;
  if (body.type !== 'application/sdp') { // multipart: the engine takes a body of SDP alone
    const spans = sdpSpans(m.text, m.bodyStart, m.bodyEnd, body.ctype);
    return typeof spans === 'string' ? malformedBody(spans) : spans.length > 0 ? R.mediaEngineBody : null;
  }
  let command: 'offer' | 'answer';
  if (isRequest) {
    if (m.method === 'INVITE' || m.method === 'UPDATE') command = 'offer';
    else if (m.method === 'ACK' || m.method === 'PRACK') command = 'answer';
    else return null;
  } else {
    if ((method !== 'INVITE' && method !== 'UPDATE') || m.status < 180 || m.status >= 300) return null;
    command = method === 'INVITE' && calls.isLate(key) ? 'offer' : 'answer';
  }
  const toTag = tagOf(m, 'To') ?? '';
  const lateOffer = command === 'offer' && !isRequest; // from the callee, in its reply
  const cmd: NgCommand = {
    command,
    'call-id': key,
    'from-tag': lateOffer ? toTag : fromTag,
    ...(lateOffer ? { 'to-tag': fromTag } : toTag ? { 'to-tag': toTag } : {}),
    sdp: m.text.slice(m.bodyStart, m.bodyEnd),
    // The SDP names the engine's address of the family it goes out in.
    'address family': plan.media.family === 6 ? 'IP6' : 'IP4',
    'received from': [src.family === 6 ? 'IP6' : 'IP4', src.addr],
    replace: ['origin', 'session-connection'],
    ICE: 'remove', // as RTPproxy64: candidates would lie once the engine is the only path (RFC 8839)
  };
  if (command === 'answer' && (isRequest ? m.method === 'ACK' : m.status >= 200)) calls.establish(key);
  return { cmd, splice: true };
}

/** Content-Length follows the engine's SDP (RFC 3261 20.14); the headers stay as written. */
export function spliceSdp(data: string, sdp: string): string {
  const h = data.indexOf('\r\n\r\n');
  if (h < 0) return data;
  const head = data.slice(0, h + 2).replace(/^(Content-Length|l)([ \t]*:[ \t]*)\d+/im, (_, n: string, sep: string) => `${n}${sep}${sdp.length}`);
  return `${head}\r\n${sdp}`;
}

/**
 * Wrap what a message becomes: the engine is asked first, its SDP replaces the body of each
 * send towards `to`; without an answer, `failed()` (a 503 to a request's sender, a counted
 * drop of a response). A delete goes beside the message, not before it.
 */
export function throughEngine(step: NgStep, key: string, actions: Action[], to: HostPort, failed: () => Action[]): Action[] {
  if (!step.splice) return [...actions, { type: 'media', key, ng: step.cmd }];
  const splice = (a: Action): Action => (a.type === 'send' && a.to.addr === to.addr && a.to.port === to.port ? { ...a, data: spliceSdp(a.data, sdp), ...(a.unreachable ? { unreachable: () => (a.unreachable as () => Action[])().map(splice) } : {}) } : a);
  let sdp = '';
  return [{ type: 'media', key, ng: step.cmd, then: (got) => {
    if (got === null) return failed();
    sdp = got;
    return actions.map(splice);
  } }];
}
