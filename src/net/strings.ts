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
