// RTPproxy64's packet path (SPEC 6, issue 15), behind one interface: the policy in relay.ts
// (which pair a stream takes, warm pairs, timeouts) drives it; the path owns the sockets and
// applies the per-packet rules. Two implementations follow the same rules: datapath-native.ts
// (C threads, the default) and datapath-js.ts (the event loop, the fallback).
import { Party } from '../media/table.js';
import { Addr, formatHostPort } from '../net/addr.js';
import { R, Reason } from '../sip/reasons.js';
import type { Quality } from './quality.js';

export interface Peer {
  readonly addr: string;
  readonly port: number;
}

/** "addr:port", brackets for IPv6 (status, call log, verdicts). */
export function peerText(p: Peer): string {
  return formatHostPort({ ...p, family: p.addr.includes(':') ? 6 : 4 });
}

/** What a pair has done since its stream took it. */
export interface PairInfo {
  readonly sent4: number; // packets relayed out on side 4 (the IPv4 side of the address model)
  readonly sent6: number;
  readonly rx: number; //    packets accepted from a party (the timeout's "alive")
  readonly latched4: Peer | null; // RTP source latched on each side
  readonly latched6: Peer | null;
  readonly q4: Quality; //  what the party of side 4 sends (issue 19)
  readonly q6: Quality;
}

export interface PathCounters {
  packets4: number; // relayed out on side 4
  packets6: number;
  bytes4: number;
  bytes6: number;
  drops: Map<string, number>; // by reason code
}

export interface Datapath {
  readonly kind: 'native' | 'js';
  /** How the native threads move packets now ('io_uring', 'epoll', or with auto 'epoll (io_uring: EPERM)'); null for js. */
  io(): string | null;
  /** Bind the pair's four sockets (RTP on port, RTCP on port + 1, on each side's address);
   *  a failure is counted (rtp-port-in-use, rtp-socket-error) and reported to onError.
   *  false: it failed, nothing of the pair stays bound. */
  bind(port: number, addrs: readonly [Addr, Addr]): boolean;
  unbind(port: number): void;
  /** A stream takes the bound pair (fresh: unlatched, counters zero), or a re-offer moves a party. */
  parties(port: number, p4: Party | null, p6: Party | null, fresh: boolean): void;
  /** The stream ended; the pair stays bound and drops what arrives (rtp-no-session). */
  detach(port: number): void;
  pair(port: number): PairInfo;
  /** The `rx` of each of these pairs, in one call (the timeout sweep, every second). */
  rxOf(ports: Uint32Array, out: Float64Array): void;
  counters(): PathCounters;
  /** The packet entry without a socket (tests, fuzzing): the reason code, or 'sent'. */
  inject(port: number, side: 4 | 6, rtcp: boolean, src: Peer, msg: Buffer): string;
  close(): void;
}

/** media-io: the native threads' system calls (auto: io_uring where the kernel allows it). */
export type IoChoice = 'auto' | 'epoll' | 'io_uring';

export interface PathOptions {
  readonly ports: readonly [number, number]; // first even port, last even port with an odd partner
  readonly latch: 'strict' | 'prefix' | 'any' | 'off';
  readonly threads: number; // native threads (media-threads)
  readonly io?: IoChoice; //   how the native threads move packets (media-io; default auto)
  readonly onError?: (what: string, err: Error) => void;
}

/** The drops a datapath counts, in the native verdict order after 'sent' (src/native/path.h). */
export const VERDICTS: readonly (Reason | null)[] = [null, R.rtpNoSession, R.rtpNoParty, R.rtpForeignSource, R.rtpNoPeerYet, R.rtpPeerUnproven, R.rtpLoop, R.rtpSocketError];

export function countDrop(drops: Map<string, number>, reason: Reason, n = 1): void {
  drops.set(reason.code, (drops.get(reason.code) ?? 0) + n);
}
