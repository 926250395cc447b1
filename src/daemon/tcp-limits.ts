// The bounds SIP over TCP and TLS keeps (SPEC 11): what all connections may hold together,
// shared by both transports, and the defaults the daemon gives them (sipproxy64(8) LIMITS).

/** Connections open (handshaking or not) and how many may be, shared by SIP over TCP and TLS. */
export interface ConnectionBudget {
  open: number;
  max: number;
  pending: number; //    bytes of messages not yet complete, on all connections
  maxPending: number; // past it, the connection whose read passed it is closed (SPEC 11)
  unsent: number; //     bytes written to connections that their peers have not taken yet
  maxUnsent: number; //  past it, the connection whose write would pass it is closed (SPEC 11)
  waitingTurn?: number; //    connections waiting for their next turn of the loop (READ_TURN_*)
  maxWaitingTurn?: number; // at most (default MAX_WAITING_TURN); past it one reads on
}

/**
 * SPEC 11: what one connection may have read in one turn of the event loop before it waits
 * for the next. libuv reads a readable TCP socket up to 32 times 64 KiB a turn: a peer that
 * kept it full (a stranger's flood; callers at 5,000 calls/s in bench/sip) had 2 MiB go
 * through the engine while the UDP sockets' queues overflowed (responses and BYEs of calls
 * in progress dropped).
 */
export const READ_TURN_BYTES = 65536;

/**
 * SPEC 11: the messages one connection has handled in a turn, at most; those it framed
 * beyond wait for its next turn. A UDP socket reads 64 datagrams a turn (sipsock.c), so a
 * connection gets the share of one UDP socket: 64 KiB held up to 619 small messages, and
 * one TCP caller's share was then about twice its UDP callee's, so past the core's rate the
 * UDP queue overflowed (bench/sip, TCP callers: 1,221 datagrams lost in the first 2 s of a
 * warm-up at 1,333 calls/s, the JIT cold) where the caller's TCP window would have slowed it.
 */
export const READ_TURN_MESSAGES = 64;

/** SPEC 11: the share while a UDP socket is behind (turn.ts): UDP, which has no flow control, first. */
export const READ_TURN_MESSAGES_UDP_BEHIND = 16;

/**
 * Connections waiting for their next turn at once, at most. Each holds what it framed beyond
 * its share and the one read Node takes before it stops reading (64 KiB each at most) until
 * the check phase: 256 hold at most 32 MiB (SPEC 11: memory); past them a connection
 * handles all it has read, as libuv gives it.
 */
export const MAX_WAITING_TURN = 256;

/** SPEC 11: partial messages all connections may hold together (20,000 connections could
 *  otherwise hold 64 KB each, fed a byte at a time): about 500 messages of the largest size. */
export const MAX_PENDING = 32 * 1024 * 1024;

/** SPEC 11: a message must be complete within this of its first byte (Kamailio's
 *  tcp_msg_read_timeout), so that a peer feeding one slowly holds its share of MAX_PENDING
 *  for seconds, not for tcp-idle. 64 KB takes 10 s at 52 kbit/s. */
export const MESSAGE_MS = 10_000;

/** SPEC 11: a peer that does not read what we send it must not grow our memory. Bytes the
 *  kernel has not taken yet are held up to 256 KiB on one connection (four messages of the
 *  largest size; Kamailio's tcp_conn_wq_max), 32 MiB on all, and must move within 10 s
 *  (Kamailio's tcp_send_timeout); past any, the connection is closed. */
export const MAX_UNSENT_PER_CONNECTION = 256 * 1024;
export const MAX_UNSENT = 32 * 1024 * 1024;
export const WRITE_MS = 10_000;
