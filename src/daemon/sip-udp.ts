// SIP over UDP: one socket per face and generic address on sip-port (Node cannot tell the
// destination address of a datagram on a wildcard socket). Receive, run the engine, send
// from the socket of the address the engine chose. With nat64 or a prefix map line of more
// than 256 hosts, one native socket on the wildcard address serves every address of that
// family on sip-port instead (src/native/sipsock.c: it tells each datagram's destination and
// sends from a chosen source, the 2^32 addresses of a nat64 prefix too).
import dgram from 'node:dgram';
import { Engine } from '../core/engine.js';
import { MAX_UDP, Transport } from '../core/transport.js';
import { Action } from '../core/types.js';
import { Addr, Family, formatHostPort, HostPort, parseIp } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { Addon, errnoName, loadNative } from './datapath-native.js';
import { Logger } from './log.js';
import { udpSocket } from './udp.js';

export class SipUdp {
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly any = new Map<Family, { addon: Addon; h: unknown; port: number }>();

  /** hep ADDR:PORT: every message in and out, mirrored. */
  mirror: ((data: Buffer, src: HostPort, dst: HostPort, transport: Transport) => void) | null = null;

  constructor(private readonly engine: Engine, private readonly log: Logger, private readonly deliver: (actions: Action[]) => void) {}

  private static key(addr: string, port: number): string {
    return `${addr}|${port}`;
  }

  /** Bind every address; rejects with an Error whose message names the address that failed. */
  async start(addrs: Addr[], port: number): Promise<void> {
    for (const a of addrs) {
      const local: HostPort = { addr: a.addr, family: a.family, port };
      const sock = udpSocket(a.family, { reuseAddr: false, recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => reject(new Error(`cannot bind SIP socket ${formatHostPort(local)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        sock.once('error', fail);
        sock.bind({ address: a.addr, port, exclusive: true }, () => {
          sock.off('error', fail);
          resolve();
        });
      });
      sock.on('error', (err) => {
        this.engine.count('sip-socket-error');
        this.log.warn('SIP socket error', { local: formatHostPort(local), error: err.message });
      });
      sock.on('message', (msg, rinfo) => this.receive(msg, rinfo.address, rinfo.port, local));
      this.sockets.set(SipUdp.key(a.addr, port), sock);
    }
  }

  /** Every address of family f on `port` through one native socket; an Error when the addon does not load or the port does not bind. */
  startAny(f: Family, port: number, why: string): void {
    const addon = loadNative();
    if (addon instanceof Error) throw new Error(`${why} needs the native addon (build/Release/rtp64.node; npm install builds it): ${addon.message}`);
    const h = addon.sipOpen(f, port, (msg, srcAddr, srcPort, dstAddr) => {
      const dst = parseIp(dstAddr);
      if (dst) this.receive(msg, srcAddr, srcPort, { addr: dst.addr, family: dst.family, port });
    });
    if (typeof h === 'number') throw new Error(`cannot bind SIP socket ${f === 6 ? '[::]' : '0.0.0.0'}:${port}: ${errnoName(-h)}`);
    this.any.set(f, { addon, h, port });
  }

  private receive(msg: Buffer, srcAddr: string, srcPort: number, local: HostPort): void {
    try {
      const a = parseIp(srcAddr);
      if (!a) {
        this.engine.countDrop(R.badSource);
        return;
      }
      const src: HostPort = { addr: a.addr, family: a.family, port: srcPort };
      if (this.log.debugEnabled) this.log.debug('sip in', { from: formatHostPort(src), to: formatHostPort(local), bytes: msg.length, first: firstLine(msg) });
      this.mirror?.(msg, src, local, 'udp');
      this.deliver(this.engine.handle(msg, src, local, 'udp'));
    } catch (err) {
      this.engine.count(R.internalError.code);
      this.log.error('SIP handler failed', { error: (err as Error).stack });
    }
  }

  /** Send one datagram from the socket of act.from. */
  send(act: Extract<Action, { type: 'send' }>): void {
    // The native socket sends from any source it is told (FREEBIND): only from our own.
    const w = this.any.get(act.from.family);
    const any = w && act.from.port === w.port && this.engine.map.isOurs(act.from.addr) ? w : null;
    const sock = any ? null : this.sockets.get(SipUdp.key(act.from.addr, act.from.port));
    if (!sock && !any) {
      this.engine.countDrop(R.noLocalSocket);
      return;
    }
    const data = Buffer.from(act.data, 'latin1');
    if (data.length > MAX_UDP) {
      this.engine.countDrop(R.tooLargeForUdp);
      return;
    }
    if (this.log.debugEnabled) this.log.debug('sip out', { from: formatHostPort(act.from), to: formatHostPort(act.to), bytes: data.length, first: firstLine(data) });
    this.mirror?.(data, act.from, act.to, 'udp');
    if (sock) sock.send(data, act.to.port, act.to.addr);
    else if (any) {
      const n = any.addon.sipSend(any.h, data, act.from.addr, act.to.addr, act.to.port);
      if (n < 0) {
        this.engine.count('sip-socket-error');
        this.log.warn('SIP socket error', { local: formatHostPort(act.from), error: errnoName(-n) });
      }
    }
  }

  /** Stop serving one address (a former public address the host no longer holds). */
  release(addr: string, port: number): void {
    const k = SipUdp.key(addr, port);
    try {
      this.sockets.get(k)?.close();
    } catch {
      /* already closed */
    }
    this.sockets.delete(k);
  }

  close(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.sockets.clear();
    for (const w of this.any.values()) w.addon.sipClose(w.h);
    this.any.clear();
  }
}

export function firstLine(b: Buffer): string {
  const s = b.subarray(0, 200).toString('latin1');
  const i = s.indexOf('\r');
  return i < 0 ? s : s.slice(0, i);
}
