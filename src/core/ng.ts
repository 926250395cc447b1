// media-engine rtpengine (sipproxy64(8) MEDIA ENGINE): each offer and answer goes to rtpengine
// through its ng protocol instead of RTPproxy64's table, and the SDP it returns is spliced
// into the message as it goes out (the headers stay ours, byte for byte). Pure: the core
// returns a 'media' action; the daemon asks the engine and calls then() with the answer.
import { HostPort } from '../net/addr.js';
import { detached } from '../net/strings.js';
import { tagOf } from '../sip/fields.js';
import { headEnd, SipMessage } from '../sip/message.js';
import { R, Reason } from '../sip/reasons.js';
import { sdpSpans } from '../sdp/body.js';
import { Legs } from '../media/legs.js';
import { sentBy } from '../media/table.js';
import { contactIp, declaredBody, malformedBody } from './media.js';
import { Action, MediaPlan, NgCommand } from './types.js';

const MAX_CALLS = 100_000;

interface NgCall {
  readonly key: string; // the Call-ID key, apart from the message's text (net/strings.ts)
  late: boolean;
  established: boolean;
  claimed: boolean; //     its first offer was seen: by a party, or by `owner`
  owner: string | null; // the stranger whose offer the engine holds ports for (SPEC 11 quotas)
  streams: number; //      its m= lines, counted against the owner's rtp-quota
  at: number; //           when its first offer was asked (ms)
  parties: Map<string, Party> | null; // each side (its tag): where its first SDP came from
  answerers: readonly string[] | null; // a late offer: where the UAC's answer may come from
  via: string | null; //   our two SIP addresses on the passage that offered it (SPEC 6)
}

/** Where a side's SDP came from over SIP, and the IP of that message's Contact; whether a stranger set it up. */
interface Party {
  readonly signal: string;
  readonly contact: string | undefined;
  readonly stranger: boolean;
}

/** Sides (tags) of a call whose party is remembered: a call forked wider is refused more; strangers set up half at most. */
const MAX_SIDES = 8;

/** Quotas of strangers' offers at the engine: rtp-quota a source, half the pool in all; how long one counts. */
export interface NgQuota {
  readonly perSource: number;
  readonly strangers: number;
  readonly lifeMs: number;
}

/**
 * What this instance remembers of the calls it gave the engine (bounded): which began with a
 * late offer (an INVITE without SDP: the 2xx then carries the offer), and which are answered.
 * Another instance that shares the engine knows none of it and still works: a reply's SDP
 * is then taken as the answer, and only calls this instance saw are deleted on an error.
 * SPEC 11: the streams a stranger's offers hold at the engine count against rtp-quota, as in
 * RTPproxy64's table: one not answered after rtp-timeout is deleted, an answered one counts
 * while the engine holds it (sweep()).
 */
export class NgCalls {
  private readonly calls = new Map<string, NgCall>();
  private readonly owned = new Map<string, NgCall>(); // strangers' calls that count, oldest first
  private readonly held = new Map<string, number>(); //  streams each stranger holds
  private readonly loose = new Map<string, NgCall>(); //  calls strangers' messages made that hold no quota, oldest first
  private readonly legs = new Legs((key) => this.calls.has(key)); // a call's later passages (SPEC 6)
  private strangers = 0;
  // What one message changes waits until it goes on (commit): a message refused or dropped
  // after its step was read changes nothing (SPEC 11: a stranger's refused BYE does not make
  // the proxy forget who set a call up, nor give its quota back).
  private pending: Array<() => void> = [];

  constructor(private readonly quota: NgQuota = { perSource: Infinity, strangers: Infinity, lifeMs: Infinity }, private readonly now: () => number = Date.now) {}

  /** The message's changes take effect: it goes on. */
  commit(): void {
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }

  /** The message's changes are forgotten: it was answered here or dropped. */
  discard(): void {
    this.pending = [];
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * The call's record, made if new. Bounded (SPEC 11): strangers' messages make at most half
   * of MAX_CALLS, and when all are taken the oldest of theirs goes first; so a stranger with
   * many sources pushes out no party's call (its late offer and its sides would be forgotten),
   * and none pushes out a call that holds a quota, whose streams the engine still holds.
   */
  private entry(key: string, stranger = false): NgCall {
    let c = this.calls.get(key);
    if (!c) {
      if (stranger && this.loose.size >= MAX_CALLS / 2) this.drop(first(this.loose));
      if (this.calls.size >= MAX_CALLS) this.drop(first(this.loose) ?? this.oldestUncounted());
      c = { key: detached(key), late: false, established: false, claimed: false, owner: null, streams: 0, at: 0, parties: null, answerers: null, via: null };
      this.calls.set(c.key, c); // kept for the call: no INVITE with it (net/strings.ts)
      if (stranger) this.loose.set(c.key, c);
    }
    return c;
  }

  /** The oldest call that holds no quota (those that do are bounded by the strangers' cap). */
  private oldestUncounted(): string | undefined {
    for (const c of this.calls.values()) if (c.owner === null) return c.key;
    return undefined;
  }

  invited(key: string, withSdp: boolean, stranger = false, via?: string): void {
    this.pending.push(() => {
      const c = this.entry(key, stranger);
      if (!c.established) c.late = !withSdp;
      if (via !== undefined) c.via ??= detached(via);
    });
  }

  /**
   * SPEC 6 at the engine: a call that leaves through the proxy and comes back (two IPv4
   * phones at an IPv6 registrar) is another call there, or the caller's second offer would
   * be refused (media-not-yours) or move the first passage's media. A passage is told apart
   * by our two SIP addresses on it (`via`); a new one begins only with a spiral (isSpiral),
   * so a stranger's INVITE stays in the call it names. At most three later passages.
   */
  legOf(callId: string, via: string | undefined, spiral: () => boolean): string {
    if (via === undefined) return callId;
    const key = this.legs.key(callId, via);
    const c = this.calls.get(callId);
    if (key !== callId || !c || c.via === null || c.via === via || !spiral()) return key;
    const next = this.legs.next(callId, via);
    if (!next) return callId;
    this.pending.push(next.add);
    return next.key;
  }

  /**
   * May `owner` (a stranger's source key; null: a configured party) offer `streams` streams
   * for call `key`? Its first offer says whose the call is; a stranger's counts once, with
   * the most streams it offered; an offer in another's call counts nothing (a side of its own).
   */
  admit(key: string, owner: string | null, streams: number): Reason | null {
    const c = this.calls.get(key);
    if (c?.claimed && (owner === null || c.owner !== owner)) return null; // another's call: a side of its own, nothing counted
    if (owner === null) {
      this.pending.push(() => void (this.entry(key).claimed = true)); // a party's call
      return null;
    }
    const more = Math.max(0, streams - (c?.streams ?? 0));
    if (more === 0) return null;
    if ((this.held.get(owner) ?? 0) + more > this.quota.perSource) return R.rtpSourceQuota;
    if (this.strangers + more > this.quota.strangers) return R.rtpStrangerQuota;
    this.pending.push(() => {
      const e = this.entry(key, true);
      e.claimed = true; // the call's first offer: a stranger's counts against its quota
      if (e.owner === null) {
        e.owner = detached(owner); // apart from the message (net/strings.ts)
        e.at = this.now();
        this.owned.set(e.key, e);
        this.loose.delete(e.key);
      }
      e.streams += more;
      this.held.set(e.owner, (this.held.get(e.owner) ?? 0) + more);
      this.strangers += more;
    });
    return null;
  }

  /**
   * May SDP of side `tag` (the sender's own tag) from `signal` go to the engine? The first
   * message of a side sets its party; later ones must come from its address or its Contact's,
   * as RTPproxy64's table asks (SPEC 11: a stranger who knows a live Call-ID moves no media).
   */
  mayChange(key: string, tag: string, signal: string, contact: string | undefined, stranger = false, peerTag?: string): boolean {
    const parties = this.calls.get(key)?.parties;
    const was = parties?.get(tag);
    if (was) return sentBy(was, signal);
    // SPEC 11: rtpengine pairs a new side with the side its to-tag names, and sends that side's
    // media to the new one: a stranger's new side may name only a side of its own.
    const peer = peerTag ? parties?.get(peerTag) : undefined;
    if (stranger && peer && !sentBy(peer, signal)) return false;
    // SPEC 11: a stranger who knows the Call-ID cannot take every side, and so refuse the callee's answer.
    if (parties && (parties.size >= MAX_SIDES || (stranger && count(parties.values(), (p) => p.stranger) >= MAX_SIDES / 2))) return false;
    this.pending.push(() => {
      const c = this.entry(key, stranger);
      c.parties ??= new Map();
      if (!c.parties.has(tag)) c.parties.set(detached(tag), { signal: detached(signal), contact: contact === undefined ? undefined : detached(contact), stranger });
    });
    return true;
  }

  /** Did SIP from `signal` set up a side of the call (its address, or its Contact's)? Unknown calls: no. */
  isPartyOf(key: string, signal: string): boolean {
    for (const p of this.calls.get(key)?.parties?.values() ?? []) if (sentBy(p, signal)) return true;
    return false;
  }

  /** The call no longer counts against its owner's quota. */
  private release(c: NgCall): void {
    if (c.owner === null) return;
    const left = (this.held.get(c.owner) ?? 0) - c.streams;
    if (left > 0) this.held.set(c.owner, left);
    else this.held.delete(c.owner);
    this.strangers -= c.streams;
    c.owner = null;
    c.streams = 0;
    this.owned.delete(c.key);
  }

  /**
   * Strangers' calls at rtp-timeout: one never answered is forgotten, returned in `gone` for
   * the daemon to delete at the engine (which keeps it while packets come); an answered one
   * goes on counting, and `ask` names it for the daemon to ask the engine (query) whether it
   * still holds it: engineHolds() hears the answer, and the next rtp-timeout asks again (SPEC 11).
   */
  sweep(): { gone: string[]; ask: string[] } {
    const now = this.now();
    const gone: string[] = [];
    const ask: NgCall[] = [];
    for (const [key, c] of this.owned) {
      if (now - c.at < this.quota.lifeMs) break; // oldest first
      if (c.established) {
        ask.push(c);
        continue;
      }
      this.drop(key);
      gone.push(key);
    }
    for (const c of ask) { // to the end: asked again after another rtp-timeout
      c.at = now;
      this.owned.delete(c.key);
      this.owned.set(c.key, c);
    }
    return { gone, ask: ask.map((c) => c.key) };
  }

  /** The engine's answer to a sweep's query: false, it no longer holds the call (its own timeout); null, no answer (the call goes on counting). */
  engineHolds(key: string, known: boolean | null): void {
    if (known === false && this.calls.get(key)?.owner) this.drop(key);
  }

  isLate(key: string): boolean {
    return this.calls.get(key)?.late ?? false;
  }

  /** A late offer went out in a response: its answer (the ACK, a PRACK) comes from the UAC, at one of `addrs`. */
  offeredLate(key: string, addrs: readonly string[]): void {
    this.pending.push(() => void (this.entry(key).answerers ??= addrs.map(detached)));
  }

  /** May a request from `signal` answer the call's late offer (RFC 3261 13.2.2.4)? Not yet answered, from the UAC. */
  answersLate(key: string, signal: string): boolean {
    const c = this.calls.get(key);
    return c !== undefined && c.late && !c.established && (c.answerers === null || c.answerers.includes(signal));
  }

  establish(key: string): void {
    this.pending.push(() => void (this.entry(key).established = true));
  }

  /** A call this instance set up that is not answered yet: an error or CANCEL ends it. */
  isPending(key: string): boolean {
    const c = this.calls.get(key);
    return c !== undefined && !c.established;
  }

  /** The call ends (a BYE, a CANCEL, a final error), once its message goes on. */
  forget(key: string): void {
    this.pending.push(() => this.drop(key));
  }

  private drop(key: string | undefined): void {
    if (key === undefined) return;
    const c = this.calls.get(key);
    if (c) this.release(c);
    this.calls.delete(key);
    this.loose.delete(key);
    this.legs.drop(key); // each passage's BYE ends its own
  }

  get size(): number {
    return this.calls.size;
  }

  /** Streams strangers' offers hold at the engine, by this instance's count. */
  get strangerStreams(): number {
    return this.strangers;
  }
}

const first = <K, V>(m: Map<K, V>): K | undefined => m.keys().next().value;

function count<T>(xs: Iterable<T>, f: (x: T) => boolean): number {
  let n = 0;
  for (const x of xs) if (f(x)) n++;
  return n;
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
 * `owner`: the sender is a stranger (its source key); its BYE or CANCEL deletes only a call it is a party of.
 * `last`: a CANCEL or final error ends the INVITE's last open branch (Forks, RFC 3261 16.7).
 */
export function ngStep(calls: NgCalls, m: SipMessage, plan: MediaPlan | null, src: HostPort, method: string, owner: string | null = null, answerers?: () => readonly string[], last = true): NgStep | Reason | null {
  if (!plan) return null;
  const key = plan.key;
  const fromTag = tagOf(m, 'From') ?? '';
  const del = (): NgStep => {
    calls.forget(key);
    return { cmd: { command: 'delete', 'call-id': key }, splice: false };
  };
  const isRequest = m.status === 0;
  // SPEC 11: a stranger who knows a live Call-ID ends no media of others' calls (as RTPproxy64's table).
  const ends = (): boolean => owner === null || calls.isPartyOf(key, src.addr);
  if (isRequest && m.method === 'BYE') return ends() ? del() : null;
  // RFC 3261 15.1.2: a party's 2xx to a BYE ends the call, also one a stranger's BYE left.
  if (!isRequest && method === 'BYE') return m.status >= 200 && m.status < 300 && calls.isPartyOf(key, src.addr) ? del() : null;
  if (isRequest && m.method === 'CANCEL' && calls.isPending(key)) return ends() && last ? del() : null;
  if (!isRequest && method === 'INVITE' && m.status >= 300 && calls.isPending(key)) return last ? del() : null;
  const body = declaredBody(m); // RFC 3261 20.15: what the engine reads is what the receiver reads
  if (body !== null && 'code' in body) return body;
  if (isRequest && m.method === 'INVITE') calls.invited(key, body?.type === 'application/sdp', owner !== null, plan.via);
  if (body === null || (body.type !== 'application/sdp' && !body.type.startsWith('multipart/'))) return null;
  if (body.type !== 'application/sdp') { // multipart: the engine takes a body of SDP alone
    const spans = sdpSpans(m.text, m.bodyStart, m.bodyEnd, body.ctype, 0, [], body.type);
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
  // SPEC 11: only the party that set a side up changes its media, as in RTPproxy64's table.
  // A request names the other side in its To tag; a late offer's ACK or PRACK answers that side's offer.
  const peerTag = isRequest && !(command === 'answer' && calls.answersLate(key, src.addr)) ? toTag : undefined;
  if (!calls.mayChange(key, isRequest ? fromTag : toTag, src.addr, contactIp(m), owner !== null, peerTag)) return R.mediaNotYours;
  // SPEC 11: a stranger's offer holds the engine's ports within rtp-quota, as in RTPproxy64.
  const refused = isRequest && command === 'offer' ? calls.admit(key, owner, streamsIn(m)) : null;
  if (refused) return refused;
  const lateOffer = command === 'offer' && !isRequest; // from the callee, in its reply
  if (lateOffer && answerers) calls.offeredLate(key, answerers());
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

/** The m= lines of a message's SDP body (RFC 4566 5.14). */
function streamsIn(m: SipMessage): number {
  let n = 0;
  for (let i = m.text.indexOf('m=', m.bodyStart); i >= 0 && i < m.bodyEnd; i = m.text.indexOf('m=', i + 2)) {
    const c = m.text.charCodeAt(i - 1);
    if (i === m.bodyStart || c === 10 || c === 13) n++;
  }
  return Math.max(1, n);
}

/**
 * Content-Length follows the engine's SDP (RFC 3261 20.14); the headers stay as written. The
 * body starts where the parser's head ends, not at the first CRLF CRLF: a head ended by a bare
 * LF would otherwise keep the start of the old body (SPEC 11: read otherwise by the next hop).
 */
export function spliceSdp(data: string, sdp: string): string {
  const h = headEnd(data);
  if (h < 0) return data;
  // RFC 3261 25.1: HCOLON then SWS, which may fold the value onto the next line.
  const head = data.slice(0, h).replace(/^(Content-Length|l)([ \t]*:[ \t]*(?:\r?\n[ \t]+)?)\d+/im, (_, n: string, sep: string) => `${n}${sep}${sdp.length}`);
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
