// Framing SIP on a byte stream (RFC 3261 18.3): the message ends Content-Length bytes after
// the empty line that ends its headers; CRLFs between messages are skipped, and a double
// CRLF is a keep-alive ping (RFC 5626 4.4.1) that is answered with a single CRLF.
// SPEC 11: a peer chooses how its bytes are cut into reads (one byte each, if it likes), so
// each byte is copied once and searched once however it arrives: the pending bytes grow in
// one buffer, the header end is searched only in what is new, and the Content-Length is
// read once. Before, every read copied and searched all that was pending: a message sent a
// byte at a time cost the proxy a second of CPU.
import { MAX_MESSAGE } from './message.js';
import { R, Reason } from './reasons.js';

export const MAX_STREAM_MESSAGE = MAX_MESSAGE;

export interface Framed {
  messages: Buffer[];
  pings: number;
  error: Reason | null; // the stream cannot be framed any more: close it
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CL = /^(?:content-length|l)[ \t]*:[ \t]*(?:\r\n[ \t]+)?(\d+)[ \t]*$/im; // SWS may fold the value (RFC 3261 25.1)

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0); // pending bytes are buf[start, end)
  private start = 0;
  private end = 0;
  private searched = 0; // pending bytes already searched for the header end, which is not in them
  private need = -1; //    the pending message's length, once its headers are complete

  /** Bytes held of a message not yet complete. */
  get pending(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): Framed {
    this.append(chunk);
    const out: Framed = { messages: [], pings: 0, error: null };
    const b = this.buf;
    for (;;) {
      if (this.need < 0) {
        // CRLF keep-alives and stray line ends between messages.
        while (this.end - this.start >= 2 && b[this.start] === 13 && b[this.start + 1] === 10) {
          if (this.end - this.start >= 4 && b[this.start + 2] === 13 && b[this.start + 3] === 10) {
            out.pings++;
            this.start += 4;
          } else this.start += 2;
          this.searched = 0;
        }
        // The header end may straddle the last read: search from three bytes before the new ones.
        const from = this.start + Math.max(0, this.searched - 3);
        const at = b.subarray(0, this.end).indexOf(CRLFCRLF, from);
        if (at < 0) {
          this.searched = this.end - this.start;
          if (this.searched > MAX_STREAM_MESSAGE) out.error = R.streamHeadersTooLong;
          return out;
        }
        const m = CL.exec(b.toString('latin1', this.start, at));
        if (!m) {
          out.error = R.streamWithoutContentLength; // RFC 3261 18.3: it MUST be there on streams
          return out;
        }
        const len = at + 4 - this.start + Number(m[1]);
        if (len > MAX_STREAM_MESSAGE) {
          out.error = R.streamMessageTooLarge;
          return out;
        }
        this.need = len;
      }
      if (this.end - this.start < this.need) return out;
      out.messages.push(Buffer.from(b.subarray(this.start, this.start + this.need)));
      this.start += this.need;
      this.need = -1;
      this.searched = 0;
    }
  }

  /** Keep the pending bytes and the chunk in one buffer; a chunk that arrives alone is used as it is. */
  private append(chunk: Buffer): void {
    const live = this.end - this.start;
    if (live === 0) {
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (this.buf.length - this.end < chunk.length) {
      // Grow by doubling (each byte is copied a bounded number of times), never far past the
      // largest message: a stream holding more is closed anyway.
      const want = live + chunk.length;
      const next = Buffer.allocUnsafe(Math.max(want, Math.min(2 * want, MAX_STREAM_MESSAGE + chunk.length)));
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }
}
