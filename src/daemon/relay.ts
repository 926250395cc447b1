// RTPproxy64 (SPEC section 6): for each stream an even RTP port and the next odd RTCP
// port on media4 and on media6; packets go across unchanged (SRTP passes), to each
// party's advertised address, or to the source learnt from its first packets (latching).
import dgram from 'node:dgram';
import ipaddr from 'ipaddr.js';
import { MediaSession, MediaTable } from '../media/table.js';
import { Addr, Family, formatHostPort } from '../net/addr.js';
import { R, Reason } from '../sip/reasons.js';
import { canBind, udpSocket } from './udp.js';

export interface RelayOptions {
  readonly ports: [number, number]; // rtp-ports
  readonly quota?: number; //          rtp-quota: streams per source that is no configured party
  readonly maxPairs?: number; //       port pairs (four sockets each) the open-file limit allows, warm ones included
  readonly media4: Addr | null; // sides 4 and 6 of the address model's streams
  readonly media6: Addr | null;
  readonly probeAddr?: Addr; //   where rtp-ports are probed (default media4)
  readonly latch: 'strict' | 'prefix' | 'any' | 'off'; // rtp-latch
  readonly timeoutMs: number;
  readonly now?: () => number;
  readonly onError?: (what: string, err: Error) => void;
}

interface Peer {
  addr: string;
  port: number;
}

interface Leg {
  readonly rtp: dgram.Socket;
  readonly rtcp: dgram.Socket;
  latchedRtp: Peer | null;
  latchedRtcp: Peer | null;
}

interface Stream {
  readonly s: MediaSession;
  readonly legs: Record<Family, Leg>;
  last: number; // last packet in either direction (or creation)
  readonly sent: Record<Family, number>; // packets relayed out on each family
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
  readonly socks: Record<Family, [dgram.Socket, dgram.Socket]>; // [rtp, rtcp]
  current: Stream | null;
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

export class Relay {
  /** The pure session table; the relay binds and closes sockets through its hooks. */
  readonly table: MediaTable;
  private readonly streams = new Map<number, Stream>();
  private readonly bound = new Map<number, PortSockets>(); // every bound pair: in use or warm
  private readonly warm: PortSockets[] = []; //              released pairs, oldest first
  private readonly own = new Set<string>(); //                 every address the relay binds
  private timer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  readonly stats: RelayStats = { packets4: 0, packets6: 0, bytes4: 0, bytes6: 0, drops: new Map(), streamsWithMedia: 0, streamsWithoutMedia: 0 };

  constructor(private readonly opts: RelayOptions) {
    this.now = opts.now ?? Date.now;
    this.table = new MediaTable(opts.ports, this.now, {
      prefer: () => this.prefer(),
      open: (s) => this.open(s),
      update: (s) => this.update(s),
      close: (s) => this.close(s),
    }, opts.quota, opts.maxPairs);
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

  private drop(reason: Reason): void {
    this.stats.drops.set(reason.code, (this.stats.drops.get(reason.code) ?? 0) + 1);
  }

  private socket(a: Addr, port: number): dgram.Socket {
    const sock = udpSocket(a.family, { reuseAddr: false });
    sock.on('error', (err) => {
      // A bind failure or an ICMP error from a gone party never ends the process.
      this.drop((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? R.rtpPortInUse : R.rtpSocketError);
      this.opts.onError?.(`relay ${a.addr}:${port}`, err);
    });
    sock.bind({ address: a.addr, port, exclusive: true }, () => {
      try {
        sock.setRecvBufferSize(1 << 20);
        sock.setSendBufferSize(1 << 20);
      } catch {
        /* kernel limits: keep the defaults */
      }
    });
    return sock;
  }

  /** The four sockets of a port pair, kept bound for a while after a stream ends. */
  private bindPair(port: number, addrs: readonly [Addr, Addr]): PortSockets {
    this.own.add(addrs[0].addr).add(addrs[1].addr);
    const set: PortSockets = {
      port,
      addrs,
      socks: { 4: [this.socket(addrs[0], port), this.socket(addrs[0], port + 1)], 6: [this.socket(addrs[1], port), this.socket(addrs[1], port + 1)] },
      current: null,
      releasedAt: 0,
    };
    for (const f of [4, 6] as Family[]) {
      set.socks[f][0].on('message', (msg, rinfo) => (set.current ? this.onPacket(set.current, f, false, msg, rinfo) : this.drop(R.rtpNoSession)));
      set.socks[f][1].on('message', (msg, rinfo) => (set.current ? this.onPacket(set.current, f, true, msg, rinfo) : this.drop(R.rtpNoSession)));
    }
    this.bound.set(port, set);
    return set;
  }

  private closePair(set: PortSockets): void {
    this.bound.delete(set.port);
    for (const f of [4, 6] as Family[]) {
      for (const sock of set.socks[f]) {
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      }
    }
  }

  /** A warm pair that has rested long enough, for the table to allocate first (no bind). */
  private prefer(): number | null {
    const w = this.warm[0];
    return w && this.now() - w.releasedAt >= WARM_REST_MS ? w.port : null;
  }

  private open(s: MediaSession): void {
    const addrs = s.addrs ?? [this.opts.media4 as Addr, this.opts.media6 as Addr];
    let set = this.bound.get(s.port);
    if (set) {
      const i = this.warm.indexOf(set);
      if (i >= 0) this.warm.splice(i, 1);
      // A warm pair on other addresses (the other mode's streams) is rebound.
      if (set.addrs[0].addr !== addrs[0].addr || set.addrs[1].addr !== addrs[1].addr) {
        this.closePair(set);
        set = this.bindPair(s.port, addrs);
      }
    } else {
      // Within the open-file limit: a new pair first unbinds the oldest warm one.
      while (this.bound.size >= (this.opts.maxPairs ?? Infinity) && this.warm.length > 0) this.closePair(this.warm.shift() as PortSockets);
      set = this.bindPair(s.port, addrs);
    }
    const leg = (f: Family): Leg => ({ rtp: set.socks[f][0], rtcp: set.socks[f][1], latchedRtp: null, latchedRtcp: null });
    const st: Stream = { s, legs: { 4: leg(4), 6: leg(6) }, last: this.now(), sent: { 4: 0, 6: 0 } };
    set.current = st;
    this.streams.set(s.port, st);
  }

  /** A re-offer may move a party: forget what was latched on its side. */
  private update(s: MediaSession): void {
    const st = this.streams.get(s.port);
    if (!st) return;
    for (const f of [4, 6] as Family[]) {
      const p = f === 4 ? s.party4 : s.party6;
      const l = st.legs[f];
      if (p && l.latchedRtp && p.addr && p.addr !== l.latchedRtp.addr) {
        l.latchedRtp = null;
        l.latchedRtcp = null;
      }
    }
  }

  private close(s: MediaSession): void {
    const st = this.streams.get(s.port);
    if (!st) return;
    this.streams.delete(s.port);
    if (st.sent[4] > 0 && st.sent[6] > 0) this.stats.streamsWithMedia++;
    else this.stats.streamsWithoutMedia++;
    const set = this.bound.get(s.port);
    if (!set) return;
    // Keep the pair bound (warm) for reuse after a rest; packets to it now are dropped.
    set.current = null;
    set.releasedAt = this.now();
    this.warm.push(set);
    while (this.warm.length > WARM_MAX) this.closePair(this.warm.shift() as PortSockets);
  }

  private onPacket(st: Stream, from: Family, rtcp: boolean, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const s = st.s;
    const here = st.legs[from];
    const src = rinfo.address; // libuv writes IPv6 in compressed form, as parseIp does
    const party = from === 4 ? s.party4 : s.party6;
    // Symmetric RTP: the first packet from the party's side latches its real source.
    const latched = rtcp ? here.latchedRtcp : here.latchedRtp;
    if (latched) {
      if (latched.addr !== src || latched.port !== rinfo.port) {
        this.drop(R.rtpForeignSource);
        return;
      }
    } else if (this.opts.latch !== 'off') {
      if (!party) {
        this.drop(R.rtpNoParty);
        return;
      }
      // Only the party latches (SPEC 6, rtp-latch): strict, its advertised address or the
      // address its SIP came from (a phone behind NAT); prefix, the same /64 (IPv6) or the same
      // address (IPv4) as one of those (a wildcard-bound softphone on a multi-homed host);
      // any, the first source (as rtpengine does). A stranger's packets are never relayed.
      if (!latches(this.opts.latch, src, party)) {
        this.drop(R.rtpForeignSource);
        return;
      }
      const peer = { addr: src, port: rinfo.port };
      if (rtcp) here.latchedRtcp = peer;
      else here.latchedRtp = peer;
    } else if (!party || (party.addr !== null && party.addr !== src)) {
      this.drop(R.rtpForeignSource);
      return;
    }
    st.last = this.now();
    const to: Family = from === 4 ? 6 : 4;
    const there = st.legs[to];
    const other = to === 4 ? s.party4 : s.party6;
    let dest: Peer | null = rtcp ? there.latchedRtcp : there.latchedRtp;
    if (!dest) {
      if (!other || other.addr === null) {
        this.drop(R.rtpNoPeerYet);
        return;
      }
      // SPEC 11: media goes only to an address that has proven itself: the party's
      // signalling address, or (latched above) its own media source. An address named only
      // in SDP gets nothing until it sends, unless a configured party wrote it, or it is the
      // relay's own (the other leg of a call that came back through a provider).
      if (other.addr !== other.signal && !other.trusted && !this.isRelaySocket(other.addr, other.rtp)) {
        this.drop(R.rtpPeerUnproven);
        return;
      }
      dest = { addr: other.addr, port: rtcp && !other.mux ? other.rtcp : other.rtp };
    }
    // A packet from one of our relay sockets never goes to another: two calls whose SDP name
    // each other's relay ports would otherwise loop a packet for ever (SPEC 11).
    if (this.isRelaySocket(src, rinfo.port) && this.isRelaySocket(dest.addr, dest.port)) {
      this.drop(R.rtpLoop);
      return;
    }
    const out = rtcp ? there.rtcp : there.rtp;
    out.send(msg, dest.port, dest.addr);
    st.sent[to]++;
    if (to === 4) {
      this.stats.packets4++;
      this.stats.bytes4 += msg.length;
    } else {
      this.stats.packets6++;
      this.stats.bytes6 += msg.length;
    }
  }

  /** Is addr:port one of the relay's own sockets (an address it binds, a port pair it holds)? */
  private isRelaySocket(addr: string, port: number): boolean {
    return this.own.has(addr) && this.bound.has(port - (port % 2));
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

  /** Release streams that saw no packet in either direction for rtp-timeout; unbind old warm pairs. */
  sweep(): void {
    const now = this.now();
    const limit = now - this.opts.timeoutMs;
    for (const st of [...this.streams.values()]) {
      if (st.last < limit) this.table.releaseStream(st.s.callId, st.s.index, 'timeout');
    }
    while (this.warm.length > 0 && now - this.warm[0].releasedAt > WARM_MAX_AGE_MS) this.closePair(this.warm.shift() as PortSockets);
  }

  /** Port pairs bound: in use plus warm. */
  get boundPairs(): number {
    return this.bound.size;
  }

  /** The active streams, for the status endpoint. */
  describe(): StreamInfo[] {
    const now = this.now();
    const where = (st: Stream, f: Family): string | null => {
      const l = st.legs[f].latchedRtp;
      const p = f === 4 ? st.s.party4 : st.s.party6;
      const hp = l ?? (p && p.addr ? { addr: p.addr, port: p.rtp } : null);
      return hp ? formatHostPort({ ...hp, family: hp.addr.includes(':') ? 6 : 4 }) : null;
    };
    return [...this.streams.values()].map((st) => ({
      callId: st.s.callId,
      index: st.s.index,
      port: st.s.port,
      party4: where(st, 4),
      party6: where(st, 6),
      packets4: st.sent[4],
      packets6: st.sent[6],
      ageSeconds: Math.round((now - st.s.created) / 1000),
      idleSeconds: Math.round((now - st.last) / 1000),
    }));
  }

  closeAll(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.streams.clear();
    this.warm.length = 0;
    for (const set of [...this.bound.values()]) this.closePair(set);
  }
}

/** Does a packet from `src` latch onto `party` under `mode` (rtp-latch)? */
function latches(mode: 'strict' | 'prefix' | 'any', src: string, party: { addr: string | null; signal?: string }): boolean {
  if (mode === 'any' || src === party.addr || src === party.signal) return true;
  if (mode === 'strict' || !src.includes(':')) return false;
  const net = prefix64(src);
  return [party.addr, party.signal].some((a) => a && a.includes(':') && prefix64(a) === net);
}

/** The first 64 bits of an IPv6 address, as text. */
function prefix64(a: string): string {
  return ipaddr.parse(a).toNormalizedString().split(':').slice(0, 4).join(':');
}
