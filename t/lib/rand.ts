// A seeded generator for the tests' random inputs: the same values on every run (a failure
// repeats) and spread over all of them. The LCG the tests once wrote inline,
// `seed * 1103515245 + 12345` in a double, passed 2^53: the product was rounded, its low
// bits lost, and `seed % n` repeated with a short period (a pair of pieces
// t/unit/sip/fields.ts meant to try never came up, so a mutation of the tag reader passed).
// Here the product is taken modulo 2^32 (Math.imul) and n scales the high bits.

/** rnd(n): an integer in [0, n), from the seed's sequence. */
export function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}
