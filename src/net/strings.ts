// Strings that outlive their message. A string cut from a message with slice() may keep the
// whole message alive (V8 makes a slice of 13 characters or more point into its parent), so
// a table that keeps a Call-ID would keep each call's INVITE, up to 64 KB, for as long as the
// call lasts: SPEC 11 bounds what a stranger can make the proxy hold, and the collector
// copies all of it at each young-generation pass.

/** A copy of `s` that holds nothing else alive: for what tables and caches keep. */
export function detached(s: string): string {
  // The concatenation is flattened into a new string of its own, of which the copy is a part.
  return ' '.concat(s).substring(1);
}

/**
 * The number the digits text[s, e) spell, or NaN when the span is empty, longer than
 * `maxDigits` or holds another character: Number(text.slice(s, e)) for a run of 1 to
 * maxDigits digits, without the slice and without the hash Number() computes for a string
 * (it checks for an array index: 0.4% of the daemon's samples under bench/sip). Past 2^53 it
 * is approximate, never small.
 */
export function decimalAt(text: string, s: number, e: number, maxDigits = Infinity): number {
  if (s >= e || e - s > maxDigits) return NaN;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * JavaScript's \s (WhiteSpace and LineTerminator, ECMA-262): what a hand reader that
 * replaces a regex's \s skips. A printable ASCII character, nearly every one a reader meets,
 * is answered after two comparisons.
 */
export const isSpace = (c: number): boolean =>
  c <= 32 ? c === 32 || (c >= 9 && c <= 13) : c >= 0xa0 && (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff);

/** The line terminators a regex's "." does not match. */
export const isLineEnd = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

/**
 * A table of the characters `spec` lists, `a-z` as a range ('-' itself last or first): one
 * load a character for a reader that replaces a regex's class.
 */
export function charClass(spec: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < spec.length; i++) {
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      for (let c = spec.charCodeAt(i); c <= spec.charCodeAt(i + 2); c++) t[c] = 1;
      i += 2;
    } else t[spec.charCodeAt(i)] = 1;
  }
  return t;
}
export const inClass = (t: Uint8Array, c: number): boolean => c < 256 && t[c] === 1;
/** The end of the run of `t` characters from i before e (i itself when none). */
export function runOf(text: string, i: number, e: number, t: Uint8Array): number {
  while (i < e && inClass(t, text.charCodeAt(i))) i++;
  return i;
}
/** The end of the run of \s from i before e. */
export function skipSpace(text: string, i: number, e: number): number {
  while (i < e && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Digits and '.': a dotted-quad's characters. */
export const DIGITS_DOTS = charClass('0-9.');
/**
 * Digits and dots only, as /^[\d.]+$/: what is not an IPv4 address is then no host name
 * either (RFC 3261 25.1: a toplabel begins with a letter), so "10.0.0.300" is refused, not
 * looked up.
 */
export const allDotted = (s: string): boolean => s.length > 0 && runOf(s, 0, s.length, DIGITS_DOTS) === s.length;
