// What the engine sends while it handles one read (a UDP read's datagrams, a TCP read's
// messages) goes out after it: the addon's SIP sockets send each socket's datagrams in one
// sendmmsg, a TCP connection its messages in one write. A system call a message was about
// half of a send's CPU (bench/README.md). Transports hook in; the outbox knows none of them.

export class Outbox {
  private depth = 0;
  private readonly opens: Array<() => void> = [];
  private readonly closes: Array<() => void> = [];

  /** Whether sends are held now (a transport then batches them). */
  get holding(): boolean {
    return this.depth > 0;
  }

  /** open() when the first hold opens; close() when the last one closes, to send what was held. */
  hook(open: (() => void) | null, close: () => void): void {
    if (open) this.opens.push(open);
    this.closes.push(close);
  }

  /** fn() with sends held; they go out when it returns or throws (the outermost hold only). */
  run(fn: () => void): void {
    if (this.depth++ === 0) for (const o of this.opens) o();
    try {
      fn();
    } finally {
      if (--this.depth === 0) this.closeAll();
    }
  }

  /** Every close hook runs, even past one that throws (its error is thrown after them). */
  private closeAll(): void {
    let error: unknown = null;
    for (const c of this.closes) {
      try {
        c();
      } catch (err) {
        error ??= err;
      }
    }
    if (error !== null) throw error;
  }
}
