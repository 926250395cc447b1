// Readers of the SDP lines every offer carries (RFC 4566 5.2, 5.7, 5.14, 6), by hand over
// the message's text: each reads exactly as the regular expression in its comment did (with
// JavaScript's \s, and letters in any case where it had /i), without the line's copy, the
// match and its captures (t/unit/sip/scanners.ts holds each to its expression).
import { isSpace, skipSpace } from '../net/strings.js';
import { sameNoCase } from '../sip/message.js';

function skipNonSpace(text: string, i: number, e: number): number {
  while (i < e && !isSpace(text.charCodeAt(i))) i++;
  return i;
}
function skipDigits(text: string, i: number, e: number): number {
  while (i < e && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  return i;
}

/** Where `\S+\s+` from i ends before e; -1 when it does not read. */
function wordAndSpace(text: string, i: number, e: number): number {
  const w = skipNonSpace(text, i, e);
  if (w === i) return -1;
  const sp = skipSpace(text, w, e);
  return sp === w ? -1 : sp;
}

/**
 * The m= line text[s, e): /^(m=\S+\s+)(\d+)(?:\/\d+)?(?=\s)/. Its port's digits as
 * out[0, 1), and where the port's count ends as out[2]; false when it does not read so.
 */
export function mPortAt(text: string, s: number, e: number, out: Int32Array): boolean {
  if (!text.startsWith('m=', s) || e - s < 2) return false;
  const ps = wordAndSpace(text, s + 2, e);
  if (ps < 0) return false;
  const pe = skipDigits(text, ps, e);
  if (pe === ps) return false;
  let end = pe;
  if (text.charCodeAt(pe) === 47 && pe < e) { // "/" <number of ports>
    end = skipDigits(text, pe + 1, e);
    if (end === pe + 1) return false;
  }
  if (end >= e || !isSpace(text.charCodeAt(end))) return false;
  out[0] = ps;
  out[1] = pe;
  out[2] = end;
  return true;
}

/**
 * "IN IP4 <address>" or IP6 at s, before e: /^IN\s+IP[46]\s+([^\s/]+)/i. The address
 * (a TTL's "/" ends it), or null when the text does not read so.
 */
export function connAt(text: string, s: number, e: number): string | null {
  if (e - s < 2 || !sameNoCase(text, s, 'IN')) return null;
  const ip = skipSpace(text, s + 2, e);
  if (ip === s + 2 || e - ip < 3 || !sameNoCase(text, ip, 'IP')) return null;
  const v = text.charCodeAt(ip + 2);
  if (v !== 52 && v !== 54) return null;
  const as = skipSpace(text, ip + 3, e);
  if (as === ip + 3) return null;
  let ae = as;
  while (ae < e && text.charCodeAt(ae) !== 47 && !isSpace(text.charCodeAt(ae))) ae++;
  return ae > as ? text.slice(as, ae) : null;
}

/** The attributes without a value that rewriting reads (RFC 5761 5.1.1, RFC 4566 6), as written in the table. */
const FLAGS = ['sendrecv', 'sendonly', 'recvonly', 'inactive', 'rtcp-mux'];

/**
 * The a= line text[s, e) as one of FLAGS, in any case, then white space only
 * (/^a=(sendrecv|sendonly|recvonly|inactive)\s*$/i, /^a=rtcp-mux\s*$/i): the flag, or null.
 */
export function flagAt(text: string, s: number, e: number): string | null {
  if (e - s < 2 || !sameNoCase(text, s, 'a=')) return null;
  for (const f of FLAGS) {
    if (e - s - 2 >= f.length && sameNoCase(text, s + 2, f) && skipSpace(text, s + 2 + f.length, e) === e) return f;
  }
  return null;
}
