// Framing SIP on a byte stream (RFC 3261 18.3): the message ends Content-Length bytes after
// the empty line that ends its headers; CRLFs between messages are skipped, and a double
// CRLF is a keep-alive ping (RFC 5626 4.4.1) that is answered with a single CRLF.
import { MAX_MESSAGE } from './message.js';
import { R, Reason } from './reasons.js';

export const MAX_STREAM_MESSAGE = MAX_MESSAGE;

export interface Framed {
  messages: Buffer[];
  pings: number;
  error: Reason | null; // the stream cannot be framed any more: close it
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CL = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Framed {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Framed = { messages: [], pings: 0, error: null };
    for (;;) {
      // CRLF keep-alives and stray line ends between messages.
      while (this.buf.length >= 2 && this.buf[0] === 13 && this.buf[1] === 10) {
        if (this.buf.length >= 4 && this.buf[2] === 13 && this.buf[3] === 10) {
          out.pings++;
          this.buf = this.buf.subarray(4);
        } else this.buf = this.buf.subarray(2);
      }
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (this.buf.length > MAX_STREAM_MESSAGE) out.error = R.streamHeadersTooLong;
        return out;
      }
      const m = CL.exec(this.buf.subarray(0, end).toString('latin1'));
      if (!m) {
        out.error = R.streamWithoutContentLength; // RFC 3261 18.3: it MUST be there on streams
        return out;
      }
      const len = Number(m[1]);
      if (end + 4 + len > MAX_STREAM_MESSAGE) {
        out.error = R.streamMessageTooLarge;
        return out;
      }
      if (this.buf.length < end + 4 + len) return out;
      out.messages.push(Buffer.from(this.buf.subarray(0, end + 4 + len)));
      this.buf = this.buf.subarray(end + 4 + len);
    }
  }
}
