// RTPproxy64's session table (SPEC section 6): keyed by Call-ID and m-line index; an
// even RTP port and the next odd RTCP port, the same numbers on media4 and media6.
import { Addr, Family, sourceOf } from '../net/addr.js';
import { detached } from '../net/strings.js';
import { Legs } from './legs.js';

/** A stream's party on one side: where its SDP says it receives, and where its SIP came from. */
export interface Party {
  readonly addr: string | null; // advertised media address; null if not an IP of this side
  readonly rtp: number;
  readonly rtcp: number;
  readonly mux: boolean; //       rtcp-mux (RFC 5761): RTCP on the RTP port
  readonly signal?: string; //    the address its SDP came from over SIP (it may send media too)
  readonly contact?: string; //   the IP of that message's Contact: where its own requests come from
  readonly trusted?: boolean; //  that SIP came from a configured party (a map line, an uplink): its
  //                              SDP may name media servers the relay sends to before they send
  readonly held?: boolean; //     its SDP put the stream on hold (rtp-hold-timeout applies)
}

/** Why an offer or answer could not have a stream (SPEC 6, 11). */
export type Refused = 'exhausted' | 'fd-limit' | 'too-many-streams' | 'source-quota' | 'stranger-quota' | 'not-the-party';



export interface MediaSession {
  readonly callId: string;
  readonly index: number;
  readonly port: number; // relay RTP port; RTCP is port + 1
  party4: Party | null;
  party6: Party | null;
  readonly addrs: readonly [Addr, Addr] | null; // relay addresses of sides 4 and 6 (null: media4, media6)
  readonly created: number;
  updated: number;
  established: boolean; // an answer has passed (a 2xx or an ACK carried SDP)
  establishedAt: number | null; // when (the call log's answer time)
  held: boolean; //        an SDP with the unspecified address put it on hold (and kept its parties)
  dialogTag: string | null; // the callee's tag of the 2xx that established it (forking)
  answerTag: string | null; // the To tag of the response whose SDP set the answerer's side (an early dialog's, forking)
  readonly owner: string; //   the signalling address whose offer created it (quotas)
  readonly stranger: boolean; // its owner is not a configured party
  readonly via?: string; //    our two SIP addresses on the leg whose SDP created it (legKey)
  readonly seq: number; //     streams made before it (MediaTable.mark)
  readonly answerers?: readonly string[]; // made by a response's offer (late): where the answer's request may come from
}

export interface MediaHooks {
  prefer?(): number | null; // a port pair to take first if free (the relay's warm sockets)
  claim?(port: number, addrs: readonly [Addr, Addr] | null): boolean; // bind the pair a new stream takes; false: it cannot be
  open?(s: MediaSession): void;
  update?(s: MediaSession): void;
  close?(s: MediaSession, why: string, by: string | null): void; // by: who ended it (the BYE's, CANCEL's or final answer's source)
}

export const MAX_STREAMS_PER_CALL = 16;

export class MediaTable {
  private readonly calls = new Map<string, Map<number, MediaSession>>();
  private readonly legs = new Legs((key) => this.calls.has(key)); // a call's later legs: alive while they hold streams
  private readonly used = new Set<number>();
  private readonly foreign = new Set<number>(); // held by another process (a draining instance)
  private readonly owned = new Map<string, number>(); // streams per stranger source (an IPv6 /64: sourceOf)
  private strangers = 0; //                             streams of all strangers
  private made = 0; //                                  streams ever made
  private written = 0; //                               sides SDP set or updated (writes)
  readonly strangerCap: number; //                     streams all strangers together may hold
  private cursor: number;
  private readonly lo: number;
  private readonly hi: number;
  /**
   * `perSource`: streams one source that is not a configured party may hold (rtp-quota);
   * such sources together hold at most half the pool, so they cannot take it from real calls.
   * `maxStreams`: what the open-file limit allows (four sockets a stream; the daemon says).
   */
  constructor(range: [number, number], private readonly now: () => number = Date.now, private readonly hooks: MediaHooks = {}, private readonly perSource = Infinity, private readonly maxStreams = Infinity) {
    this.lo = range[0] + (range[0] % 2); // first even port
    this.hi = range[1] - 1; //             last port that still has an odd partner
    this.cursor = this.lo;
    this.strangerCap = perSource === Infinity ? Infinity : Math.max(1, Math.floor(Math.min(this.capacity, maxStreams) / 2));
  }

  /** Streams the process may hold at once: the pool, or fewer when the open-file limit says so. */
  get allowed(): number {
    return Math.min(this.capacity, this.maxStreams);
  }

  get size(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c.size;
    return n;
  }

  get capacity(): number {
    return pairsIn([this.lo, this.hi + 1]);
  }

  get portsInUse(): number {
    return this.used.size - this.foreign.size;
  }

  /** Every even port of the range, for the relay's probe. */
  evenPorts(): number[] {
    const out: number[] = [];
    for (let p = this.lo; p <= this.hi; p += 2) out.push(p);
    return out;
  }

  /** Mark a pair as held elsewhere (not ours to allocate), or give it back. */
  reserve(port: number): void {
    if (this.used.has(port)) return;
    this.used.add(port);
    this.foreign.add(port);
  }

  unreserve(port: number): void {
    if (!this.foreign.delete(port)) return;
    this.used.delete(port);
  }

  reservedPorts(): number[] {
    return [...this.foreign];
  }

  /** Lowest free even port from the cursor on, round robin (a released port rests before reuse). */
  private allocate(): number | null {
    const p = this.hooks.prefer?.();
    if (p !== undefined && p !== null && !this.used.has(p) && p >= this.lo && p <= this.hi) {
      this.used.add(p);
      return p;
    }
    const n = this.capacity;
    for (let i = 0; i < n; i++) {
      const p = this.cursor;
      this.cursor = p + 2 > this.hi ? this.lo : p + 2;
      if (!this.used.has(p)) {
        this.used.add(p);
        return p;
      }
    }
    return null;
  }

  /**
   * A pair the relay could bind. One another process took since the probe is marked held
   * elsewhere (the relay's recheck gives it back when free) and the next is tried: 8 at most,
   * so that a range taken by others costs a bounded number of binds per offer (SPEC 11).
   */
  private claimed(addrs: readonly [Addr, Addr] | null): number | null {
    for (let i = 0; i < 8; i++) {
      const p = this.allocate();
      if (p === null || this.hooks.claim?.(p, addrs) !== false) return p;
      this.foreign.add(p); // allocate() marked it used
    }
    return null;
  }

  /**
   * The key of a call's leg: a call that leaves through a provider and comes back through the
   * proxy has two (SPEC 6), told apart by our two SIP addresses on each (`via`); the first
   * leg, and every message no later leg claims, has the Call-ID itself.
   */
  legKey(callId: string, via: string): string {
    return this.legs.key(callId, via);
  }

  /** A later leg of a call (at most three at a time: SPEC 11), or null; it is no leg until it holds a stream. */
  newLeg(callId: string, via: string): string | null {
    const next = this.legs.next(callId, via);
    next?.add();
    return next?.key ?? null;
  }

  get(callId: string, index: number): MediaSession | undefined {
    return this.calls.get(callId)?.get(index);
  }

  /** The call's first stream (a leg's first SDP), without a list of them all. */
  firstOf(callId: string): MediaSession | undefined {
    return this.calls.get(callId)?.values().next().value;
  }

  sessionsOf(callId: string): MediaSession[] {
    return [...(this.calls.get(callId)?.values() ?? [])];
  }

  all(): MediaSession[] {
    const out: MediaSession[] = [];
    for (const c of this.calls.values()) out.push(...c.values());
    return out;
  }

  /** An SDP with the unspecified address (RFC 3264 8.4) put the stream on hold. */
  hold(callId: string, index: number): void {
    const s = this.get(callId, index);
    if (!s) return;
    s.held = true;
    this.written++;
  }

  /** Is the stream on hold (rtp-hold-timeout): either side's SDP, or the unspecified address? */
  isHeld(s: MediaSession): boolean {
    return s.held || s.party4?.held === true || s.party6?.held === true;
  }

  /** May SDP from `signal` change side `side` of this stream (a re-offer, a hold)? See sameParty, mayOpen. */
  mayChange(callId: string, index: number, side: Family, signal: string | undefined, request = false, trusted = false): boolean {
    const s = this.get(callId, index);
    return !s || (sameParty(s, side, signal) && mayOpen(s, side, request, trusted, signal));
  }

  /**
   * SDP from `side` described stream `index` at `party`: create or update the session.
   * Returns the relay port, or why not: the pool or the call's streams are exhausted, the
   * offer's source is over its quota, or (an existing stream) the SDP does not come from the
   * party that set that side up (SPEC 11: a stranger with a live Call-ID cannot move media).
   */
  update(callId: string, index: number, side: Family, party: Party, addrs: readonly [Addr, Addr] | null = null, via?: string, request = false, answerers?: () => readonly string[], dialog?: Dialog): number | Refused {
    let call = this.calls.get(callId);
    let s = call?.get(index);
    if (!s) {
      if (call && call.size >= MAX_STREAMS_PER_CALL) return 'too-many-streams';
      const owner = party.signal ?? '';
      const stranger = !party.trusted;
      const source = stranger ? sourceOf(owner) : ''; // one IPv6 host has its whole /64 (SPEC 11)
      if (stranger && (this.owned.get(source) ?? 0) >= this.perSource) return 'source-quota';
      if (stranger && this.strangers >= this.strangerCap) return 'stranger-quota';
      if (this.portsInUse >= this.maxStreams) return 'fd-limit'; // each stream is four sockets
      const port = this.claimed(addrs);
      if (port === null) return 'exhausted';
      const t = this.now();
      callId = detached(callId); // the table outlives the message (net/strings.ts)
      s = { callId, index, port, party4: null, party6: null, addrs, created: t, updated: t, established: false, establishedAt: null, held: false, dialogTag: null, answerTag: dialog ? detached(dialog.tag) : null, owner, stranger, via, seq: this.made++, answerers: answerers?.().map(detached) };
      if (stranger) {
        this.owned.set(source, (this.owned.get(source) ?? 0) + 1);
        this.strangers++;
      }
      if (!call) {
        call = new Map();
        this.calls.set(callId, call);
      }
      call.set(index, s);
      if (side === 4) s.party4 = party;
      else s.party6 = party;
      this.written++;
      this.hooks.open?.(s);
      return port;
    }
    if (!answersFork(s, dialog) && (!sameParty(s, side, party.signal) || !mayOpen(s, side, request, party.trusted === true, party.signal))) return 'not-the-party';
    if (dialog) s.answerTag = detached(dialog.tag);
    if (side === 4) s.party4 = party;
    else s.party6 = party;
    s.held = false; // a new SDP with an address ends a hold written as c= unspecified
    s.updated = this.now();
    this.written++;
    this.hooks.update?.(s);
    return s.port;
  }

  /** How many times SDP set or updated a stream's side: a message's SDP was read into the table when this moved (not its length). */
  get writes(): number {
    return this.written;
  }

  /** An answer passed; `tag` is the callee's tag of the first 2xx (a forked call has several). */
  markEstablished(callId: string, tag: string | null = null): void {
    for (const s of this.calls.get(callId)?.values() ?? []) {
      if (!s.established && tag) s.dialogTag = detached(tag);
      if (!s.established) s.establishedAt = this.now();
      s.established = true;
    }
  }

  /** The callee tag of the dialog that holds the media, if known. */
  dialogTag(callId: string): string | null {
    for (const s of this.calls.get(callId)?.values() ?? []) if (s.dialogTag) return s.dialogTag;
    return null;
  }

  /** Did SIP from `signal` set up a side of one of the call's streams (its address, or its Contact's)? */
  isPartyOf(callId: string, signal: string): boolean {
    for (const s of this.calls.get(callId)?.values() ?? []) {
      for (const p of [s.party4, s.party6]) if (p && sentBy(p, signal)) return true;
    }
    return false;
  }

  isEstablished(callId: string): boolean {
    for (const s of this.calls.get(callId)?.values() ?? []) if (s.established) return true;
    return false;
  }

  releaseStream(callId: string, index: number, why: string, by: string | null = null): void {
    const call = this.calls.get(callId);
    const s = call?.get(index);
    if (!call || !s) return;
    call.delete(index);
    if (call.size === 0) {
      this.calls.delete(callId);
      this.legs.drop(callId);
    }
    this.used.delete(s.port);
    if (s.stranger) {
      const source = sourceOf(s.owner);
      const n = (this.owned.get(source) ?? 1) - 1;
      if (n > 0) this.owned.set(source, n);
      else this.owned.delete(source);
      this.strangers--;
    }
    this.hooks.close?.(s, why, by);
  }

  /** Where the table stands before a message's SDP is read; undo() goes back to it. */
  mark(): number {
    return this.made;
  }

  /** SPEC 11: the streams of a call made since `mark`, by a message then refused or dropped, are released. */
  undo(callId: string, mark: number, why: string): void {
    for (const s of [...(this.calls.get(callId)?.values() ?? [])]) if (s.seq >= mark) this.releaseStream(callId, s.index, why);
  }

  /** Release every stream of a call; returns how many. */
  release(callId: string, why: string, by: string | null = null): number {
    const call = this.calls.get(callId);
    if (!call) return 0;
    const list = [...call.keys()];
    for (const i of list) this.releaseStream(callId, i, why, by);
    return list.length;
  }
}

/** SIP from `signal` is the party's: from the address its SDP came from, or its Contact's (SPEC 11). */
export function sentBy(p: { readonly signal?: string; readonly contact?: string }, signal: string | undefined): boolean {
  return signal === p.signal || signal === p.contact;
}

/** A response to the INVITE: its dialog's To tag, and whether it is the 2xx. */
export interface Dialog {
  readonly tag: string;
  readonly final: boolean;
}

/**
 * RFC 3261 13.2.2.4, 16.7: each early dialog of a forked INVITE answers with its own SDP; the
 * dialog whose 2xx establishes the call holds the media, so its answer takes the answerer's
 * side from the early dialog that set it (a phone's early media while another answers). Only
 * before the call is established, and only a response, which carries our MAC'd Via (SPEC 11).
 */
function answersFork(s: MediaSession, dialog: Dialog | undefined): boolean {
  return dialog !== undefined && dialog.final && !s.established && s.answerTag !== null && s.answerTag !== dialog.tag;
}

/** The party that set this side up, if any, sent it (sentBy). */
function sameParty(s: MediaSession, side: Family, signal: string | undefined): boolean {
  const was = side === 4 ? s.party4 : s.party6;
  return !was || sentBy(was, signal);
}

/**
 * SPEC 11, RFC 3264 4: the side a request's offer did not set up is the answerer's. Its answer
 * comes in a response (which carries our MAC'd Via), so a stranger's request with a ringing
 * call's Call-ID cannot take that side (the callee's answer would then be refused). A late
 * offer's stream (made by a response) is answered by the UAC in its ACK or PRACK (RFC 3261
 * 13.2.2.4): from the hop the response went to, or the address of the request's bottom Via
 * (`answerers`; a stream a request made has none).
 */
function mayOpen(s: MediaSession, side: Family, request: boolean, trusted: boolean, signal: string | undefined): boolean {
  if ((side === 4 ? s.party4 : s.party6) !== null || !request || trusted) return true;
  return signal !== undefined && (s.answerers?.includes(signal) ?? false);
}

/** Port pairs (an even RTP port and the odd one after it) in a range of rtp-ports. */
export function pairsIn(range: readonly [number, number]): number {
  const lo = range[0] + (range[0] % 2);
  const hi = range[1] - 1;
  return hi < lo ? 0 : Math.floor((hi - lo) / 2) + 1;
}
