// Message bodies: application/sdp, also inside multipart/* (RFC 5621, RFC 2046 5.1). SPEC 11:
// a receiver must find SDP exactly where we did; a body it could read otherwise is refused.
import { isBlank, unfold } from '../sip/message.js';
import { sdpEdits, SdpTarget } from '../sdp/rewrite.js';
import { Edits } from '../sip/edits.js';

/** RFC 2045 5.1: type "/" subtype, each a token (no tspecials, no space or control). */
const TYPE = /^[!#$%&'*+\-.0-9a-z^_`{|}~]+\/[!#$%&'*+\-.0-9a-z^_`{|}~]+$/;
/** RFC 2046 5.1.1: 1 to 70 bchars, the last not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** Codings that leave the bytes as they are (RFC 3261 20.12, RFC 2045 6.2). */
const IDENTITY = /^[\s,]*(?:(?:identity|7bit|8bit|binary)[\s,]*)*$/i;
/** Multiparts inside multiparts: as deep as anyone nests them, and a bound on the work. */
const MAX_DEPTH = 3;

/**
 * The media type of a Content-Type value, lower case, or null when it is not type/subtype,
 * or is application/sdp with more after it (application/sdp#), which a receiver that
 * compares the start of the value takes for SDP.
 */
export function mediaType(ctype: string): string | null {
  if (ctype === 'application/sdp') return ctype; // as nearly every phone writes it
  const v = unfold(ctype);
  const semi = v.indexOf(';');
  const t = (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
  return TYPE.test(t) && (t.length === 15 || !t.startsWith('application/sdp')) ? t : null;
}

/** Would this body, under this encoding, hide SDP from us but not from the receiver? (RFC 3261 20.12, RFC 2045 6) */
export function hidden(type: string, encoding: string): boolean {
  return encoding !== '' && (type === 'application/sdp' || type.startsWith('multipart/')) && !IDENTITY.test(encoding);
}

/** RFC 2046 5.1.1: the one boundary parameter, or null (none, two, or not one a delimiter can be). */
function boundaryOf(ctype: string): string | null {
  const all = [...unfold(ctype).matchAll(/;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/gi)];
  if (all.length !== 1) return null;
  const b = all[0][1] ?? all[0][2];
  return BOUNDARY.test(b) ? b : null;
}

interface Part {
  readonly start: number; // its body
  readonly end: number;
  readonly type: string | null; // RFC 2046 5.1: no Content-Type is text/plain
  readonly encoding: string;
}

/**
 * Rewrite every SDP in text[s, e) whose Content-Type value is `ctype`. Records edits and
 * returns the change in body length (0 when nothing changed), or null when a stream got no
 * relay port or the body is malformed (`t.malformed` says which).
 */
export function rewriteBody(text: string, s: number, e: number, ctype: string, t: SdpTarget, edits: Edits, type = mediaType(ctype)): number | null {
  const spans = sdpSpans(text, s, e, ctype, 0, [], type);
  if (typeof spans === 'string') {
    t.malformed?.(spans);
    return null;
  }
  let delta = 0;
  for (let i = 0; i < spans.length; i += 2) {
    const d = sdpEdits(text, spans[i], spans[i + 1], t, edits);
    if (d === null) return null;
    delta += d;
  }
  return delta;
}

/**
 * Where the SDP in a body is: [start, end) pairs, in order, or why a receiver could find
 * SDP elsewhere (a multipart cut otherwise, a part encoded; RFC 2046 5.1.1, RFC 2045 6).
 */
export function sdpSpans(text: string, s: number, e: number, ctype: string, depth = 0, out: number[] = [], type = mediaType(ctype)): number[] | 'multipart' | 'encoding' {
  if (type === 'application/sdp') out.push(s, e);
  if (type === null || !type.startsWith('multipart/')) return out;
  const parts = depth < MAX_DEPTH ? partsOf(text, s, e, ctype) : null;
  if (parts === null) return 'multipart';
  for (const p of parts) {
    const pt = p.type === null ? 'text/plain' : mediaType(p.type);
    if (pt === null) return 'multipart';
    if (hidden(pt, p.encoding)) return 'encoding';
    if (p.start >= p.end) continue;
    const r = sdpSpans(text, p.start, p.end, p.type ?? pt, depth + 1, out, pt);
    if (typeof r === 'string') return r;
  }
  return out;
}

/**
 * RFC 2046 5.1.1: the parts between delimiter lines, or null when a receiver could cut them
 * otherwise: the boundary anywhere but at the start of a delimiter line, anything but padding
 * after it on that line, no close delimiter, or the boundary again after it. A preamble or an
 * epilogue means nothing (RFC 2046 5.1.1), but one that splits at each boundary reads them
 * as parts: only white space is allowed there.
 */
function partsOf(text: string, s: number, e: number, ctype: string): Part[] | null {
  const b = boundaryOf(ctype);
  if (b === null) return null;
  const delim = '--' + b;
  const parts: Part[] = [];
  let open = -1; // where the part after the last delimiter starts
  let closed = false;
  for (let p = text.indexOf(delim, s); p >= 0 && p < e; p = text.indexOf(delim, p + 1)) {
    if (closed || p + delim.length > e || (p > s && text.charCodeAt(p - 1) !== 10)) return null;
    let q = p + delim.length;
    const close = text.startsWith('--', q) && q + 2 <= e;
    if (close) q += 2;
    while (q < e && (text.charCodeAt(q) === 32 || text.charCodeAt(q) === 9)) q++; // transport-padding
    if (text.charCodeAt(q) === 13 && text.charCodeAt(q + 1) === 10 && q + 2 <= e) q += 2;
    else if (text.charCodeAt(q) === 10 && q < e) q++;
    else if (!close || q !== e) return null;
    if (open < 0 && !isBlank(text, s, p)) return null; // a preamble
    if (open >= 0) {
      const part = partOf(text, open, Math.max(open, text.charCodeAt(p - 2) === 13 ? p - 2 : p - 1)); // the CRLF before a delimiter is the delimiter's
      if (part === null) return null;
      parts.push(part);
    }
    closed = close;
    open = q;
  }
  return closed && isBlank(text, open, e) ? parts : null; // an epilogue
}

/** RFC 2046 5.1.1, RFC 2045 3: a part's headers, an empty line, its body. Null: headers no receiver reads as we do. */
function partOf(text: string, start: number, end: number): Part | null {
  const raw = text.slice(start, end);
  const empty = /^\r?\n|\r?\n\r?\n/.exec(raw); // the empty line after the headers
  const head = empty ? raw.slice(0, empty.index) : raw; // none: all headers, no body
  if (/\r(?!\n)/.test(head)) return null; // a line end we do not see (RFC 2045 2.1)
  let type: string | null = null;
  let encoding: string | null = null;
  for (const line of head === '' ? [] : unfold(head).split(/\r?\n/)) {
    const h = /^([!#$%&'*+\-.0-9A-Z^_`a-z|~]+)[ \t]*:(.*)$/.exec(line);
    if (!h) return null;
    const name = h[1].toLowerCase();
    if (name === 'content-type' || name === 'c') {
      if (type !== null) return null; // two: which one would the receiver read?
      type = h[2];
    } else if (name === 'content-transfer-encoding' || name === 'content-encoding' || name === 'e') {
      if (encoding !== null) return null;
      encoding = h[2];
    }
  }
  return { start: empty ? start + empty.index + empty[0].length : end, end, type, encoding: encoding ?? '' };
}
