// Floods and scanners (SPEC 11; Kamailio's pike does the same): a source that is not a
// configured party has a budget of messages per second (a token bucket holding two seconds'
// worth; a message costs one per 1,500 bytes it started, so that the budget bounds the work
// of reading it, whatever its size; a new connection costs one); past it, everything it sends
// is a counted drop for a ban period. Error answers to such sources share one budget for the
// whole proxy, so the proxy never becomes a reflector of 401/403/404. An IPv6 source is its
// /64 (one host has them all). Pure: time is injected; bounded: the oldest sources are
// forgotten first.

interface Bucket {
  tokens: number;
  at: number; //      when tokens were last refilled
  banned: number; //  dropped until then
}

const MAX_SOURCES = 65536;
const PIECE = 1500; // bytes a token pays for

export class Throttle {
  private readonly sources = new Map<string, Bucket>();
  private answers: { tokens: number; at: number };

  constructor(
    private readonly now: () => number,
    private readonly perSecond: number, //     messages a source may send per second
    private readonly banMs: number, //         how long a source over it is dropped
    private readonly answersPerSecond: number, // error answers to strangers per second, in all
  ) {
    this.answers = { tokens: answersPerSecond, at: now() };
  }

  /** May this message (of `bytes`; 0: a new connection) from `source` be handled? (false: drop it, counted) */
  admit(source: string, bytes = 0): boolean {
    const t = this.now();
    let b = this.sources.get(source);
    if (b === undefined) {
      b = { tokens: 2 * this.perSecond, at: t, banned: 0 };
      this.sources.set(source, b);
      if (this.sources.size > MAX_SOURCES) this.sources.delete(this.sources.keys().next().value as string);
    }
    if (b.banned > t) return false;
    b.tokens = Math.min(2 * this.perSecond, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    // One token per MTU-sized piece started (a 64 KB datagram is 44), never more than the bucket holds.
    const cost = Math.min(2 * this.perSecond, Math.max(1, Math.ceil(bytes / PIECE)));
    if (b.tokens < cost) {
      b.banned = t + this.banMs;
      return false;
    }
    b.tokens -= cost;
    return true;
  }

  /** May an error answer go to a stranger now? */
  answer(): boolean {
    const t = this.now();
    const a = this.answers;
    a.tokens = Math.min(this.answersPerSecond, a.tokens + ((t - a.at) / 1000) * this.answersPerSecond);
    a.at = t;
    if (a.tokens < 1) return false;
    a.tokens--;
    return true;
  }

  /** Sources banned now (for status and tests). */
  banned(): number {
    const t = this.now();
    let n = 0;
    for (const b of this.sources.values()) if (b.banned > t) n++;
    return n;
  }
}
