// The event loop's turns, and who waits in them (SPEC 11). Each socket gets a share of a
// turn: a UDP socket reads a batch (sipsock.c: 64 datagrams; Node's dgram: libuv's 32), a TCP
// connection handles READ_TURN_MESSAGES (tcp-limits.ts). A UDP socket that read a whole batch
// may have more waiting, and UDP has no flow control: what its queue cannot hold is lost (a
// callee's 200 or a BYE of a call in progress). TCP has: what a connection does not read
// waits in the kernel and slows its sender. So while a UDP socket is behind, connections
// take a smaller share (SIP over TCP, sip-tcp.ts), never none (a UDP flood stalls no phone).
import { type ConnectionBudget, MAX_WAITING_TURN, READ_TURN_BYTES, READ_TURN_MESSAGES, READ_TURN_MESSAGES_UDP_BEHIND } from './tcp-limits.js';

let loopTurn = 0;
let ticking = false;

/** A number that changes once each turn of the event loop (the check phase: setImmediate). */
export function currentTurn(): number {
  if (!ticking) {
    ticking = true;
    setImmediate(() => {
      loopTurn++;
      ticking = false;
    });
  }
  return loopTurn;
}

/** engine.counters: reads that completed a socket's batch in a turn (sipproxy64_sip_udp_full_reads_total). */
export const FULL_READ = 'sip-udp-full-read';

let behindTurn = -2; // the last turn in which a UDP socket read a whole batch

/**
 * One UDP socket's reads, counted in each turn: call the result with each read's datagrams.
 * A whole batch in one turn marks UDP behind, and calls `full` once that turn (counted in
 * sipproxy64_sip_udp_full_reads_total: the proxy is at its core's rate).
 */
export function udpReads(batch: number, full: () => void): (n: number) => void {
  let turn = -1;
  let read = 0;
  return (n) => {
    const t = currentTurn();
    if (turn !== t) {
      turn = t;
      read = 0;
    }
    const was = read;
    read += n;
    if (read < batch) return;
    behindTurn = t;
    if (was < batch) full();
  };
}

/** Did a UDP socket read a whole batch in this turn or the one before (the poll phase reads sockets in any order)? */
export function udpBehind(): boolean {
  return currentTurn() - behindTurn <= 1;
}

/** The socket a connection's turns pause and resume (a net.Socket). */
interface Pausable {
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
}

/**
 * One connection's share of each turn (SPEC 11): it handles READ_TURN_MESSAGES messages
 * (READ_TURN_MESSAGES_UDP_BEHIND while UDP is behind) or reads READ_TURN_BYTES, then waits
 * for its next turn with what it framed beyond; at most maxWaitingTurn connections wait at
 * once, and past them one handles all it has (memory).
 */
export class ConnectionTurns {
  private readonly queue: Buffer[] = []; // framed, not yet handled
  private turn = -1; // the turn of the last read or handling, and the share used in it
  private bytes = 0;
  private messages = 0;
  private waiting = false;

  constructor(
    private readonly budget: ConnectionBudget,
    private readonly sock: Pausable,
    private readonly handle: (batch: Buffer[]) => void,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** A read of `bytes` that framed `messages`: they wait for serve() or flush(). */
  read(bytes: number, messages: Buffer[]): void {
    this.fresh();
    this.bytes += bytes;
    for (const m of messages) this.queue.push(m);
  }

  /** Everything framed, now (the stream ends: the messages before its error go through). */
  flush(): void {
    this.handle(this.queue.splice(0));
  }

  /** This turn's share; if that leaves messages, or the bytes are read, wait for the next turn. */
  serve(): void {
    this.fresh();
    const b = this.budget;
    const canWait = this.waiting || (b.waitingTurn ?? 0) < (b.maxWaitingTurn ?? MAX_WAITING_TURN);
    const share = udpBehind() ? READ_TURN_MESSAGES_UDP_BEHIND : READ_TURN_MESSAGES;
    const n = canWait ? Math.min(this.queue.length, Math.max(0, share - this.messages)) : this.queue.length;
    this.messages += n;
    if (n > 0) this.handle(this.queue.splice(0, n));
    if (this.waiting || !canWait || (this.queue.length === 0 && this.bytes < READ_TURN_BYTES)) return;
    this.waiting = true;
    b.waitingTurn = (b.waitingTurn ?? 0) + 1;
    this.sock.pause(); // Node reads one more chunk into its buffer, then stops reading
    setImmediate(() => {
      b.waitingTurn = (b.waitingTurn ?? 1) - 1;
      this.waiting = false;
      this.turn = -1; // its next turn (currentTurn's own tick may come later in this check phase)
      try {
        this.serve(); // waits again if its share leaves messages
        if (!this.waiting && !this.sock.destroyed) this.sock.resume();
      } catch (err) {
        this.failed(err);
      }
    });
  }

  private fresh(): void {
    const now = currentTurn();
    if (this.turn !== now) {
      this.turn = now;
      this.bytes = 0;
      this.messages = 0;
    }
  }
}
