// RTPproxy64's native packet path (issue 15): C worker threads with epoll, moving packets
// through io_uring or with batched recvmmsg/sendmmsg (media-io; src/native/), built by
// node-gyp when npm installs the package. This file loads the addon and speaks its small
// interface (src/native/addon.c).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Party } from '../media/table.js';
import { Addr, Family } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { countDrop, Datapath, PairInfo, PathCounters, PathOptions, Peer, VERDICTS } from './datapath.js';
import { fromFigures, Quality } from './quality.js';

const NONE: Quality = fromFigures(0, 0, 0, 0, 0, -1, 0, null);

export type Handle = unknown;
type NativeParty = [string | null, number, number, boolean, string | null, boolean] | null;

export interface Addon {
  create(lo: number, hi: number, threads: number, latch: number, io?: number): Handle;
  /** [threads moving packets by io_uring, io_uring's errno where it was refused or failed, threads] */
  io(h: Handle): [number, number, number];
  /** Tests only: each thread's ring then fails as the kernel's would (src/native/worker.c). */
  testBreakRings(h: Handle): number;
  bind(h: Handle, port: number, addr4: string, addr6: string): number;
  unbind(h: Handle, port: number): void;
  parties(h: Handle, port: number, p4: NativeParty, p6: NativeParty, fresh: boolean): void;
  detach(h: Handle, port: number): void;
  pair(h: Handle, port: number): Array<number | string | null>; // 25 values, see addon.c js_pair
  rx(h: Handle, ports: Uint32Array, out: Float64Array): void;
  counters(h: Handle): number[];
  inject(h: Handle, port: number, side: number, rtcp: number, addr: string, port2: number, msg: Buffer): number;
  stop(h: Handle): void;
  /** SIP over UDP on the wildcard address with each datagram's destination (src/native/sipsock.c); -errno when it cannot bind. */
  /**
   * Without addr: the wildcard address, any source. cb gets each read's datagrams in one call,
   * as its arguments, per datagram: text (one char per byte, latin1), source address, source
   * port, and on the wildcard address only the destination address. After a read's callback,
   * the datagrams sipSend queued in it go out (one sendmmsg a socket); cb(-errno, count)
   * then reports those of this socket that failed (a number first: no datagram's text).
   * With addr, port may be 0 (the kernel chooses); with peer and peerPort, connected to it
   * (only its datagrams are read).
   */
  sipOpen(family: Family, port: number, cb: (...list: Array<string | number>) => void, addr?: string, peer?: string, peerPort?: number): Handle | number;
  /** Bytes sent or -errno; within a read's callback, queued: its length (a failure comes to cb). */
  sipSend(h: Handle, msg: Buffer | string, from: string, to: string, toPort: number): number;
  /** true: sipSend queues until the last hold closes (false), which sends and reports as after a read. Returns the holds open. */
  sipHold(on: boolean): number;
  sipClose(h: Handle): void;
  /** The kernel's address notifications (src/native/addrwatch.c): cb() after each read that had one; -errno without rtnetlink. */
  addrWatch(cb: () => void): Handle | number;
  addrWatchClose(h: Handle): void;
  /** core/mac.ts's MAC under `prefix` (src/native/mac.c); absent where Node's SHA-256 is not found. */
  macer?(prefix: string): (value: string) => string;
}

const LATCH = { strict: 0, prefix: 1, any: 2, off: 3 } as const;
const IO = { auto: 0, epoll: 1, io_uring: 2 } as const;
const ERRNO = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** An errno number's name (EADDRINUSE). */
export function errnoName(n: number): string {
  return ERRNO.get(n) ?? `errno ${n}`;
}

let loaded: Addon | Error | undefined;
let loadedFrom: string | null = null;

/** The file the addon was loaded from (null: not loaded). */
export function nativeFile(): string | null {
  return loadedFrom;
}

/** The addon, or why it cannot be used (not built, or built for another Node). Loaded once.
 *  SIPPROXY64_NATIVE names another build (the sanitizer build of t/unit/daemon/native.ts). */
export function loadNative(): Addon | Error {
  if (loaded !== undefined) return loaded;
  const builds = [process.env.SIPPROXY64_NATIVE, '../../build/Release/rtp64.node', '../../../build/Release/rtp64.node'];
  const file = builds.map((b) => b && (b.startsWith('/') ? b : fileURLToPath(new URL(b, import.meta.url)))).find((f) => f && existsSync(f));
  try {
    if (!file) throw new Error('build/Release/rtp64.node is not built (npm install builds it with node-gyp)');
    loaded = createRequire(import.meta.url)(file) as Addon;
    loadedFrom = file;
  } catch (e) {
    loaded = e instanceof Error ? e : new Error(String(e));
  }
  return loaded;
}

/** The addon, for what cannot run without it (nat64's wildcard socket); else an Error naming what needs it. */
export function requireNative(what: string): Addon {
  const addon = loadNative();
  if (addon instanceof Error) throw new Error(`${what} needs the native addon (build/Release/rtp64.node; npm install builds it): ${addon.message}`);
  return addon;
}

/** An `auto|native|js` directive (media-datapath, sip-io). */
export type NativeChoice = 'auto' | 'native' | 'js';

/**
 * The one decision behind every auto|native|js directive: the addon, or null for the
 * JavaScript path. js never loads it; auto falls back when it does not load and `fellBack`
 * says why (the caller logs it once); native throws, so the daemon does not start.
 */
export function chooseNative(directive: string, choice: NativeChoice): { addon: Addon | null; fellBack: Error | null } {
  if (choice === 'js') return { addon: null, fellBack: null };
  const addon = loadNative();
  if (!(addon instanceof Error)) return { addon, fellBack: null };
  if (choice === 'native') throw new Error(`${directive} native: ${addon.message}`);
  return { addon: null, fellBack: addon };
}

const party = (p: Party | null): NativeParty => (p ? [p.addr, p.rtp, p.rtcp, p.mux, p.signal ?? null, p.trusted ?? false] : null);
/** A host and port of pair()'s values: its address text at i (null: none) and its port at i + 1. */
const peerAt = (a: ReadonlyArray<number | string | null>, i: number): Peer | null => (typeof a[i] === 'string' ? { addr: a[i] as string, port: a[i + 1] as number } : null);

export class NativeDatapath implements Datapath {
  readonly kind = 'native';
  private readonly h: Handle;
  private readonly bindDrops = new Map<string, number>(); // bind failures, counted here
  private last: PathCounters | null = null; // the counters when closed (the addon answers nothing after)

  constructor(private readonly addon: Addon, private readonly opts: PathOptions) {
    this.h = addon.create(opts.ports[0], opts.ports[1], opts.threads, LATCH[opts.latch], IO[opts.io ?? 'auto']);
  }

  io(): string {
    if (this.last) return 'epoll';
    const [uring, err, threads] = this.addon.io(this.h);
    const why = err ? `: ${errnoName(err)}` : '';
    if (uring === 0) return err ? `epoll (io_uring${why})` : 'epoll';
    // A ring that failed at run time sent its thread to epoll; the others go on with theirs.
    return uring === threads ? 'io_uring' : `io_uring (${threads - uring} of ${threads} threads on epoll${why})`;
  }

  bind(port: number, addrs: readonly [Addr, Addr]): boolean {
    if (this.last) return false;
    const err = this.addon.bind(this.h, port, addrs[0].addr, addrs[1].addr);
    if (err === 0) return true;
    const code = ERRNO.get(err) ?? `errno ${err}`;
    countDrop(this.bindDrops, code === 'EADDRINUSE' ? R.rtpPortInUse : R.rtpSocketError);
    this.opts.onError?.(`relay ${addrs[0].addr}/${addrs[1].addr}:${port}`, Object.assign(new Error(`bind ${code}`), { code }));
    return false;
  }

  unbind(port: number): void {
    if (this.last) return;
    this.addon.unbind(this.h, port);
  }

  parties(port: number, p4: Party | null, p6: Party | null, fresh: boolean): void {
    if (this.last) return;
    this.addon.parties(this.h, port, party(p4), party(p6), fresh);
  }

  detach(port: number): void {
    if (this.last) return;
    this.addon.detach(this.h, port);
  }

  pair(port: number): PairInfo {
    if (this.last) return { sent4: 0, sent6: 0, rx: 0, latched4: null, latched6: null, q4: NONE, q6: NONE };
    const a = this.addon.pair(this.h, port);
    const q = (at: number): Quality => fromFigures(a[at] as number, a[at + 1] as number, a[at + 2] as number, a[at + 3] as number, a[at + 4] as number, a[at + 5] as number, a[at + 6] as number, peerAt(a, at + 7));
    return { sent4: a[0] as number, sent6: a[1] as number, rx: a[2] as number, latched4: peerAt(a, 3), latched6: peerAt(a, 5), q4: q(7), q6: q(16) };
  }

  rxOf(ports: Uint32Array, out: Float64Array): void {
    if (this.last) out.fill(0);
    else this.addon.rx(this.h, ports, out);
  }

  counters(): PathCounters {
    if (this.last) return this.last;
    const c = this.addon.counters(this.h);
    const drops = new Map(this.bindDrops);
    VERDICTS.forEach((reason, i) => {
      if (reason && c[4 + i] > 0) countDrop(drops, reason, c[4 + i]);
    });
    return { packets4: c[0], packets6: c[1], bytes4: c[2], bytes6: c[3], drops };
  }

  inject(port: number, side: Family, rtcp: boolean, src: Peer, msg: Buffer): string {
    if (this.last) return R.rtpNoSession.code;
    const v = this.addon.inject(this.h, port, side === 4 ? 0 : 1, rtcp ? 1 : 0, src.addr, src.port, msg);
    return VERDICTS[v]?.code ?? 'sent';
  }

  close(): void {
    if (this.last) return;
    this.last = this.counters();
    this.addon.stop(this.h);
  }
}
