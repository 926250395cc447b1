// Readers of the fields every SIP message carries (RFC 3261 20): Call-ID, CSeq, the tags of
// From and To, Contact elements and Expires. Each reads the hot header the parser found.
import { refuse } from './errors.js';
import { decimalAt, isLineEnd, isSpace, skipSpace } from '../net/strings.js';
import { elementsOf, isToken, knownMethod, SipMessage, unfold } from './message.js';
import { R } from './reasons.js';
import { findUri } from './uri.js';

export function callIdOf(m: SipMessage): string | null {
  const h = m.hot.callId;
  return h ? unfold(m.text.slice(h.valueStart, h.valueEnd)) : null;
}

export interface CSeq {
  readonly num: string; // without leading zeros
  readonly method: string;
}

/**
 * CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); the number is below 2**31. Read by hand as
 * /^(\d{1,10})\s+(token)$/ read the unfolded value (a folded line end is white space to
 * \s), without the copy, the match and its captures.
 */
export function cseqOf(m: SipMessage): CSeq | null {
  const h = m.hot.cseq;
  if (!h) return null;
  const text = m.text;
  const e = h.valueEnd;
  let i = h.valueStart;
  while (i < e && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  const digitsEnd = i;
  if (digitsEnd === h.valueStart || digitsEnd - h.valueStart > 10) return null;
  while (i < e && isSpace(text.charCodeAt(i))) i++;
  if (i === digitsEnd) return null;
  const ms = i;
  while (i < e && isToken(text.charCodeAt(i))) i++;
  if (i === ms || i !== e) return null;
  const n = decimalAt(text, h.valueStart, digitsEnd);
  if (n >= 2 ** 31) return null;
  return { num: String(n), method: knownMethod(text, ms, e) ?? text.slice(ms, e) };
}

/**
 * A From or To value without its display name and <URI>: what is left are its parameters.
 * As `replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/<[^>]*>/g, '')` did, in one pass each:
 * SPEC 11, those regexes retried at every '"' or '<' and scanned to the end each time, so a
 * stranger's run of 8,000 '<' in one To header cost 140 ms a message.
 */
function paramsPart(value: string): string {
  return withoutAngles(withoutQuoted(unfold(value)));
}

/** The text without its quoted strings (RFC 3261 25.1 quoted-pair: a backslash and any character but a line end). */
function withoutQuoted(v: string): string {
  let out = '';
  let from = 0; // copied up to here
  let q = v.indexOf('"');
  while (q >= 0) {
    let k = q + 1;
    while (k < v.length && v.charCodeAt(k) !== 34) {
      if (v.charCodeAt(k) === 92) {
        if (k + 1 >= v.length || isLineEnd(v.charCodeAt(k + 1))) break;
        k++;
      }
      k++;
    }
    if (k >= v.length) break; // no closing quote: none after it has one either
    if (v.charCodeAt(k) !== 34) { // a backslash before a line end: no string from q; look past it
      q = v.indexOf('"', k + 1);
      continue;
    }
    out += v.slice(from, q);
    from = k + 1;
    q = v.indexOf('"', from);
  }
  return out + v.slice(from);
}

/** The text without its <...> spans; a '<' with no '>' after it stays, and so does the rest. */
function withoutAngles(v: string): string {
  let out = '';
  let from = 0;
  for (let lt = v.indexOf('<'); lt >= 0; lt = v.indexOf('<', from)) {
    const gt = v.indexOf('>', lt + 1);
    if (gt < 0) break;
    out += v.slice(from, lt);
    from = gt + 1;
  }
  return out + v.slice(from);
}

/**
 * The first `;tag=` of the parameters p (spaces around each part, `tag` in any case), as
 * /;\s*tag\s*=\s*([^;\s,]+)/i read it: its value, '' when `value` is false (a tag, even
 * empty), null when there is none. A scan, not the regex: the regex was 0.9% of the daemon's
 * samples under bench/sip. Linear: each ';' is tried once, each scan stops at the next ';'.
 */
function tagParam(p: string, value: boolean): string | null {
  for (let i = p.indexOf(';'); i >= 0; i = p.indexOf(';', i + 1)) {
    let j = skipSpace(p, i + 1, p.length);
    // (c | 32): the letter in lower case; only 'T'/'t', 'A'/'a', 'G'/'g' give 116, 97, 103
    if (j + 3 > p.length || (p.charCodeAt(j) | 32) !== 116 || (p.charCodeAt(j + 1) | 32) !== 97 || (p.charCodeAt(j + 2) | 32) !== 103) continue;
    j = skipSpace(p, j + 3, p.length);
    if (p.charCodeAt(j) !== 61) continue; // '='
    if (!value) return '';
    const s = skipSpace(p, j + 1, p.length);
    let e = s;
    for (let c = p.charCodeAt(e); e < p.length && c !== 59 && c !== 44 && !isSpace(c); c = p.charCodeAt(++e)); // [^;\s,]
    if (e > s) return p.slice(s, e);
  }
  return null;
}

/** Does a From or To value carry a tag parameter (RFC 3261 19.3), even an empty one? */
export function hasTag(value: string): boolean {
  return tagParam(paramsPart(value), false) !== null;
}

/** The tag= of a From or To value (RFC 3261 19.3), outside display names and <URI>. */
export function tagIn(value: string): string | null {
  return tagParam(paramsPart(value), true);
}

/** The tag= of the message's From or To. */
export function tagOf(m: SipMessage, name: 'From' | 'To'): string | null {
  const h = name === 'From' ? m.hot.from : m.hot.to;
  return h ? tagIn(m.text.slice(h.valueStart, h.valueEnd)) : null;
}

export interface ContactEl {
  readonly uri: string; // the URI, or "*"
  readonly expires: number | null; // its expires= header parameter
}

/** Contact elements of a message (RFC 3261 20.10): URIs and their expires= parameters. */
export function contactsOf(m: SipMessage): ContactEl[] {
  const out: ContactEl[] = [];
  for (const [, s, e] of elementsOf(m, 'Contact')) {
    const v = unfold(m.text.slice(s, e));
    if (v === '*') {
      out.push({ uri: '*', expires: null });
      continue;
    }
    const span = findUri(m.text, s, e);
    if (!span) throw refuse(R.badContact);
    const params = m.text.slice(span.angle ? m.text.indexOf('>', span.end) + 1 : span.end, e);
    const ex = /;\s*expires\s*=\s*(\d{1,10})/i.exec(params);
    out.push({ uri: m.text.slice(span.start, span.end), expires: ex ? Number(ex[1]) : null });
  }
  return out;
}

/** The Expires header (RFC 3261 20.19), if it is a number. */
export function expiresOf(m: SipMessage): number | null {
  const h = m.headers.find((x) => x.def.name === 'Expires');
  const v = h ? unfold(m.text.slice(h.valueStart, h.valueEnd)) : '';
  return /^\d{1,10}$/.test(v) ? Number(v) : null;
}
