// SIP over UDP: one socket per face and generic address on sip-port (Node cannot tell the
// destination address of a datagram on a wildcard socket). Receive, run the engine, send
// from the socket of the address the engine chose.
import dgram from 'node:dgram';
import { Engine } from '../core/engine.js';
import { MAX_UDP } from '../core/transport.js';
import { Action } from '../core/types.js';
import { Addr, formatHostPort, HostPort, parseIp } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { Logger } from './log.js';
import { udpSocket } from './udp.js';

export class SipUdp {
  private readonly sockets = new Map<string, dgram.Socket>();

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
      sock.on('message', (msg, rinfo) => this.receive(msg, rinfo, local));
      this.sockets.set(SipUdp.key(a.addr, port), sock);
    }
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo, local: HostPort): void {
    try {
      const a = parseIp(rinfo.address);
      if (!a) {
        this.engine.countDrop(R.badSource);
        return;
      }
      const src: HostPort = { addr: a.addr, family: a.family, port: rinfo.port };
      if (this.log.debugEnabled) this.log.debug('sip in', { from: formatHostPort(src), to: formatHostPort(local), bytes: msg.length, first: firstLine(msg) });
      this.deliver(this.engine.handle(msg, src, local, 'udp'));
    } catch (err) {
      this.engine.count(R.internalError.code);
      this.log.error('SIP handler failed', { error: (err as Error).stack });
    }
  }

  /** Send one datagram from the socket of act.from. */
  send(act: Extract<Action, { type: 'send' }>): void {
    const sock = this.sockets.get(SipUdp.key(act.from.addr, act.from.port));
    if (!sock) {
      this.engine.countDrop(R.noLocalSocket);
      return;
    }
    const data = Buffer.from(act.data, 'latin1');
    if (data.length > MAX_UDP) {
      this.engine.countDrop(R.tooLargeForUdp);
      return;
    }
    if (this.log.debugEnabled) this.log.debug('sip out', { from: formatHostPort(act.from), to: formatHostPort(act.to), bytes: data.length, first: firstLine(data) });
    sock.send(data, act.to.port, act.to.addr);
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
  }
}

export function firstLine(b: Buffer): string {
  const s = b.subarray(0, 200).toString('latin1');
  const i = s.indexOf('\r');
  return i < 0 ? s : s.slice(0, i);
}
