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
  waitingTurn?: number; //    connections waiting for their next turn of the loop (READ_TURN_BYTES)
  maxWaitingTurn?: number; // at most (default MAX_WAITING_TURN); past it one reads on
}

/**
 * SPEC 11: what one connection may have read in one turn of the event loop before it waits
 * for the next. libuv reads a readable TCP socket up to 32 times 64 KiB a turn: a peer that
 * kept it full (a stranger's flood; callers at 5,000 calls/s in bench/sip) had 2 MiB go
 * through the engine while the UDP sockets' queues overflowed (responses and BYEs of calls
 * in progress dropped). A UDP socket reads 64 datagrams a turn (sipsock.c): about as much.
 */
export const READ_TURN_BYTES = 65536;

/**
 * Connections waiting for their next turn at once, at most. Each holds the one read Node
 * takes before it stops reading (up to 64 KiB) until the check phase: 512 hold at most
 * 32 MiB (SPEC 11: memory); past them a connection reads on as libuv gives it.
 */
export const MAX_WAITING_TURN = 512;

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
