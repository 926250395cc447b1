// The open-file limit and the relay (issue 15: no EMFILE surprises). RTPproxy64 binds four
// sockets a stream (RTP and RTCP on both sides); at the default soft limit of 1024 a busy
// relay failed its binds. At start the soft limit is raised to the hard one when it is
// lower (prlimit(1) on our own pid: Node has no setrlimit), and the relay is told how many
// port pairs fit: the limit less a reserve for SIP sockets, TCP/TLS connections and files
// (1024, or a quarter of a smaller limit).
// Past that, offers get 503 rtp-fd-limit instead of failed binds; SIP TCP and TLS
// connections get what is left once the relay could hold all its pairs (SPEC 11).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const RESERVED_FDS = 1024;
export const SOCKETS_PER_PAIR = 4;
/** What "unlimited" is taken for (the kernel's default nr_open). */
const UNLIMITED = 1048576;

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

/** "Max open files  1024  524288  files" from /proc/self/limits. */
export function parseLimits(text: string): FdLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) return null;
  const n = (v: string): number => (v === 'unlimited' ? UNLIMITED : Number(v));
  return { soft: n(m[1]), hard: n(m[2]) };
}

export function openFileLimit(): FdLimit | null {
  try {
    return parseLimits(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return null; // not Linux: no cap
  }
}

/** Raise the soft limit to the hard one; the limit afterwards (unchanged when it cannot). */
export function raiseOpenFileLimit(): FdLimit | null {
  const before = openFileLimit();
  if (!before || before.soft >= before.hard) return before;
  spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: 'ignore', timeout: 5000 });
  return openFileLimit();
}

/** Port pairs the relay may hold bound at once under a soft limit. */
export function pairsAllowed(soft: number): number {
  const reserve = Math.min(RESERVED_FDS, Math.floor(soft / 4));
  return Math.max(0, Math.floor((soft - reserve) / SOCKETS_PER_PAIR));
}

/** SIP connections over TCP and TLS together, at most, whatever the limit. */
export const MAX_CONNECTIONS = 20000;
/** Files kept free beside those counted: 32 metrics connections, the call log, the registrations file, DNS, a child process. */
export const SPARE_FDS = 64;

/**
 * SIP TCP and TLS connections the limit leaves, with `inUse` files open and the relay
 * holding every pair it may: a stranger's connections never take the relay's files.
 */
export function connectionsAllowed(soft: number, inUse: number, relayPairs: number): number {
  return Math.max(0, Math.min(MAX_CONNECTIONS, soft - inUse - SOCKETS_PER_PAIR * relayPairs - SPARE_FDS));
}

/** The files this process has open now (Linux; null elsewhere). */
export function filesOpen(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the directory being read
  } catch {
    return null;
  }
}

/** The LimitNOFILE that serves every pair of rtp-ports. */
export function limitNeeded(pairs: number): number {
  return RESERVED_FDS + SOCKETS_PER_PAIR * pairs;
}
