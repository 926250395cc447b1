// SIP over TCP (RFC 3261 18), and over TLS (RFC 5630) with a key and certificate: listens
// on every SIP address; frames messages by
// Content-Length; answers CRLF keep-alives; sends a response on the connection its request
// came on (named by the Via's received=/rport=), and opens outgoing connections on demand
// from the right local address. Idle connections close; connections per source are limited.
import net from 'node:net';
import tls from 'node:tls';
import { Engine } from '../core/engine.js';
import type { Registration, Transport } from '../core/transport.js';
import { Action } from '../core/types.js';
import { Addr, formatHostPort, HostPort, parseIp, sourceKey, withPort } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { StreamFramer } from '../sip/stream.js';
import { Logger } from './log.js';
import { TcpRegistrations } from './tcp-registrations.js';
import { serverIdentity } from './tls-identity.js';
import { firstLine } from './sip-udp.js';
import type { ConnectionBudget } from './tcp-limits.js';
import { ConnectionTurns } from './turn.js';
import type { Outbox } from './outbox.js';

export interface TcpOptions {
  readonly transport: 'tcp' | 'tls';
  readonly tls?: { key: Buffer; cert: Buffer; ca?: Buffer }; // for transport 'tls'
  readonly idleMs: number;
  readonly connectTimeoutMs: number;
  readonly maxPerSource: number; //      incoming connections from one source (an IPv6 /64), handshakes included
  readonly maxPerDestination: number; // outgoing connections to one address (any port)
  readonly budget: ConnectionBudget; //  all connections, both ways, of TCP and TLS together
  readonly handshakeMs: number; //       a TLS handshake must finish within this
  readonly messageMs: number; //         a message must be complete within this of its first byte
  readonly writeMs: number; //           bytes waiting to go out must move within this
  readonly maxUnsentPerConnection: number; // bytes waiting to go out on one connection
  readonly names?: (addr: string) => readonly string[]; // TLS: the host names an address was resolved from (tls-identity.ts)
  readonly outbox?: Outbox; //           a read's sends held and sent together (outbox.ts)
}

type Send = Extract<Action, { type: 'send' }>;

interface Conn {
  readonly sock: net.Socket;
  readonly remote: HostPort;
  readonly local: HostPort; // our SIP address (the port is sip-port even for outgoing ones)
  connected: boolean;
  pending: Send[]; // written once connected; each told `unreachable` if it never is
  waiting: number; // their bytes, in the budget's unsent (SPEC 11: a peer slow to connect holds no more)
  unsent: number; //  bytes written that the kernel has not taken yet
  moved: number; //   when it last took some (Date.now), while unsent > 0
  regs: TcpRegistrations | null; // the registrations made over it
}

export class SipTcp {
  private readonly servers = new Map<string, net.Server>(); // by 'addr|port'
  private readonly conns = new Map<string, Conn>();
  private readonly perSource = new Map<string, number>(); // incoming, from the raw connection on
  private readonly perDest = new Map<string, number>(); //   outgoing
  private readonly stalled = new Set<Conn>(); //            connections with bytes waiting to go out
  private writeTimer: NodeJS.Timeout | null = null; //      checks them while there are any
  private readonly corked = new Set<net.Socket>(); //       written to while the outbox holds

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly deliver: (actions: Action[]) => void,
    private readonly opts: TcpOptions,
  ) {
    // A connection's messages of one read go out in one write (Node's cork: one writev).
    opts.outbox?.hook(null, () => {
      for (const sock of this.corked) sock.uncork();
      this.corked.clear();
    });
  }

  private static key(hp: HostPort, accepted: boolean): string {
    return `${hp.addr}|${hp.port}${accepted ? '|in' : ''}`;
  }

  /**
   * The connection to `hp`. A response (RFC 3261 18.2.2) and a party's own flow (RFC 5626
   * 5.3) take the one it opened first. A request over TLS to an address known by a name
   * (a map line's uplink, a name resolved for masquerading) takes only one the proxy opened
   * and whose certificate proved that name (RFC 5922 7.3): a peer that connected to us
   * from that address and port proved none (SPEC 11: a party on the path would get the
   * provider's requests); a new connection is opened beside it.
   */
  private find(hp: HostPort, peerFirst: boolean): Conn | undefined {
    const opened = this.conns.get(SipTcp.key(hp, false));
    if (peerFirst) return this.conns.get(SipTcp.key(hp, true)) ?? opened;
    if (opened) return opened; // the names are looked up only when the choice is the peer's
    if (this.opts.transport === 'tls' && (this.opts.names?.(hp.addr).length ?? 0) > 0) return undefined;
    return this.conns.get(SipTcp.key(hp, true));
  }

  /** hep ADDR:PORT: every message in and out, mirrored. */
  mirror: ((data: Buffer | string, src: HostPort, dst: HostPort, transport: Transport) => void) | null = null;

  /** The connection budget this transport shares (TCP and TLS: one). */
  get budget(): ConnectionBudget {
    return this.opts.budget;
  }

  get size(): number {
    return this.conns.size;
  }

  /** Connections a registration keeps open (sipproxy64_sip_connections_registered). */
  get registered(): number {
    const now = Date.now();
    let n = 0;
    for (const c of this.conns.values()) if (c.regs?.holds(now)) n++;
    return n;
  }

  async start(addrs: Addr[], port: number): Promise<void> {
    for (const a of addrs) {
      const local: HostPort = withPort(a, port);
      // Limits apply to the raw connection, before a TLS handshake (SPEC 11: a handshake that
      // never finishes holds a place too, and ends after handshakeMs).
      const server = this.opts.transport === 'tls'
        ? tls.createServer({ ...this.opts.tls, noDelay: true, handshakeTimeout: this.opts.handshakeMs }, (sock) => this.accept(sock, local))
        : net.createServer({ noDelay: true });
      server.on('connection', (raw: net.Socket) => {
        if (this.admit(raw) && this.opts.transport === 'tcp') this.accept(raw, local);
      });
      if (this.opts.transport === 'tls') {
        server.on('tlsClientError', (_e: Error, sock: tls.TLSSocket) => {
          this.engine.countDrop(R.tlsHandshakeFailed);
          sock.destroy(); // a listener for this event keeps Node from closing it
        });
      }
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => reject(new Error(`cannot listen on SIP ${this.opts.transport.toUpperCase()} ${formatHostPort(local)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        server.once('error', fail);
        server.listen({ host: a.addr, port, exclusive: true }, () => {
          server.off('error', fail);
          resolve();
        });
      });
      server.on('error', (err) => this.log.warn('SIP TCP server error', { local: formatHostPort(local), error: err.message }));
      this.servers.set(`${a.addr}|${port}`, server);
    }
  }

  /** An incoming connection within the limits per source and in all, counted until it closes. */
  private admit(raw: net.Socket): boolean {
    const a = parseIp(raw.remoteAddress ?? '');
    if (!a || raw.remotePort === undefined) {
      raw.destroy();
      return false;
    }
    if (!this.engine.admitConnection(a)) {
      raw.destroy(); // a stranger over flood-limit: dropped before any handshake, counted
      return false;
    }
    const src = sourceKey(a); // an IPv6 host has its whole /64 to connect from (SPEC 11)
    const n = this.perSource.get(src) ?? 0;
    if (n >= this.opts.maxPerSource || this.opts.budget.open >= this.opts.budget.max) {
      this.engine.countDrop(n >= this.opts.maxPerSource ? R.tcpTooManyFromSource : R.tcpTooManyConnections);
      raw.destroy();
      return false;
    }
    this.perSource.set(src, n + 1);
    this.opts.budget.open++;
    raw.once('close', () => {
      this.opts.budget.open--;
      decrement(this.perSource, src);
    });
    return true;
  }

  private accept(sock: net.Socket, local: HostPort): void {
    const a = parseIp(sock.remoteAddress ?? '');
    if (!a || sock.remotePort === undefined) {
      sock.destroy();
      return;
    }
    this.attach(sock, local, withPort(a, sock.remotePort), true);
  }

  /** `accepted`: the peer opened it (and it is open); else we are opening it. Each kind has its own key (find). */
  private attach(sock: net.Socket, local: HostPort, remote: HostPort, accepted: boolean): Conn {
    const c: Conn = { sock, remote, local, connected: accepted, pending: [], waiting: 0, unsent: 0, moved: 0, regs: null };
    const key = SipTcp.key(remote, accepted);
    this.conns.set(key, c);
    const framer = new StreamFramer();
    sock.setTimeout(this.opts.idleMs, () => sock.destroy());
    // SPEC 11: the message in progress must end within messageMs of its first byte.
    let slow: NodeJS.Timeout | null = null;
    const expire = (): void => {
      this.engine.countDrop(R.tcpReadTimeout);
      sock.destroy();
    };
    sock.on('error', () => this.engine.count('tcp-socket-error'));
    sock.on('close', () => {
      if (slow) clearTimeout(slow);
      this.opts.budget.pending -= framer.pending;
      if (this.conns.get(key) === c) this.conns.delete(key);
    });
    const failed = (err: unknown): void => {
      this.engine.count(R.internalError.code);
      this.log.error('SIP TCP handler failed', { error: (err as Error).stack });
      sock.destroy();
    };
    // SPEC 11: its share of each turn of the loop (turn.ts); its messages go through handle.
    const turns = new ConnectionTurns(this.opts.budget, sock, (batch) => {
      const each = (): void => {
        for (const msg of batch) {
          if (this.log.debugEnabled) this.log.debug('sip in', { from: formatHostPort(remote), to: formatHostPort(local), transport: this.opts.transport, bytes: msg.length, first: firstLine(msg) });
          this.mirror?.(msg, remote, local, this.opts.transport);
          this.deliver(this.engine.handle(msg, remote, local, this.opts.transport));
        }
      };
      if (this.opts.outbox && batch.length > 1) this.opts.outbox.run(each); // their sends together
      else each();
    }, failed);
    sock.on('data', (chunk: Buffer) => {
      try {
        const before = framer.pending;
        const f = framer.push(chunk);
        this.opts.budget.pending += framer.pending - before;
        if (framer.pending === 0) {
          if (slow) clearTimeout(slow);
          slow = null;
        } else if (!slow) slow = setTimeout(expire, this.opts.messageMs);
        else if (f.messages.length > 0) slow.refresh(); // the one in progress began in this read
        // RFC 5626 4.4.1 pong. SPEC 11: one a read however many pings it held, and none while
        // earlier bytes wait to go out (a peer that does not read cannot grow our buffer);
        // every ping without its own pong is a counted drop (keepalive).
        const pong = f.pings > 0 && c.unsent === 0;
        if (pong) this.write(c, Buffer.from('\r\n'));
        if (f.pings > Number(pong)) this.engine.countDrop(R.keepalive, f.pings - Number(pong));
        turns.read(chunk.length, f.messages);
        if (f.error) {
          turns.flush(); // the messages before the error go through, then it closes
          this.engine.countDrop(f.error);
          sock.destroy();
        } else if (framer.pending > 0 && this.opts.budget.pending > this.opts.budget.maxPending) {
          // The messages this read completed go through; the rest would pass the bound.
          turns.flush();
          this.engine.countDrop(R.tcpPendingLimit);
          sock.destroy(); // its bytes leave the budget when it closes
        } else turns.serve();
      } catch (err) {
        failed(err);
      }
    });
    return c;
  }

  /** Send on the connection to act.to, or open one from act.from. */
  send(act: Send): void {
    const data = Buffer.from(act.data, 'latin1');
    // RFC 5626 5.3: the party's own connection to us first (a phone behind a firewall, or
    // without a TLS server certificate, takes no new one); it is one of act.to's address.
    let c = (act.flow ? this.find(withPort(act.to, act.flow), true) : undefined) ?? this.find(act.to, act.method === undefined);
    // RFC 3261 18.2.2: a response whose request's connection has closed goes on a new one to
    // received= and the sent-by port (a server listens there; rport= named the closed one).
    const to = !c && act.reopen ? act.reopen : act.to;
    if (to !== act.to) c = this.find(to, true);
    if (act.ping) {
      // A keep-alive goes on the peer's connection or nowhere (it is behind a NAT).
      if (c?.connected) this.write(c, data);
      else if (act.unreachable) this.deliver(act.unreachable());
      return;
    }
    if (!c) {
      // SPEC 11: routing chose this target; still, bounded per destination and in all.
      const n = this.perDest.get(to.addr) ?? 0;
      if (n >= this.opts.maxPerDestination || this.opts.budget.open >= this.opts.budget.max) {
        this.engine.countDrop(n >= this.opts.maxPerDestination ? R.tcpTooManyToDestination : R.tcpTooManyConnections);
        this.failed([act], 'over the connection limits');
        return;
      }
      this.perDest.set(to.addr, n + 1);
      this.opts.budget.open++;
      const opts = { host: to.addr, port: to.port, localAddress: act.from.addr, family: to.family, noDelay: true };
      // TLS: our certificate too, for a peer that asks for one (mutual TLS, RFC 5922 7.4: a provider's SBC).
      const sock = this.opts.transport === 'tls' ? tls.connect({ ...opts, ...this.opts.tls, ...serverIdentity(this.opts.names?.(to.addr) ?? []) }) : net.connect(opts);
      c = this.attach(sock, act.from, to, false);
      const conn = c;
      let why = 'closed';
      const t = setTimeout(() => {
        if (!conn.connected) {
          this.engine.countDrop(R.tcpConnectTimeout);
          why = `no answer within ${this.opts.connectTimeoutMs} ms`;
          sock.destroy();
        }
      }, this.opts.connectTimeoutMs);
      // A certificate refused says whom it names (ERR_TLS_CERT_ALTNAME_INVALID: "Host: a. is not in the cert's altnames: DNS:b").
      sock.once('error', (err: NodeJS.ErrnoException) => (why = err.code && err.code.startsWith('ERR_TLS') ? `${err.code}: ${err.message}` : err.code ?? err.message));
      sock.once(this.opts.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(t);
        conn.connected = true;
        this.unhold(conn);
        for (const a of conn.pending) this.write(conn, Buffer.from(a.data, 'latin1'));
        conn.pending = [];
      });
      sock.once('close', () => {
        clearTimeout(t);
        this.opts.budget.open--;
        decrement(this.perDest, to.addr);
        // RFC 3261 18.4: refused, reset or timed out before it opened: never silence.
        this.unhold(conn);
        if (!conn.connected) this.failed(conn.pending, why);
        conn.pending = [];
      });
    }
    if (this.log.debugEnabled) this.log.debug('sip out', { from: formatHostPort(act.from), to: formatHostPort(c.remote), transport: this.opts.transport, bytes: data.length, first: firstLine(data) });
    this.mirror?.(data, act.from, c.remote, this.opts.transport);
    if (act.registration) this.keepFor(c, act.registration);
    if (c.connected) this.write(c, data);
    else if (this.hold(c, data.length)) c.pending.push(act);
    else this.failed([act], 'over the bound on bytes waiting to go out');
  }

  /** A registration over this connection keeps it open while it lasts (tcp-registrations.ts), never less than tcp-idle. */
  private keepFor(c: Conn, r: Registration): void {
    c.sock.setTimeout(Math.max(this.opts.idleMs, (c.regs ??= new TcpRegistrations()).note(r, Date.now()))); // the idle listener stays
  }

  /** A message waits for its connection to open: within the same bounds as written bytes. */
  private hold(c: Conn, n: number): boolean {
    if (this.overBound(c.waiting, n)) return false;
    c.waiting += n;
    this.opts.budget.unsent += n;
    return true;
  }

  /** Would n more bytes pass the bound on one connection (`held` there now) or on all? Counted if so. */
  private overBound(held: number, n: number): boolean {
    const b = this.opts.budget;
    if (held + n <= this.opts.maxUnsentPerConnection && b.unsent + n <= b.maxUnsent) return false;
    this.engine.countDrop(R.tcpWriteLimit);
    return true;
  }

  private unhold(c: Conn): void {
    this.opts.budget.unsent -= c.waiting;
    c.waiting = 0;
  }

  /**
   * Write to a connection, within the bounds on bytes waiting to go out (SPEC 11): past
   * either, the connection is closed and counted (tcp-write-limit); so is one whose waiting
   * bytes did not move for writeMs (tcp-write-timeout, checked once a second). Node calls a
   * write's callback once the kernel took it, or with an error once the socket is destroyed.
   */
  private write(c: Conn, data: Buffer): void {
    if (c.sock.destroyed) return void this.engine.count('tcp-unsent'); // closed since it was chosen
    const n = data.length;
    const b = this.opts.budget;
    if (this.overBound(c.unsent, n)) {
      c.sock.destroy();
      return;
    }
    if (c.unsent === 0) {
      c.moved = Date.now();
      this.stalled.add(c);
      this.writeTimer ??= setInterval(() => this.checkWrites(), Math.min(1000, this.opts.writeMs)).unref();
    }
    c.unsent += n;
    b.unsent += n;
    if (this.opts.outbox?.holding && !this.corked.has(c.sock)) {
      c.sock.cork(); // uncorked when the outbox lets go (the end of the read)
      this.corked.add(c.sock);
    }
    c.sock.write(data, () => {
      c.unsent -= n;
      b.unsent -= n;
      c.moved = Date.now();
      if (c.unsent === 0) this.stalled.delete(c);
    });
  }

  private checkWrites(): void {
    const limit = Date.now() - this.opts.writeMs;
    for (const c of this.stalled) {
      if (c.moved > limit) continue;
      this.stalled.delete(c);
      this.engine.countDrop(R.tcpWriteTimeout);
      c.sock.destroy(); // its writes' callbacks take its bytes out of the budget
    }
    if (this.stalled.size === 0 && this.writeTimer) {
      clearInterval(this.writeTimer);
      this.writeTimer = null;
    }
  }

  /** Messages for a next hop no connection reached: each request's fallback (UDP or a 503). */
  private failed(acts: Send[], why: string): void {
    if (acts.length === 0) return;
    this.log.warn(`SIP ${this.opts.transport.toUpperCase()} next hop unreachable`, { to: formatHostPort(acts[0].to), why, messages: acts.length });
    for (const a of acts) {
      if (a.unreachable) this.deliver(a.unreachable());
      else this.engine.count('tcp-unsent');
    }
  }

  /** Stop listening on one address (a former public address the host no longer holds). */
  release(addr: string, port: number): void {
    this.servers.get(`${addr}|${port}`)?.close();
    this.servers.delete(`${addr}|${port}`);
  }

  close(): void {
    if (this.writeTimer) clearInterval(this.writeTimer);
    this.writeTimer = null;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    for (const c of this.conns.values()) c.sock.destroy();
    this.conns.clear();
  }
}

function decrement(m: Map<string, number>, k: string): void {
  const left = (m.get(k) ?? 1) - 1;
  if (left > 0) m.set(k, left);
  else m.delete(k);
}
