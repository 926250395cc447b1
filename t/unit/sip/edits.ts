import t from 'tap';
import { Edits } from '../../../src/sip/edits.js';

// A reference: the same edits applied by a comparator sort, stable by the order made.
function reference(text: string, list: Array<[number, number, string]>): string {
  const l = list.map((x, i) => ({ s: x[0], e: x[1], t: x[2], i })).sort((a, b) => a.s - b.s || a.e - b.e || a.i - b.i);
  let out = '';
  let pos = 0;
  for (const x of l) {
    if (x.s < pos) throw new Error(`overlapping edits at ${x.s}`);
    out += text.slice(pos, x.s) + x.t;
    pos = x.e;
  }
  return out + text.slice(pos);
}

t.test('edits apply in place order; those at one offset in the order made', async (t) => {
  const e = new Edits();
  e.insert(4, 'B');
  e.replace(0, 2, 'x');
  e.insert(4, 'C');
  e.insert(0, 'A');
  e.delete(6, 8);
  t.equal(e.apply('0123456789'), 'Ax23BC4589');
  t.equal(e.apply('0123456789', 9), 'Ax23BC458', 'up to end');
  e.rollback(2);
  t.equal(e.apply('0123456789'), 'x23B456789', 'rolled back to the first two');
});

t.test('overlapping edits throw (a bug in a rule: the caller drops)', async (t) => {
  const e = new Edits();
  e.replace(2, 6, 'x');
  e.replace(4, 5, 'y');
  t.throws(() => e.apply('0123456789'), /overlapping edits at 4/);
});

t.test('random edits, short and past 65,536 characters, read as the comparator sort reads them', async (t) => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let checked = 0;
  for (const len of [40, 300, 70000]) {
    const text = Array.from({ length: len }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    for (let k = 0; k < 300; k++) {
      // Non-overlapping spans, and inserts at shared offsets, made in random order.
      const list: Array<[number, number, string]> = [];
      for (let p = rnd(5); p < len; p += 1 + rnd(Math.max(2, len >> 3))) {
        const w = rnd(3) === 0 ? 0 : Math.min(rnd(4), len - p);
        list.push([p, p + w, `<${list.length}>`]);
        if (rnd(2)) list.push([p, p, `(${list.length})`]);
      }
      for (let i = list.length - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [list[i], list[j]] = [list[j], list[i]];
      }
      const e = new Edits();
      for (const [s, end, v] of list) e.replace(s, end, v);
      let want: string;
      try {
        want = reference(text, list);
      } catch {
        t.throws(() => e.apply(text));
        continue;
      }
      if (e.apply(text) !== want) t.fail(`length ${len}, case ${k}`);
      checked++;
    }
  }
  t.ok(checked > 600, `${checked} cases compared`);
});
