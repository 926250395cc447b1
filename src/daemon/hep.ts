// HEP traces (sipproxy64(8) TROUBLESHOOTING): every SIP message in and out is mirrored as a
// HEPv3 datagram (sipcapture's HEP specification: "HEP3", then typed chunks) to a Homer
// collector or `sngrep -L`, so they show the proxy's own view of each call. Best effort:
// a datagram that cannot be sent is counted, never retried; SIP never waits for it.
import type dgram from 'node:dgram';
import type { Transport } from '../core/transport.js';
import { addrBytes, HostPort } from '../net/addr.js';
import type { Addon, Handle } from './datapath-native.js';
import { SIP_SEND_QUEUE, sendQueueFull, udpSocket } from './udp.js';

const IPPROTO: Record<Transport, number> = { udp: 17, tcp: 6, tls: 6 };

/** engine.counters: HEP copies sent and failed (sipproxy64_hep_datagrams_total). */
export const HEP_SENT = 'hep-sent';
export const HEP_FAILED = 'hep-failed';

/** An address as it goes on the wire, kept: a proxy mirrors the same few parties' addresses (parsing each was 4% of a call's CPU). */
const wire = new Map<string, Buffer>();
function wireBytes(a: HostPort): Buffer {
  let b = wire.get(a.addr);
  if (!b) {
    if (wire.size >= 4096) wire.clear();
    wire.set(a.addr, (b = addrBytes(a)));
  }
  return b;
}

/** A generic chunk's head (vendor 0) at o: its type and its length, the 6 bytes of the head included. Returns where its value goes. */
function head(b: Buffer, o: number, type: number, len: number): number {
  b.writeUInt32BE(type, o); // vendor 0, then the type
  b.writeUInt16BE(6 + len, o + 4);
  return o + 6;
}

/** The chunks' sizes besides the addresses and the payload: 11 heads, family, protocol, two ports, seconds, microseconds, SIP, capture id. */
const FIXED = 6 + 11 * 6 + 1 + 1 + 2 + 2 + 4 + 4 + 1 + 4;

/** A HEPv3 packet for one SIP message (protocol type 1: SIP), written into one Buffer. payload: bytes, or text of one char per byte. */
export function hep3(payload: Buffer | string, src: HostPort, dst: HostPort, transport: Transport, nowMs: number, captureId: number): Buffer {
  const v6 = src.family === 6;
  const s = wireBytes(src);
  const d = wireBytes(dst);
  const b = Buffer.allocUnsafe(FIXED + s.length + d.length + payload.length);
  b.write('HEP3', 0, 'latin1');
  b.writeUInt16BE(b.length, 4);
  let o = head(b, 6, 0x0001, 1); //   IP protocol family: AF_INET6 / AF_INET
  o = b.writeUInt8(v6 ? 10 : 2, o);
  o = b.writeUInt8(IPPROTO[transport], head(b, o, 0x0002, 1)); // IP protocol: UDP or TCP
  o = head(b, o, v6 ? 0x0005 : 0x0003, s.length);
  o += s.copy(b, o);
  o = head(b, o, v6 ? 0x0006 : 0x0004, d.length);
  o += d.copy(b, o);
  o = b.writeUInt16BE(src.port, head(b, o, 0x0007, 2));
  o = b.writeUInt16BE(dst.port, head(b, o, 0x0008, 2));
  o = b.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, head(b, o, 0x0009, 4));
  o = b.writeUInt32BE((nowMs % 1000) * 1000, head(b, o, 0x000a, 4));
  o = b.writeUInt8(1, head(b, o, 0x000b, 1)); // SIP
  o = b.writeUInt32BE(captureId >>> 0, head(b, o, 0x000c, 4));
  o = head(b, o, 0x000f, payload.length);
  if (typeof payload === 'string') b.write(payload, o, 'latin1');
  else payload.copy(b, o);
  return b;
}

/**
 * The mirror: one socket towards the collector. With the native addon (sip-io native), the
 * addon's socket: a datagram mirrored while a read's messages are handled goes out with the
 * read's answers, one sendmmsg a socket (sipsock.c), where Node's dgram makes a system call,
 * a send request and a callback of each (HEP on tripled a call's CPU, bench/README.md).
 */
export class HepMirror {
  private readonly sock: dgram.Socket | null = null;
  private readonly native: { addon: Addon; h: Handle; from: string } | null = null;
  // dgram: until its connect completes (a turn after start-up) copies are counted failed;
  // if it fails (no route to the collector yet), each copy names the collector, as before.
  private via: 'connecting' | 'connected' | 'address' = 'connecting';
  sent = 0;
  failed = 0;

  /** count: each copy sent (HEP_SENT) or failed (HEP_FAILED), for the metrics; a queued copy that then failed counts -1 sent. */
  constructor(private readonly to: HostPort, private readonly captureId: number, private readonly now: () => number = Date.now, addon: Addon | null = null, private readonly count: (what: string, n: number) => void = () => {}) {
    const any = to.family === 6 ? '::' : '0.0.0.0';
    // A port the kernel chooses, connected to the collector: the kernel drops what anyone
    // else sends it (SPEC 11); what the collector sends is read and let go.
    // No route to it yet (ENETUNREACH at start): unconnected, so copies go once there is one.
    const cb = (...list: Array<string | number>): void => this.reported(list);
    let h = addon ? addon.sipOpen(to.family, 0, cb, any, to.addr, to.port) : -1;
    if (addon && typeof h === 'number') h = addon.sipOpen(to.family, 0, cb, any);
    if (addon && typeof h !== 'number') {
      this.native = { addon, h, from: any }; // the source: the route's (pktinfo of the unspecified address)
      return;
    }
    this.sock = udpSocket(to.family); // an IP literal: no lookup, so a send reaches libuv at once
    // Connected, as the addon's: the kernel drops what anyone else sends it (SPEC 11). An
    // absent collector's port unreachable comes as an error event about a copy already
    // counted sent (a send's own failure comes to its callback).
    this.sock.on('error', () => {});
    // Node calls back with the error when the connect fails (@types/node does not say so).
    this.sock.connect(to.port, to.addr, (...err: unknown[]) => (this.via = err[0] ? 'address' : 'connected'));
    this.sock.unref();
  }

  /** Which way it sends: the addon's socket, or Node's dgram (no addon, or it could not bind). */
  get io(): 'native' | 'js' {
    return this.native ? 'native' : 'js';
  }

  /** The addon's report after a read: cb(-errno, count) for queued datagrams that failed; a datagram to it (text first) is let go. */
  private reported(list: Array<string | number>): void {
    if (typeof list[0] !== 'number') return;
    const n = list[1] as number;
    this.add(-n, n); // counted sent when queued
  }

  private add(sent: number, failed: number): void {
    this.sent += sent;
    this.failed += failed;
    if (sent) this.count(HEP_SENT, sent);
    if (failed) this.count(HEP_FAILED, failed);
  }

  /** Mirror one message (bytes, or text of one char per byte); src and dst of one family (they always are: a socket has one). */
  sip(payload: Buffer | string, src: HostPort, dst: HostPort, transport: Transport): void {
    // SPEC 11: a collector behind a congested link must not grow our memory: the addon drops
    // what the kernel does not take (EAGAIN), dgram's queue is bounded (udp.ts).
    if (payload.length > 65000 || src.family !== dst.family || (this.sock && (this.via === 'connecting' || sendQueueFull(this.sock, SIP_SEND_QUEUE)))) {
      this.add(0, 1);
      return;
    }
    const pkt = hep3(payload, src, dst, transport, this.now(), this.captureId);
    if (this.native) {
      // Within a read (or sipHold) queued, its failure reported after the flush; else sent now.
      const ok = this.native.addon.sipSend(this.native.h, pkt, this.native.from, this.to.addr, this.to.port) >= 0;
      this.add(Number(ok), Number(!ok));
    } else if (this.sock) {
      const done = (err: Error | null): void => this.add(Number(!err), Number(!!err));
      if (this.via === 'connected') this.sock.send(pkt, done);
      else this.sock.send(pkt, this.to.port, this.to.addr, done); // Node refuses an address once connected
    }
  }

  /** Bytes waiting in Node's queue (dgram; the addon keeps none past a flush). */
  waiting(): number {
    return this.sock ? this.sock.getSendQueueSize() : 0;
  }

  close(): void {
    if (this.native) this.native.addon.sipClose(this.native.h);
    else this.sock?.close();
  }
}
