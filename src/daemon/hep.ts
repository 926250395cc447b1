// HEP traces (sipproxy64(8) TROUBLESHOOTING): every SIP message in and out is mirrored as a
// HEPv3 datagram (sipcapture's HEP specification: "HEP3", then typed chunks) to a Homer
// collector or `sngrep -L`, so they show the proxy's own view of each call. Best effort:
// a datagram that cannot be sent is counted, never retried; SIP never waits for it.
import type dgram from 'node:dgram';
import type { Transport } from '../core/transport.js';
import { addrBytes, HostPort } from '../net/addr.js';
import { SIP_SEND_QUEUE, sendQueueFull, udpSocket } from './udp.js';

const IPPROTO: Record<Transport, number> = { udp: 17, tcp: 6, tls: 6 };

/** One generic chunk (vendor 0): type, length including its 6-byte header, value. */
function chunk(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt16BE(0, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt16BE(6 + value.length, 4);
  return Buffer.concat([h, value]);
}

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};


/** A HEPv3 packet for one SIP message (protocol type 1: SIP). */
export function hep3(payload: Buffer, src: HostPort, dst: HostPort, transport: Transport, nowMs: number, captureId: number): Buffer {
  const v6 = src.family === 6;
  const chunks = Buffer.concat([
    chunk(0x0001, u8(v6 ? 10 : 2)), //           IP protocol family: AF_INET6 / AF_INET
    chunk(0x0002, u8(IPPROTO[transport])), //     IP protocol: UDP or TCP
    chunk(v6 ? 0x0005 : 0x0003, addrBytes(src)),
    chunk(v6 ? 0x0006 : 0x0004, addrBytes(dst)),
    chunk(0x0007, u16(src.port)),
    chunk(0x0008, u16(dst.port)),
    chunk(0x0009, u32(Math.floor(nowMs / 1000))),
    chunk(0x000a, u32((nowMs % 1000) * 1000)),
    chunk(0x000b, u8(1)), //                      SIP
    chunk(0x000c, u32(captureId)),
    chunk(0x000f, payload),
  ]);
  return Buffer.concat([Buffer.from('HEP3'), u16(6 + chunks.length), chunks]);
}

/** The mirror: one socket towards the collector. */
export class HepMirror {
  private readonly sock: dgram.Socket;
  sent = 0;
  failed = 0;

  constructor(private readonly to: HostPort, private readonly captureId: number, private readonly now: () => number = Date.now) {
    this.sock = udpSocket(to.family); // an IP literal: no lookup, so a send reaches libuv at once
    this.sock.on('error', () => this.failed++);
    // Bound now, not by the first send: until a socket is bound, Node holds its sends in a
    // queue of its own, which the bound below cannot see.
    this.sock.bind(0);
    this.sock.unref();
  }

  /** Mirror one message; src and dst of one family (they always are: a socket has one). */
  sip(payload: Buffer, src: HostPort, dst: HostPort, transport: Transport): void {
    // SPEC 11: a collector behind a congested link must not grow our memory (udp.ts).
    if (payload.length > 65000 || src.family !== dst.family || sendQueueFull(this.sock, SIP_SEND_QUEUE)) {
      this.failed++;
      return;
    }
    this.sock.send(hep3(payload, src, dst, transport, this.now(), this.captureId), this.to.port, this.to.addr, (err) => (err ? this.failed++ : this.sent++));
  }

  close(): void {
    this.sock.close();
  }
}
