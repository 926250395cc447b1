// SDP rewriting, line by line (SPEC section 5; RFC 4566 5.2/5.7/5.14, RFC 3605, RFC 5761).
// Splice, don't re-serialise: the lines are found by index in the message text, only those a
// rule reads are cut out, and what changes is recorded as edits against the message.
import { Addr, Family, isPort, parseIp } from '../net/addr.js';
import { Edits } from '../sip/edits.js';
import { decimalAt } from '../net/strings.js';
import { isBlank } from '../sip/message.js';
import { connAt, flagAt, mPortAt } from './lines.js';

/** Where one stream's sender receives its media, as its SDP says. */
export interface SdpParty {
  readonly addr: string | null; // advertised media address; null if not an IP of this side
  readonly rtp: number;
  readonly rtcp: number;
  readonly mux: boolean; //       rtcp-mux (RFC 5761): RTCP on the RTP port
  readonly held: boolean; //      sendonly, recvonly or inactive (RFC 3264 8.4): no media both ways
}

export interface SdpTarget {
  readonly out: Family; //   the family the SDP goes out in
  readonly media: Addr; //   RTPproxy64's address in that family
  /** The stream `index` of the sender is at `party` (null: disabled, port 0). Returns the relay port. */
  stream(index: number, party: SdpParty | null): number | null;
  /** Stream `index` is put on hold (unspecified address): may the sender do that? (default yes) */
  hold?(index: number): boolean;
  /** The SDP is malformed, refused before any stream is touched: an m= line with no port a
   *  UDP port can be, a line end a receiver would read where we read none, a line we do not
   *  read as <type>=<value> or a c= or a=rtcp: of another form, or (a multipart
   *  body) a transfer encoding we cannot read through, or parts a receiver could cut otherwise. */
  malformed?(why: 'port' | 'line-end' | 'line' | 'encoding' | 'multipart'): void;
}

interface Stream {
  port: number;
  c: string | null; //   media-level connection address
  cHold: boolean | null; // its c= is the unspecified address (null: it has no c= of its own)
  rtcp: number | null;
  rtcpAddr: string | null;
  mux: boolean;
  dir: string | null; // its a=sendrecv/sendonly/recvonly/inactive (null: the session's)
}

/**
 * A line pass 2 writes, four numbers: its kind, where its text starts and ends, where its line
 * end ends; for RTCP where the part written ends, and 0/1/2 for no address/an address/a hold.
 */
const enum K { O, C, CHOLD, M, ICE, RTCP }

// ICE lines that would lie once the relay is the only path (RFC 8839 5.1, 5.4).
const ICE = /^a=(candidate|remote-candidates|ice-ufrag|ice-pwd|ice-options|ice-lite|ice-mismatch|ice-pacing|end-of-candidates)(:|\r?$)/i;

/** Could the a= line at s be an ICE attribute (c..., i..., e..., re...)? Spares the regex for the rest. */
function maybeIce(text: string, s: number): boolean {
  const c = text.charCodeAt(s + 2) | 32;
  return c === 99 || c === 105 || c === 101 || (c === 114 && (text.charCodeAt(s + 3) | 32) === 101);
}

/** An m= line's port and its count (mPortAt: where the port starts and ends, where the count ends). */
const M_AT = new Int32Array(3);

const C_SHAPE = /^c=IN\s+IP[46]\s+\S/i;
const C_EMPTY = /^c=IN\s+IP[46]\s*$/i;

/** The unspecified address: an old-style hold, or a trickle-ICE offer (RFC 3264 8.4, RFC 8840). */
const isUnspecified = (a: string | null): boolean => a === '0.0.0.0' || a === '::';

/** The address written in a connection line, as one we can relay to; null for none, or a hold (it names no party). */
function connAddr(written: string | null): string | null {
  const a = written === null ? null : parseIp(written)?.addr ?? null;
  return isUnspecified(a) ? null : a;
}

/** The unspecified address in the outgoing family. */
const unspecifiedOut = (t: SdpTarget): string => (t.out === 4 ? 'IN IP4 0.0.0.0' : 'IN IP6 ::');

/** A connection address going out: a hold stays a hold (RFC 3264 8.4, RFC 2543), else ours. */
const addrOut = (t: SdpTarget, hold: boolean): string => (hold ? unspecifiedOut(t) : `IN IP${t.out} ${t.media.addr}`);

/** Where `ch` next occurs in text from `from` on; text.length when nowhere. */
function nextOf(text: string, ch: string, from: number): number {
  const i = text.indexOf(ch, from);
  return i < 0 ? text.length : i;
}

/**
 * Rewrite the SDP in text[s0, e0) for family t.out: edits recorded, the change in length
 * returned; null when a stream gets no relay port.
 */
export function sdpEdits(text: string, s0: number, e0: number, t: SdpTarget, edits: Edits): number | null {
  // Pass 1: the streams and their connection addresses; the lines pass 2 writes.
  const streams: Stream[] = [];
  const marks: number[] = []; // four numbers a line (K)
  let sessionC: string | null = null;
  let sessionHold = false;
  let sessionDir = 'sendrecv';
  let cur: Stream | null = null;
  let badPort = -1; // the first stream whose m= port cannot be read or is above 65535
  let bareCr = false;
  let badLine = false;
  // The next CR and ':' at or after the line being read (text.length: none), each found
  // once: a body of lines without them costs one scan, not one a line (SPEC 11).
  let cr = -1;
  let colon = -1;
  for (let s = s0; s < e0;) {
    const nl = text.indexOf('\n', s);
    const last = nl < 0 || nl >= e0; // the body's last line may have no line end
    const e = last ? e0 : nl + 1;
    let be = last ? e0 : nl;
    if (be > s && text.charCodeAt(be - 1) === 13) be--;
    const line = s;
    s = e;
    // RFC 4566 5: lines end in CRLF (or LF). A bare CR is none for us, but a parser that
    // splits on it (sdp-transform does) would read a line we never rewrote (SPEC 11).
    if (cr < line) cr = nextOf(text, '\r', line);
    if (cr < be) bareCr = true;
    const c0 = text.charCodeAt(line);
    // RFC 4566 5: <type>=<value>, the type one lower-case letter. A line we do not read as one
    // (" c=", "C=") is one a lenient receiver may read: malformed, unless blank (SPEC 11).
    if (be - line < 2 || text.charCodeAt(line + 1) !== 61 || c0 < 97 || c0 > 122) {
      if (!badLine) badLine = !isBlank(text, line, be);
      continue;
    }
    if (c0 === 111) marks.push(K.O, line, be, e);
    else if (c0 === 109) {
      // m=<media> <port>[/<number of ports>] <proto> ... (RFC 4566 5.14): the port and its count, read once.
      const m = mPortAt(text, line, be, M_AT);
      const port = m ? decimalAt(text, M_AT[0], M_AT[1]) : -1;
      // SPEC 11: no port, or one no UDP port can be (above 65535): malformed, refused below.
      if (port !== 0 && !isPort(port) && badPort < 0) badPort = streams.length;
      cur = { port: isPort(port) ? port : 0, c: null, cHold: null, rtcp: null, rtcpAddr: null, mux: false, dir: null };
      streams.push(cur);
      // Pass 2 writes over the port and its count (-1: a line without one, left as it is).
      marks.push(K.M, m ? M_AT[0] : -1, m ? M_AT[2] : -1, e);
    } else if (c0 === 99) {
      const written = connAt(text, line + 2, be); // one read gives the address and whether it is a hold
      const hold = isUnspecified(written);
      if (cur) {
        cur.c = connAddr(written);
        cur.cHold = hold;
      } else {
        sessionC = connAddr(written);
        sessionHold = hold;
      }
      // SPEC 11: a c= line without an address is not given one (no growth for strangers); one
      // of another form ("c= IN IP4 a") is malformed: a lenient receiver reads an address there.
      if (written !== null || C_SHAPE.test(text.slice(line, be))) marks.push(hold ? K.CHOLD : K.C, line, be, e);
      else if (!C_EMPTY.test(text.slice(line, be))) badLine = true;
    } else if (c0 !== 97) continue;
    else if (maybeIce(text, line) && ICE.test(text.slice(line, be))) marks.push(K.ICE, line, be, e);
    else if (text.startsWith('a=rtcp:', line)) {
      // RFC 3605 2.1: a=rtcp:<port> [IN IP4|IP6 <address>], media level; another form or place is malformed.
      const m = cur && /^a=rtcp:(\d+)(?:\s+(IN\s+IP[46]\s+\S+))?\s*$/i.exec(text.slice(line, be));
      if (!m || !cur) badLine = true;
      else {
        const written = m[2] ? connAt(m[2], 0, m[2].length) : null;
        const port = Number(m[1]);
        cur.rtcp = isPort(port) ? port : null; // no RTCP port (0, above 65535): read as none
        cur.rtcpAddr = m[2] ? connAddr(written) : null;
        // Pass 2 writes the port and the address the regex read: where they end, and none / an address / a hold.
        marks.push(K.RTCP, line, line + m[0].length, !m[2] ? 0 : isUnspecified(written) ? 2 : 1);
      }
    } else {
      if (colon < line) colon = nextOf(text, ':', line);
      if (colon < be) continue; // the flags below take no value (RFC 4566 5.13)
      const flag = flagAt(text, line, be);
      if (flag === 'rtcp-mux') {
        if (cur) cur.mux = true;
      } else if (flag !== null) { // RFC 4566 6: media level overrides session level
        if (cur) cur.dir = flag;
        else sessionDir = flag;
      }
    }
  }
  if (badPort >= 0 || bareCr || badLine) {
    t.malformed?.(bareCr ? 'line-end' : badPort >= 0 ? 'port' : 'line');
    return null;
  }
  const relay = relayPorts(streams, sessionC, sessionHold, sessionDir, t);
  if (relay === null) return null;
  // Pass 2: write the marked lines.
  let delta = 0;
  const put = (s: number, e: number, v: string): void => {
    edits.replace(s, e, v);
    delta += v.length - (e - s);
  };
  let idx = -1;
  for (let i = 0; i < marks.length; i += 4) {
    const kind = marks[i], s = marks[i + 1], be = marks[i + 2];
    if (kind === K.O) {
      // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
      // (A regex: a hand reader of this line's three words was slower, bench/README.md.)
      const m = /^(o=\S+\s+\S+\s+\S+\s+)(IN\s+IP[46]\s+\S+)\s*$/i.exec(text.slice(s, be));
      if (m) put(s + m[1].length, be, `IN IP${t.out} ${t.media.addr}`);
    } else if (kind === K.C || kind === K.CHOLD) put(s + 2, be, addrOut(t, kind === K.CHOLD));
    else if (kind === K.M) {
      idx++;
      if (s >= 0 && relay[idx] >= 0) put(s, be, String(relay[idx]));
    } else if (kind === K.ICE) put(s, marks[i + 3], '');
    else {
      const st = streams[idx];
      const r = relay[idx];
      const port = r < 0 ? st.rtcp ?? 0 : r === 0 ? 0 : st.mux || st.rtcp === st.port ? r : r + 1;
      const written = marks[i + 3]; // a=rtcp:<port> [IN IP4 <address>] (RFC 3605)
      put(s, be, `a=rtcp:${port}` + (written === 0 ? '' : ' ' + (r < 0 ? unspecifiedOut(t) : addrOut(t, written === 2))));
    }
  }
  return delta;
}

/**
 * A relay port pair for each enabled stream (0: disabled; -1: on hold, left as it is). One
 * whose connection address is unspecified names no place to send to: it keeps its port and
 * gets no relay port (RFC 3264 8.4 hold; RFC 8840 trickle-ICE offers). Null: refused.
 */
function relayPorts(streams: Stream[], sessionC: string | null, sessionHold: boolean, sessionDir: string, t: SdpTarget): number[] | null {
  const relay: number[] = [];
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i];
    if (s.port === 0) {
      if (t.stream(i, null) === null) return null; // only a party of the stream removes it
      relay.push(0);
      continue;
    }
    if (s.cHold ?? sessionHold) {
      if (t.hold && !t.hold(i)) return null; // only a party of the stream puts it on hold
      relay.push(-1);
      continue;
    }
    // RTCP on the port above RTP unless a=rtcp says otherwise (RFC 3605); on 65535, no port is above.
    const rtcp = s.mux ? s.port : s.rtcp ?? (isPort(s.port + 1) ? s.port + 1 : s.port);
    const party: SdpParty = { addr: s.c ?? sessionC, rtp: s.port, rtcp, mux: s.mux, held: (s.dir ?? sessionDir) !== 'sendrecv' };
    const p = t.stream(i, party);
    if (p === null) return null;
    relay.push(p);
  }
  return relay;
}
