// RTPproxy64 (SPEC section 6): for each stream an even RTP port and the next odd RTCP
// port on media4 and on media6; packets go across unchanged (SRTP passes), to each
// party's advertised address, or to the source learnt from its first packets (latching).
// This file is the policy (which pair a stream takes, warm pairs, timeouts, counters); the
// packets themselves go through a Datapath: native threads, or the event loop.
import { MediaSession, MediaTable } from '../media/table.js';
import { Addr, Family, formatHostPort, withPort } from '../net/addr.js';
import { Datapath, IoChoice, PairInfo, PathOptions, Peer, peerText } from './datapath.js';
import type { CallLog, EndedStream } from './call-log.js';
import { JsDatapath } from './datapath-js.js';
import { chooseNative, NativeChoice, NativeDatapath } from './datapath-native.js';
import { canBind } from './udp.js';
import type { Quality } from './quality.js';
import { Verdict, verdictOf, VerdictKind } from './verdict.js';

export type DatapathChoice = NativeChoice;

export interface RelayOptions {
  readonly ports: [number, number]; // rtp-ports
  readonly quota?: number; //          rtp-quota: streams per source that is no configured party
  readonly maxPairs?: number; //       port pairs (four sockets each) the open-file limit allows, warm ones included
  readonly media4: Addr | null; // sides 4 and 6 of the address model's streams
  readonly media6: Addr | null;
  readonly probeAddr?: Addr; //   where rtp-ports are probed (default media4)
  readonly onStreamEnd?: (s: EndedStream, left: number) => void; // call-log: each stream as it ends
  readonly callLog?: CallLog | null; //  call-log FILE|-: reopened on USR1, closed with the relay
  readonly sideNames?: readonly [string, string]; // what the verdicts call the sides (IPv4 and IPv6; LAN and public)
  readonly latch: 'strict' | 'prefix' | 'any' | 'off'; // rtp-latch
  readonly timeoutMs: number;
  readonly holdTimeoutMs?: number; // rtp-hold-timeout (default: timeoutMs)
  readonly datapath?: DatapathChoice; // media-datapath (default auto: native when it loads)
  readonly threads?: number; //         media-threads (native only; default 1)
  readonly io?: IoChoice; //            media-io (native only; default auto)
  readonly now?: () => number;
  readonly onError?: (what: string, err: Error) => void;
  /** How the datapath moves packets changed (a ring failed at run time: media-io), seen at a sweep. */
  readonly onIoChange?: (io: string) => void;
}

interface Stream {
  readonly s: MediaSession;
  last: number; // last packet in either direction (or creation), as of the last sweep
  rx: number; //   the datapath's count of accepted packets at that sweep
}

export interface StreamInfo {
  callId: string;
  index: number;
  port: number;
  party4: string | null; // where IPv4 packets go: latched source, else advertised
  party6: string | null;
  packets4: number;
  packets6: number;
  ageSeconds: number;
  idleSeconds: number;
  held: boolean; // on hold: rtp-hold-timeout applies
  from4: Quality; // what the IPv4 (LAN) party sends: packets, loss, jitter, idle, foreign sources
  from6: Quality;
  verdict: string; //       sipproxy64(8) TROUBLESHOOTING
  verdictKind: VerdictKind;
}

/**
 * Binding and closing four sockets per call costs more than the call's SIP. A released pair
 * stays bound ("warm") and is reused, oldest first, once it has rested WARM_REST_MS (so
 * late packets of the old call are not taken for the new one's); at most WARM_MAX pairs,
 * none older than WARM_MAX_AGE_MS.
 */
const WARM_REST_MS = 500;
const WARM_MAX = 8192;
const WARM_MAX_AGE_MS = 3000;

interface PortSockets {
  readonly port: number;
  readonly addrs: readonly [Addr, Addr]; // side 4, side 6
  releasedAt: number;
}

export interface RelayStats {
  packets4: number; // relayed out on IPv4
  packets6: number;
  bytes4: number;
  bytes6: number;
  drops: Map<string, number>; //   by reason code
  streamsWithMedia: number; //    ended after media both ways
  streamsWithoutMedia: number; // ended without
}

/** The datapath media-datapath asks for; with auto, the JavaScript one when the addon does not load (`fellBack` says why). */
export function chooseDatapath(choice: DatapathChoice, opts: PathOptions): { path: Datapath; fellBack: Error | null } {
  const { addon, fellBack } = chooseNative('media-datapath', choice);
  return { path: addon ? new NativeDatapath(addon, opts) : new JsDatapath(opts), fellBack };
}

export class Relay {
  /** The pure session table; the relay binds and closes sockets through its hooks. */
  readonly table: MediaTable;
  /** The packet path media-datapath chose; `fellBack`: why auto could not use the native one. */
  readonly path: Datapath;
  readonly fellBack: Error | null;
  readonly threads: number; // the native path's threads; 1 for the event loop
  private readonly streams = new Map<number, Stream>();
  private readonly bound = new Map<number, PortSockets>(); // every bound pair: in use or warm
  private readonly warm = new Set<PortSockets>(); //          released pairs, oldest first (a Set: claiming one is O(1), where an array's splice moved up to WARM_MAX)
  private timer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private lastSweep: number;
  private ended = { withMedia: 0, withoutMedia: 0 };
  private io: string | null; // the datapath's io() at the last sweep

  constructor(private readonly opts: RelayOptions) {
    this.now = opts.now ?? Date.now;
    this.lastSweep = this.now();
    this.table = new MediaTable(opts.ports, this.now, {
      prefer: () => this.prefer(),
      claim: (port, addrs) => this.claim(port, addrs),
      open: (s) => this.open(s),
      update: (s) => this.update(s),
      close: (s, why, by) => this.close(s, why, by),
    }, opts.quota, opts.maxPairs);
    const lo = opts.ports[0] + (opts.ports[0] % 2);
    const hi = Math.max(lo, opts.ports[1] - 1 - ((opts.ports[1] - 1) % 2));
    ({ path: this.path, fellBack: this.fellBack } = chooseDatapath(opts.datapath ?? 'auto', { ports: [lo, hi], latch: opts.latch, threads: opts.threads ?? 1, io: opts.io, onError: opts.onError }));
    this.threads = this.path.kind === 'native' ? (opts.threads ?? 1) : 1;
    this.io = this.path.io();
  }

  /** Start the timeout sweep (rtp-timeout). */
  start(): void {
    this.timer = setInterval(() => this.sweep(), Math.min(1000, this.opts.timeoutMs)).unref();
    this.probeTimer = setInterval(() => void this.recheck(), 5000).unref();
  }

  get size(): number {
    return this.streams.size;
  }

  ports(): number[] {
    return [...this.streams.keys()];
  }

  /** What the datapath counted, and how the ended streams went. */
  get stats(): RelayStats {
    return { ...this.path.counters(), streamsWithMedia: this.ended.withMedia, streamsWithoutMedia: this.ended.withoutMedia };
  }

  private bindPair(port: number, addrs: readonly [Addr, Addr]): boolean {
    if (!this.path.bind(port, addrs)) return false;
    this.bound.set(port, { port, addrs, releasedAt: 0 });
    return true;
  }

  private oldestWarm(): PortSockets | undefined {
    return this.warm.values().next().value;
  }

  private closeWarm(set: PortSockets): void {
    this.warm.delete(set);
    this.closePair(set);
  }

  private closePair(set: PortSockets): void {
    this.bound.delete(set.port);
    this.path.unbind(set.port);
  }

  /** A warm pair that has rested long enough, for the table to allocate first (no bind). */
  private prefer(): number | null {
    const w = this.oldestWarm();
    return w && this.now() - w.releasedAt >= WARM_REST_MS ? w.port : null;
  }

  /**
   * Bind the pair a new stream takes: a warm one as it is, or rebound for other addresses
   * (the other mode's streams). false: a port of it could not be bound (another process
   * took it since the probe); the table marks it held elsewhere and takes another.
   */
  private claim(port: number, want: readonly [Addr, Addr] | null): boolean {
    const addrs = want ?? [this.opts.media4 as Addr, this.opts.media6 as Addr];
    const set = this.bound.get(port);
    if (set) {
      this.warm.delete(set);
      if (set.addrs[0].addr === addrs[0].addr && set.addrs[1].addr === addrs[1].addr) return true;
      this.closePair(set);
    } else {
      // Within the open-file limit: a new pair first unbinds the oldest warm one.
      while (this.bound.size >= (this.opts.maxPairs ?? Infinity) && this.warm.size > 0) this.closeWarm(this.oldestWarm() as PortSockets);
    }
    return this.bindPair(port, addrs);
  }

  private open(s: MediaSession): void {
    this.path.parties(s.port, s.party4, s.party6, true);
    this.streams.set(s.port, { s, last: this.now(), rx: 0 });
  }

  /** A re-offer may move a party: the datapath forgets what was latched on its side. */
  private update(s: MediaSession): void {
    if (this.streams.has(s.port)) this.path.parties(s.port, s.party4, s.party6, false);
  }

  private close(s: MediaSession, why: string, by: string | null): void {
    if (!this.streams.delete(s.port)) return;
    const info = this.path.pair(s.port);
    if (this.opts.onStreamEnd) this.opts.onStreamEnd(this.endedStream(s, info, why, by), this.table.sessionsOf(s.callId).length);
    if (info.sent4 > 0 && info.sent6 > 0) this.ended.withMedia++;
    else this.ended.withoutMedia++;
    const set = this.bound.get(s.port);
    if (!set) return;
    // Keep the pair bound (warm) for reuse after a rest; packets to it now are dropped.
    this.path.detach(s.port);
    set.releasedAt = this.now();
    this.warm.add(set);
    if (this.warm.size > WARM_MAX) this.closeWarm(this.oldestWarm() as PortSockets);
  }

  /** Each side's party (where its media goes: the latched source, else its SDP's address), whether it is held, the verdict. */
  private view(s: MediaSession, info: PairInfo, now: number): { party4: string | null; party6: string | null; held: boolean; verdict: Verdict } {
    const party = (l: Peer | null, p: MediaSession['party4']): string | null => {
      const hp = l ?? (p && p.addr ? { addr: p.addr, port: p.rtp } : null);
      return hp && peerText(hp);
    };
    const party4 = party(info.latched4, s.party4);
    const party6 = party(info.latched6, s.party6);
    const held = this.table.isHeld(s);
    return { party4, party6, held, verdict: verdictOf({ held, ageMs: now - s.created, q: [info.q4, info.q6], parties: [party4, party6] }, this.opts.sideNames ?? ['IPv4', 'IPv6']) };
  }

  /** A stream as the call log keeps it. */
  private endedStream(s: MediaSession, info: PairInfo, why: string, by: string | null): EndedStream {
    const now = this.now();
    const relayAt = (side: 0 | 1): string => {
      const a = s.addrs?.[side] ?? (side === 0 ? this.opts.media4 : this.opts.media6);
      return a ? formatHostPort(withPort(a, s.port)) : `-:${s.port}`;
    };
    const v = this.view(s, info, now);
    return { callId: s.callId, index: s.index, created: s.created, establishedAt: s.establishedAt, ended: now, why, by, offerer: s.owner, sides: [{ party: v.party4, relay: relayAt(0), sent: info.q4 }, { party: v.party6, relay: relayAt(1), sent: info.q6 }], verdict: v.verdict };
  }

  /** The packet entry without a socket (tests): the drop reason, or 'sent'. */
  inject(port: number, side: Family, rtcp: boolean, src: Peer, msg: Buffer): string {
    return this.path.inject(port, side, rtcp, src, msg);
  }

  /** Can the RTP port of pair p be bound on media4 now? (A draining instance may hold it.) */
  private async free(port: number): Promise<boolean> {
    return (await canBind(this.opts.probeAddr ?? (this.opts.media4 as Addr), port)) === null;
  }

  /**
   * Find the pairs of rtp-ports that another process holds (after a HUP, the draining
   * instance keeps its calls' pairs) and keep the table from allocating them; check again
   * every few seconds and give back those that came free.
   */
  async probe(): Promise<number> {
    const ports = this.table.evenPorts().filter((p) => !this.bound.has(p));
    for (let i = 0; i < ports.length; i += 256) {
      const chunk = ports.slice(i, i + 256);
      const ok = await Promise.all(chunk.map((p) => this.free(p)));
      chunk.forEach((p, j) => (ok[j] ? this.table.unreserve(p) : this.table.reserve(p)));
    }
    return this.table.reservedPorts().length;
  }

  private async recheck(): Promise<void> {
    for (const p of this.table.reservedPorts()) if (await this.free(p)) this.table.unreserve(p);
  }

  /**
   * Release streams that saw no packet in either direction for rtp-timeout; unbind old warm
   * pairs. A stream that accepted packets since the last sweep was alive then (at worst one
   * sweep interval early, never late: the datapath keeps no clock, so time stays injected).
   */
  sweep(): void {
    const now = this.now();
    const limit = now - this.opts.timeoutMs;
    const holdLimit = now - (this.opts.holdTimeoutMs ?? this.opts.timeoutMs);
    const list = [...this.streams.values()];
    const rx = new Float64Array(list.length);
    this.path.rxOf(Uint32Array.from(list, (st) => st.s.port), rx);
    list.forEach((st, i) => {
      if (rx[i] !== st.rx) {
        st.rx = rx[i];
        st.last = Math.max(st.last, this.lastSweep);
      }
      // A stream on hold sends nothing for as long as the hold lasts: rtp-hold-timeout.
      const held = this.table.isHeld(st.s);
      if (st.last < (held ? holdLimit : limit)) this.table.releaseStream(st.s.callId, st.s.index, held ? 'hold-timeout' : 'timeout');
    });
    this.lastSweep = now;
    const io = this.path.io();
    if (io !== this.io && io !== null) this.opts.onIoChange?.(io);
    this.io = io;
    for (let w = this.oldestWarm(); w && now - w.releasedAt > WARM_MAX_AGE_MS; w = this.oldestWarm()) this.closeWarm(w);
  }

  /** Port pairs bound: in use plus warm. */
  get boundPairs(): number {
    return this.bound.size;
  }

  /** The active streams, for the status endpoint. */
  describe(): StreamInfo[] {
    const now = this.now();
    return [...this.streams.values()].map((st) => {
      const info = this.path.pair(st.s.port);
      const { party4, party6, held, verdict: v } = this.view(st.s, info, now);
      return {
        callId: st.s.callId,
        index: st.s.index,
        port: st.s.port,
        party4,
        party6,
        packets4: info.sent4,
        packets6: info.sent6,
        ageSeconds: Math.round((now - st.s.created) / 1000),
        idleSeconds: Math.round((now - st.last) / 1000),
        held,
        from4: info.q4,
        from6: info.q6,
        verdict: v.text,
        verdictKind: v.kind,
      };
    });
  }

  /** USR1: the call log goes to a new file of its name. */
  reopenLog(): void {
    this.opts.callLog?.reopen();
  }

  closeAll(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    // The calls still up end here: the call log has their lines (why: shutdown).
    if (this.opts.callLog) for (const st of [...this.streams.values()]) this.table.releaseStream(st.s.callId, st.s.index, 'shutdown');
    this.opts.callLog?.close();
    this.streams.clear();
    this.warm.clear();
    this.bound.clear();
    this.path.close();
  }
}
