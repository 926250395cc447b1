// SDP rewriting, line by line (SPEC section 5; RFC 4566 5.2/5.7/5.14, RFC 3605, RFC 5761).
import { Addr, Family, parseIp } from '../net/addr.js';

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

// ICE lines that would lie once the relay is the only path (RFC 8839 5.1, 5.4).
const ICE = /^a=(candidate|remote-candidates|ice-ufrag|ice-pwd|ice-options|ice-lite|ice-mismatch|ice-pacing|end-of-candidates)(:|\r?$)/i;

/** Could the a= line be an ICE attribute (c..., i..., e..., re...)? Spares the regex for the rest. */
function maybeIce(b: string): boolean {
  const c = b.charCodeAt(2) | 32;
  return c === 99 || c === 105 || c === 101 || (c === 114 && (b.charCodeAt(3) | 32) === 101);
}

/** One line as received (its end included, so untouched lines go out byte for byte) and its text. */
interface Line {
  readonly raw: string;
  readonly b: string; // without CR/LF
}

/** Split keeping line ends; each line's text cut once, for both passes. */
function lines(sdp: string): Line[] {
  const out: Line[] = [];
  let p = 0;
  while (p < sdp.length) {
    const nl = sdp.indexOf('\n', p);
    const e = nl < 0 ? sdp.length : nl + 1;
    let be = nl < 0 ? e : nl;
    if (be > p && sdp.charCodeAt(be - 1) === 13) be--;
    out.push({ raw: sdp.slice(p, e), b: sdp.slice(p, be) });
    p = e;
  }
  return out;
}

/** The line end as received (CRLF, LF, or none at the end of the body). */
const eolOf = (l: Line): string => l.raw.slice(l.b.length);

const CONN = /^IN\s+IP[46]\s+([^\s/]+)/i;

/** A `c=`/`o=` tail "IN IP4 a[/ttl]": the address written, or null when there is none. */
function connText(tail: string): string | null {
  return CONN.exec(tail)?.[1] ?? null;
}

/** The unspecified address: an old-style hold, or a trickle-ICE offer (RFC 3264 8.4, RFC 8840). */
const isUnspecified = (a: string | null): boolean => a === '0.0.0.0' || a === '::';

/** The address written in a connection line, as one we can relay to; null for none, or a hold (it names no party). */
function connAddr(written: string | null): string | null {
  const a = written === null ? null : parseIp(written)?.addr ?? null;
  return isUnspecified(a) ? null : a;
}

/** Is a `c=` tail the unspecified address? */
function unspecified(tail: string): boolean {
  return isUnspecified(connText(tail));
}

/** The unspecified address in the outgoing family. */
const unspecifiedOut = (t: SdpTarget): string => (t.out === 4 ? 'IN IP4 0.0.0.0' : 'IN IP6 ::');

function addrOut(t: SdpTarget, orig: string): string {
  // A hold written as the unspecified address stays a hold (RFC 3264 8.4, RFC 2543).
  return unspecified(orig) ? unspecifiedOut(t) : `IN IP${t.out} ${t.media.addr}`;
}

/** Rewrite one SDP body for family t.out; null when a stream gets no relay port. */
export function rewriteSdp(sdp: string, t: SdpTarget): string | null {
  const ls = lines(sdp);
  // Pass 1: the streams and their connection addresses.
  const streams: Stream[] = [];
  let sessionC: string | null = null;
  let sessionHold = false;
  let sessionDir = 'sendrecv';
  let cur: Stream | null = null;
  for (const { b } of ls) {
    if (b.startsWith('m=')) {
      const port = /^m=\S+\s+(\d+)/.exec(b);
      cur = { port: port ? Number(port[1]) : 0, c: null, cHold: null, rtcp: null, rtcpAddr: null, mux: false, dir: null };
      streams.push(cur);
    } else if (b.startsWith('c=')) {
      const written = connText(b.slice(2)); // one read gives the address and whether it is a hold
      if (cur) {
        cur.c = connAddr(written);
        cur.cHold = isUnspecified(written);
      } else {
        sessionC = connAddr(written);
        sessionHold = isUnspecified(written);
      }
    } else if (cur && b.startsWith('a=rtcp:')) {
      const m = /^a=rtcp:(\d+)(?:\s+(IN\s+IP[46]\s+\S+))?/i.exec(b);
      if (m) {
        cur.rtcp = Number(m[1]);
        cur.rtcpAddr = m[2] ? connAddr(connText(m[2])) : null;
      }
    } else if (!b.startsWith('a=') || b.indexOf(':') >= 0) continue; // the flags below take no value (RFC 4566 5.13)
    else if (cur && /^a=rtcp-mux\s*$/i.test(b)) cur.mux = true;
    else if (/^a=(sendrecv|sendonly|recvonly|inactive)\s*$/i.test(b)) {
      const d = b.slice(2).trim().toLowerCase(); // RFC 4566 6: media level overrides session level
      if (cur) cur.dir = d;
      else sessionDir = d;
    }
  }
  // Allocate (or find) a relay port pair for each enabled stream. One whose connection
  // address is unspecified names no place to send to: it keeps its port and gets no relay
  // port (RFC 3264 8.4 hold; RFC 8840 trickle-ICE offers), and its stream is left as it is.
  const relay: number[] = [];
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i];
    if (s.port === 0) {
      t.stream(i, null);
      relay.push(0);
      continue;
    }
    if (s.cHold ?? sessionHold) {
      if (t.hold && !t.hold(i)) return null; // only a party of the stream puts it on hold
      relay.push(-1);
      continue;
    }
    const addr = s.c ?? sessionC;
    const party: SdpParty = { addr, rtp: s.port, rtcp: s.mux ? s.port : s.rtcp ?? s.port + 1, mux: s.mux, held: (s.dir ?? sessionDir) !== 'sendrecv' };
    const p = t.stream(i, party);
    if (p === null) return null;
    relay.push(p);
  }
  // Pass 2: write.
  let out = '';
  let idx = -1;
  for (const l of ls) {
    const b = l.b;
    const c0 = b.charCodeAt(0);
    if (c0 === 111 && b.startsWith('o=')) {
      // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
      const m = /^(o=\S+\s+\S+\s+\S+\s+)(IN\s+IP[46]\s+\S+)\s*$/i.exec(b);
      out += m ? m[1] + `IN IP${t.out} ${t.media.addr}` + eolOf(l) : l.raw;
    } else if (c0 === 99 && b.startsWith('c=')) {
      // SPEC 11: a c= line without an address is not given one (no growth for strangers).
      out += /^c=IN\s+IP[46]\s+\S/i.test(b) ? 'c=' + addrOut(t, b.slice(2)) + eolOf(l) : l.raw;
    } else if (c0 === 109 && b.startsWith('m=')) {
      idx++;
      const m = /^(m=\S+\s+)(\d+)(\/\d+)?(\s.*)$/.exec(b);
      out += !m || relay[idx] < 0 ? l.raw : m[1] + relay[idx] + m[4] + eolOf(l);
    } else if (c0 === 97 && maybeIce(b) && ICE.test(b)) {
      continue;
    } else if (c0 === 97 && idx >= 0 && b.startsWith('a=rtcp:')) {
      const s = streams[idx];
      const port = relay[idx] < 0 ? s.rtcp ?? 0 : relay[idx] === 0 ? 0 : s.mux || s.rtcp === s.port ? relay[idx] : relay[idx] + 1;
      const m = /^a=rtcp:\d+(\s+IN\s+IP[46]\s+\S+)?/i.exec(b);
      if (!m) out += l.raw;
      else out += `a=rtcp:${port}` + (m[1] ? ' ' + (relay[idx] < 0 ? unspecifiedOut(t) : addrOut(t, m[1].trim())) : '') + b.slice(m[0].length) + eolOf(l);
    } else out += l.raw;
  }
  return out;
}
