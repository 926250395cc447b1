// SIP over UDP: one socket per face and generic address on sip-port (Node cannot tell the
// destination address of a datagram on a wildcard socket). Receive, run the engine, send
// from the socket of the address the engine chose. The sockets are the addon's when it
// loads (sip-io, src/native/sipsock.c: a read's datagrams handed over in one call, each as a
// string, with no Buffer and no address object a datagram), else Node's dgram. With nat64
// or a prefix map line of more than 256 hosts, one native socket on the wildcard address
// serves every address of that family on sip-port instead (it tells each datagram's
// destination and sends from a chosen source, the 2^32 addresses of a nat64 prefix too).
import dgram from 'node:dgram';
import { constants } from 'node:os';
import { Engine } from '../core/engine.js';
import { MAX_UDP, Transport } from '../core/transport.js';
import { Action } from '../core/types.js';
import { Addr, Family, formatHostPort, HostPort, parseIp, withPort } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { Addon, chooseNative, NativeChoice, errnoName, requireNative } from './datapath-native.js';
import { Logger } from './log.js';
import type { Outbox } from './outbox.js';
import { SIP_SEND_QUEUE, sendQueueFull, udpSocket } from './udp.js';
import { FULL_READ, udpReads } from './turn.js';

interface NativeSock {
  addon: Addon;
  h: unknown;
  port: number;
}

const { EAGAIN, ENOBUFS } = constants.errno;

/** Datagrams a socket reads in one wake-up, at most: sipsock.c's BATCH, and libuv's for Node's dgram (turn.ts). */
const NATIVE_BATCH = 64;
const DGRAM_BATCH = 32;

export class SipUdp {
  private readonly sockets = new Map<string, dgram.Socket>();
  /** Addresses served by the addon's socket (sipsock.c), when it loads: no per-datagram objects. */
  private readonly natives = new Map<string, NativeSock>();
  private readonly any = new Map<Family, NativeSock>();

  /** hep ADDR:PORT: every message in and out, mirrored. */
  mirror: ((data: Buffer | string, src: HostPort, dst: HostPort, transport: Transport) => void) | null = null;

  /** What serves the addresses of start(): `native` (the addon's sockets) or `js` (Node's dgram). */
  readonly io: 'native' | 'js';
  /** The addon when sip-io is native (the HEP mirror sends through it too). */
  readonly addon: Addon | null;

  /** sip-io: native or js as asked; auto: native when the addon loads. Throws for native when it does not. */
  /** outbox: a read's sends held and sent together (outbox.ts); the addon's sockets queue them (sipHold). */
  constructor(private readonly engine: Engine, private readonly log: Logger, private readonly deliver: (actions: Action[]) => void, choice: NativeChoice = 'js', private readonly outbox?: Outbox) {
    const { addon, fellBack } = chooseNative('sip-io', choice);
    if (fellBack) log.warn('the native addon does not load: SIP over UDP through Node\'s dgram (sip-io js)', { error: fellBack.message });
    this.addon = addon;
    this.io = this.addon ? 'native' : 'js';
    if (addon) outbox?.hook(() => addon.sipHold(true), () => addon.sipHold(false));
  }

  /** A socket read a whole batch in a turn (turn.ts). */
  private readonly fullRead = (): void => this.engine.count(FULL_READ);

  private static key(addr: string, port: number): string {
    return `${addr}|${port}`;
  }

  /** Bind every address; rejects with an Error whose message names the address that failed. */
  async start(addrs: Addr[], port: number): Promise<void> {
    const addon = this.addon;
    for (const a of addrs) {
      const local: HostPort = withPort(a, port);
      // sip-io native: a read's datagrams in one call, each as a string (sipsock.c); receive() catches per datagram.
      if (addon) {
        const reads = udpReads(NATIVE_BATCH, this.fullRead);
        const h = addon.sipOpen(a.family, port, (...list) => {
          if (typeof list[0] === 'number') return this.nativeSendFailed(-list[0], list[1] as number, local); // queued sends that failed
          reads(list.length / 3);
          this.held(() => {
            for (let i = 0; i + 2 < list.length; i += 3) this.receive(list[i] as string, list[i + 1] as string, list[i + 2] as number, local);
          });
        }, a.addr);
        if (typeof h === 'number') throw new Error(`cannot bind SIP socket ${formatHostPort(local)}: ${errnoName(-h)}`);
        this.natives.set(SipUdp.key(a.addr, port), { addon, h, port });
        continue;
      }
      const sock = udpSocket(a.family, { reuseAddr: false, recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => reject(new Error(`cannot bind SIP socket ${formatHostPort(local)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        sock.once('error', fail);
        sock.bind({ address: a.addr, port, exclusive: true }, () => {
          sock.off('error', fail);
          resolve();
        });
      });
      sock.on('error', (err) => this.sendFailed(local, err.message));
      const reads = udpReads(DGRAM_BATCH, this.fullRead);
      sock.on('message', (msg, rinfo) => {
        reads(1);
        this.receive(msg, rinfo.address, rinfo.port, local);
      });
      this.sockets.set(SipUdp.key(a.addr, port), sock);
    }
  }

  /** Every address of family f on `port` through one native socket; an Error when the addon does not load or the port does not bind. */
  startAny(f: Family, port: number, why: string): void {
    const addon = this.addon ?? requireNative(why); // sip-io js, or auto without it: the wildcard needs it all the same
    const reads = udpReads(NATIVE_BATCH, this.fullRead);
    const h = addon.sipOpen(f, port, (...list) => {
      if (typeof list[0] === 'number') return this.nativeSendFailed(-list[0], list[1] as number, { addr: f === 6 ? '::' : '0.0.0.0', family: f, port });
      reads(list.length / 4);
      this.held(() => {
        for (let i = 0; i + 3 < list.length; i += 4) {
          const dst = parseIp(list[i + 3] as string);
          if (dst) this.receive(list[i] as string, list[i + 1] as string, list[i + 2] as number, withPort(dst, port));
        }
      });
    });
    if (typeof h === 'number') throw new Error(`cannot bind SIP socket ${f === 6 ? '[::]' : '0.0.0.0'}:${port}: ${errnoName(-h)}`);
    this.any.set(f, { addon, h, port });
  }

  /** A read's datagrams: their sends over TCP held too (the addon holds its own for the read). */
  private held(fn: () => void): void {
    if (this.outbox) this.outbox.run(fn);
    else fn();
  }

  private receive(msg: Buffer | string, srcAddr: string, srcPort: number, local: HostPort): void {
    try {
      const a = parseIp(srcAddr);
      if (!a) {
        this.engine.countDrop(R.badSource);
        return;
      }
      const src: HostPort = withPort(a, srcPort);
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
    const k = SipUdp.key(act.from.addr, act.from.port);
    // The wildcard socket sends from any source it is told (FREEBIND): only from our own.
    const w = this.any.get(act.from.family);
    const nat = this.natives.get(k) ?? (w && act.from.port === w.port && this.engine.map.isOurs(act.from.addr) ? w : null);
    const sock = nat ? null : this.sockets.get(k);
    if (!sock && !nat) {
      this.engine.countDrop(R.noLocalSocket);
      return;
    }
    // One char per byte (latin1): the string's length is the datagram's.
    if (act.data.length > MAX_UDP) {
      this.engine.countDrop(R.tooLargeForUdp);
      return;
    }
    if (this.log.debugEnabled) this.log.debug('sip out', { from: formatHostPort(act.from), to: formatHostPort(act.to), bytes: act.data.length, first: firstLine(act.data) });
    // A Buffer only where one is needed (dgram), made once; hep writes the text into its own.
    const buf = sock ? Buffer.from(act.data, 'latin1') : null;
    this.mirror?.(buf ?? act.data, act.from, act.to, 'udp');
    // Without a callback, dgram drops a send's error silently (only a lookup's is emitted).
    if (sock && buf) {
      if (sendQueueFull(sock, SIP_SEND_QUEUE)) this.engine.countDrop(R.sendBufferFull); // as sip-io native drops on EAGAIN
      else sock.send(buf, act.to.port, act.to.addr, (err) => err && this.sendFailed(act.from, (err as NodeJS.ErrnoException).code ?? err.message));
    } else if (nat) {
      // Within a read's callback the addon queues it and sends the read's answers together
      // (sendmmsg); a failure then comes to the socket's callback, after the read.
      const n = nat.addon.sipSend(nat.h, act.data, act.from.addr, act.to.addr, act.to.port);
      if (n < 0) this.nativeSendFailed(-n, 1, act.from);
    }
  }

  /** `count` datagrams of an addon's socket failed with errno: sipSend's return, or its report after a read (cb(-errno, count)). */
  private nativeSendFailed(errno: number, count: number, from: HostPort): void {
    for (let i = 0; i < count; i++) {
      // Datagrams the kernel has not sent yet fill the buffer: drop and count (Node's dgram queues instead).
      // ENOBUFS: a full queue discipline, which Linux tells a UDP sender only with IP_RECVERR
      // (not set here; without it the send succeeds and Udp SndbufErrors counts the drop).
      if (errno === EAGAIN || errno === ENOBUFS) this.engine.countDrop(R.sendBufferFull);
      else this.sendFailed(from, errnoName(errno));
    }
  }

  /** Counted every time; logged as often as the log's repeat limit lets (SPEC 11). */
  private sendFailed(from: HostPort, error: string): void {
    this.engine.count('sip-socket-error');
    this.log.warn('SIP socket error', { local: formatHostPort(from), error });
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
    const n = this.natives.get(k);
    if (n) n.addon.sipClose(n.h);
    this.natives.delete(k);
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
    for (const w of [...this.any.values(), ...this.natives.values()]) w.addon.sipClose(w.h);
    this.any.clear();
    this.natives.clear();
  }
}

export function firstLine(b: Buffer | string): string {
  const s = typeof b === 'string' ? b.slice(0, 200) : b.subarray(0, 200).toString('latin1');
  const i = s.indexOf('\r');
  return i < 0 ? s : s.slice(0, i);
}
