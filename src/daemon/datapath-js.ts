// RTPproxy64's packet path on the event loop (media-datapath js; the fallback when the native
// one cannot be built or loaded). The rules are those of src/native/path.c, packet for packet.
import dgram from 'node:dgram';
import { Party } from '../media/table.js';
import { Addr, Family, prefix64 } from '../net/addr.js';
import { R, Reason } from '../sip/reasons.js';
import { countDrop, Datapath, PairInfo, PathCounters, PathOptions, Peer } from './datapath.js';
import { monoUs, newQuality, observe, QualityState, report } from './quality.js';
import { RELAY_SEND_QUEUE, sendQueueFull, udpSocket } from './udp.js';

interface Side {
  readonly rtp: dgram.Socket;
  readonly rtcp: dgram.Socket;
  party: Party | null;
  latchedRtp: Peer | null;
  latchedRtcp: Peer | null;
  sent: number;
  q: QualityState; // what this side's party sends (issue 19)
}

interface Pair {
  readonly sides: Record<Family, Side>;
  active: boolean;
  rx: number;
}

export class JsDatapath implements Datapath {
  readonly kind = 'js';

  io(): null {
    return null;
  }
  private readonly pairs = new Map<number, Pair>();
  private readonly own = new Set<string>(); // every address the relay binds
  private readonly stats: PathCounters = { packets4: 0, packets6: 0, bytes4: 0, bytes6: 0, drops: new Map() };

  constructor(private readonly opts: PathOptions) {}

  private drop(reason: Reason): void {
    countDrop(this.stats.drops, reason);
  }

  /** One socket, bound now, or null. The lookup answers at once (udp.ts), so dgram binds before bind() returns. */
  private socket(a: Addr, port: number): dgram.Socket | null {
    const sock = udpSocket(a.family, { reuseAddr: false });
    sock.on('error', (err) => {
      // A bind failure or an ICMP error from a gone party never ends the process.
      const e = err as NodeJS.ErrnoException;
      this.drop(e.code === 'EADDRINUSE' ? R.rtpPortInUse : R.rtpSocketError);
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
    let bound = false;
    try {
      bound = sock.address().port === port; // an unbound socket says port 0
    } catch {
      /* no socket at all */
    }
    if (!bound) sock.close();
    return bound ? sock : null;
  }

  bind(port: number, addrs: readonly [Addr, Addr]): boolean {
    this.unbind(port);
    const socks: dgram.Socket[] = [];
    for (const [a, p] of [[addrs[0], port], [addrs[0], port + 1], [addrs[1], port], [addrs[1], port + 1]] as const) {
      const sock = this.socket(a, p);
      if (!sock) { // another process holds it: nothing of the pair stays bound, the table takes another
        for (const x of socks) x.close();
        return false;
      }
      socks.push(sock);
    }
    this.own.add(addrs[0].addr).add(addrs[1].addr);
    const side = (rtp: dgram.Socket, rtcp: dgram.Socket): Side => ({ rtp, rtcp, party: null, latchedRtp: null, latchedRtcp: null, sent: 0, q: newQuality() });
    const pair: Pair = { sides: { 4: side(socks[0], socks[1]), 6: side(socks[2], socks[3]) }, active: false, rx: 0 };
    for (const f of [4, 6] as Family[]) {
      pair.sides[f].rtp.on('message', (msg, r) => this.onPacket(pair, f, false, msg, r.address, r.port));
      pair.sides[f].rtcp.on('message', (msg, r) => this.onPacket(pair, f, true, msg, r.address, r.port));
    }
    this.pairs.set(port, pair);
    return true;
  }

  unbind(port: number): void {
    const pair = this.pairs.get(port);
    if (!pair) return;
    this.pairs.delete(port);
    for (const s of [pair.sides[4], pair.sides[6]]) {
      for (const sock of [s.rtp, s.rtcp]) {
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      }
    }
  }

  parties(port: number, p4: Party | null, p6: Party | null, fresh: boolean): void {
    const pair = this.pairs.get(port);
    if (!pair) return;
    for (const [f, p] of [[4, p4], [6, p6]] as const) {
      const s = pair.sides[f];
      // A re-offer that moves a party forgets what was latched on its side.
      if (fresh || (p && p.addr && s.latchedRtp && p.addr !== s.latchedRtp.addr)) {
        s.latchedRtp = null;
        s.latchedRtcp = null;
      }
      if (fresh) {
        s.sent = 0;
        s.q = newQuality();
      }
      s.party = p;
    }
    if (fresh) {
      pair.rx = 0;
      pair.active = true;
    }
  }

  detach(port: number): void {
    const pair = this.pairs.get(port);
    if (pair) pair.active = false;
  }

  pair(port: number): PairInfo {
    const p = this.pairs.get(port);
    if (!p) return { sent4: 0, sent6: 0, rx: 0, latched4: null, latched6: null, q4: report(newQuality(), 0), q6: report(newQuality(), 0) };
    const now = monoUs();
    return { sent4: p.sides[4].sent, sent6: p.sides[6].sent, rx: p.rx, latched4: p.sides[4].latchedRtp, latched6: p.sides[6].latchedRtp, q4: report(p.sides[4].q, now), q6: report(p.sides[6].q, now) };
  }

  rxOf(ports: Uint32Array, out: Float64Array): void {
    ports.forEach((p, i) => (out[i] = this.pairs.get(p)?.rx ?? 0));
  }

  counters(): PathCounters {
    return this.stats;
  }

  inject(port: number, side: Family, rtcp: boolean, src: Peer, msg: Buffer): string {
    const pair = this.pairs.get(port);
    if (!pair) return R.rtpNoSession.code;
    const before = new Map(this.stats.drops);
    this.onPacket(pair, side, rtcp, msg, src.addr, src.port);
    for (const [k, v] of this.stats.drops) if (v !== before.get(k)) return k;
    return 'sent';
  }

  close(): void {
    for (const port of [...this.pairs.keys()]) this.unbind(port);
  }

  private onPacket(pair: Pair, from: Family, rtcp: boolean, msg: Buffer, src: string, srcPort: number): void {
    if (!pair.active) {
      this.drop(R.rtpNoSession);
      return;
    }
    const here = pair.sides[from];
    const party = here.party;
    // Symmetric RTP: the first packet from the party's side latches its real source.
    const latched = rtcp ? here.latchedRtcp : here.latchedRtp;
    if (latched) {
      if (latched.addr !== src || latched.port !== srcPort) {
        this.foreign(here, src, srcPort);
        return;
      }
    } else if (this.opts.latch !== 'off') {
      if (!party) {
        this.drop(R.rtpNoParty);
        return;
      }
      // Only the party latches (SPEC 6, rtp-latch); a stranger's packets are never relayed.
      if (!latches(this.opts.latch, src, party)) {
        this.foreign(here, src, srcPort);
        return;
      }
      const peer = { addr: src, port: srcPort };
      if (rtcp) here.latchedRtcp = peer;
      else here.latchedRtp = peer;
    } else if (!party || (party.addr !== null && party.addr !== src)) {
      this.foreign(here, src, srcPort);
      return;
    }
    pair.rx++;
    observe(here.q, rtcp, msg, monoUs());
    const to: Family = from === 4 ? 6 : 4;
    const there = pair.sides[to];
    const other = there.party;
    let dest: Peer | null = rtcp ? there.latchedRtcp : there.latchedRtp;
    if (!dest) {
      if (!other || other.addr === null) {
        this.drop(R.rtpNoPeerYet);
        return;
      }
      // SPEC 11: media goes only to an address that has proven itself: the party's
      // signalling address, or (latched above) its own media source; a configured party's
      // SDP, or the relay's own address (a call that came back through a provider).
      if (other.addr !== other.signal && !other.trusted && !this.isRelaySocket(other.addr, other.rtp)) {
        this.drop(R.rtpPeerUnproven);
        return;
      }
      dest = { addr: other.addr, port: rtcp && !other.mux ? other.rtcp : other.rtp };
    }
    // SPEC 11: relay socket to relay socket would loop a packet for ever.
    if (this.isRelaySocket(src, srcPort) && this.isRelaySocket(dest.addr, dest.port)) {
      this.drop(R.rtpLoop);
      return;
    }
    const out = rtcp ? there.rtcp : there.rtp;
    if (sendQueueFull(out, RELAY_SEND_QUEUE)) {
      this.drop(R.rtpSocketError); // the kernel takes no more: dropped, as the native path does on EAGAIN
      return;
    }
    out.send(msg, dest.port, dest.addr);
    there.sent++;
    if (to === 4) {
      this.stats.packets4++;
      this.stats.bytes4 += msg.length;
    } else {
      this.stats.packets6++;
      this.stats.bytes6 += msg.length;
    }
  }

  /** A packet from another source than the side's party: dropped, and remembered for the verdict. */
  private foreign(side: Side, addr: string, port: number): void {
    side.q.foreign++;
    side.q.foreignSrc = { addr, port };
    this.drop(R.rtpForeignSource);
  }

  /** Is addr:port one of the relay's own sockets (an address it binds, a port pair it holds)? */
  private isRelaySocket(addr: string, port: number): boolean {
    return this.own.has(addr) && this.pairs.has(port - (port % 2));
  }
}

/** Does a packet from `src` latch onto `party` under `mode` (rtp-latch)? */
function latches(mode: 'strict' | 'prefix' | 'any', src: string, party: Party): boolean {
  if (mode === 'any' || src === party.addr || src === party.signal) return true;
  if (mode === 'strict' || !src.includes(':')) return false;
  const net = prefix64(src);
  return [party.addr, party.signal].some((a) => a && a.includes(':') && prefix64(a) === net);
}
