// call-log FILE|- (issue 19; sipproxy64(8) TROUBLESHOOTING): one JSON line per call when its
// last stream ends: Call-ID, the times of the offer, the answer and the end, who ended it and
// why, each stream's parties and relay ports, what each side's party sent (packets, bytes,
// loss, jitter, foreign packets) and the stream's verdict. Appended (O_APPEND), so logrotate's
// copytruncate works; USR1 makes the daemon fsync, close and reopen the file (a rotation by
// rename). A call whose SDP the relay never saw (no media) has no line.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { Quality } from './quality.js';
import { jsonC1 } from './log.js';
import { Verdict } from './verdict.js';

export interface EndedStream {
  readonly callId: string;
  readonly index: number;
  readonly created: number; //             ms, the offer
  readonly establishedAt: number | null; // the answer
  readonly ended: number;
  readonly why: string; //                 bye, cancel, status-486, timeout, hold-timeout, refused, disabled
  readonly by: string | null; //           who: the source of the BYE, CANCEL or final answer
  readonly offerer: string; //             the signalling address whose offer created it
  readonly sides: readonly [Side, Side]; // sides 4 and 6
  readonly verdict: Verdict;
}

interface Side {
  readonly party: string | null; // where its media went: latched source, else advertised
  readonly relay: string; //        the relay address and port the party used
  readonly sent: Quality; //        what the party sent
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One line for a call: its streams, the earliest offer, the first answer, the last end. */
export function callLine(streams: readonly EndedStream[], names: readonly [string, string]): string {
  const first = streams[0];
  const created = Math.min(...streams.map((s) => s.created));
  const answers = streams.map((s) => s.establishedAt).filter((x): x is number => x !== null);
  const answered = answers.length ? Math.min(...answers) : null;
  const last = streams.reduce((a, s) => (s.ended >= a.ended ? s : a), first);
  const key = (n: string): string => n.toLowerCase();
  return jsonC1(JSON.stringify({
    callId: first.callId,
    offer: iso(created),
    answer: iso(answered),
    end: iso(last.ended),
    duration: answered === null ? 0 : Math.round((last.ended - answered) / 100) / 10,
    ended: { why: last.why, by: last.by },
    offerer: first.offerer,
    streams: streams.map((s) => ({
      index: s.index,
      [key(names[0])]: { party: s.sides[0].party, relay: s.sides[0].relay, sent: s.sides[0].sent },
      [key(names[1])]: { party: s.sides[1].party, relay: s.sides[1].relay, sent: s.sides[1].sent },
      verdict: s.verdict.text,
    })),
  }));
}

/** Where the lines go: a file opened for appending (reopened on USR1), or standard output. */
export class CallLog {
  private fd: number | null = null;
  private readonly pending = new Map<string, EndedStream[]>();
  failed = 0;
  private warned = false; // one warning until the file works again: a full disk must not flood the log

  constructor(private readonly file: string, private readonly names: readonly [string, string], private readonly onError: (e: Error) => void) {
    this.open();
  }

  private open(): void {
    if (this.file === '-') return;
    try {
      this.fd = openSync(this.file, 'a', 0o640);
      this.warned = false;
    } catch (e) {
      this.fd = null;
      this.warn(e as Error);
    }
  }

  /** A stream ended; `left`: how many streams of its call are still up (0: the call is over). */
  streamEnded(s: EndedStream, left: number): void {
    const list = this.pending.get(s.callId) ?? [];
    if (list.length < 16) list.push(s);
    this.pending.set(s.callId, list);
    if (left > 0) return;
    this.pending.delete(s.callId);
    this.write(callLine(list.sort((a, b) => a.index - b.index), this.names) + '\n');
  }

  private write(line: string): void {
    if (this.file === '-') {
      process.stdout.write(line);
      return;
    }
    if (this.fd === null) this.open();
    try {
      if (this.fd === null) throw new Error(`cannot open ${this.file}`);
      writeSync(this.fd, line);
    } catch (e) {
      this.failed++;
      this.warn(e as Error);
    }
  }

  private warn(e: Error): void {
    if (!this.warned) this.onError(e);
    this.warned = true;
  }

  /** USR1: what was written is on disk, and the next line goes to a new file of that name. */
  reopen(): void {
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
    this.fd = null;
  }
}
