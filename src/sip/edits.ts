// Splice, don't re-serialise: edits are recorded against the received text and applied
// once; bytes that no edit covers go out unchanged.
import { Header, SipMessage, splitList } from './message.js';

interface Edit {
  readonly s: number;
  readonly e: number;
  readonly t: string;
}

const INDEX = 2 ** 20; // edits one text may have for the fast sort (far above what MAX_HEADERS allows)
const OFFSET = 2 ** 16; // offsets below 65,536 (MAX_MESSAGE is 65,535)
let keys = new Float64Array(64);

/** The same order by a comparator (stable, ES2019), for a text too long for the numeric key. */
function byComparator(list: readonly Edit[]): number[] {
  return list.map((_, j) => j).sort((a, b) => list[a].s - list[b].s || list[a].e - list[b].e);
}

/**
 * The edits' indices by start, end, then the order they were made in. Each edit becomes one
 * number (start, end and index, exact below 2^53), sorted by the typed array's own numeric
 * sort: no comparator called per pair (3% of an INVITE's instructions, bench/instructions).
 * A text too long for that key takes the comparator sort.
 */
function sorted(list: readonly Edit[]): ArrayLike<number> {
  const n = list.length;
  if (n >= INDEX) return byComparator(list);
  if (n > keys.length) keys = new Float64Array(Math.max(n, keys.length * 2));
  for (let i = 0; i < n; i++) {
    const x = list[i];
    if (x.e >= OFFSET) return byComparator(list);
    keys[i] = (x.s * OFFSET + x.e) * INDEX + i;
  }
  const k = keys.subarray(0, n).sort();
  // The index: k - floor(k / INDEX) * INDEX, exact (INDEX a power of two), where % on a
  // double is a call to fmod (1.6% of an INVITE's time in a profile).
  for (let i = 0; i < n; i++) k[i] -= Math.floor(k[i] / INDEX) * INDEX;
  return k;
}

export class Edits {
  private readonly list: Edit[] = [];

  /** Replace text[s, e) with t (s === e inserts; t === "" deletes). */
  replace(s: number, e: number, t: string): void {
    this.list.push({ s, e, t });
  }

  insert(at: number, t: string): void {
    this.replace(at, at, t);
  }

  delete(s: number, e: number): void {
    this.replace(s, e, '');
  }

  get size(): number {
    return this.list.length;
  }

  /** Forget the edits made since `size` was `mark` (to write a part again another way). */
  rollback(mark: number): void {
    this.list.length = mark;
  }

  /** Apply to text[0, end). Overlapping edits are a bug in a rule: they throw, and the caller drops. */
  apply(text: string, end = text.length): string {
    if (this.list.length === 0) return end === text.length ? text : text.slice(0, end);
    const order = sorted(this.list);
    let out = '';
    let pos = 0;
    for (let k = 0; k < order.length; k++) {
      const x = this.list[order[k]];
      if (x.s < pos) throw new Error(`overlapping edits at ${x.s}`);
      out += text.slice(pos, x.s) + x.t;
      pos = x.e;
    }
    return out + text.slice(pos, end);
  }
}

/** Delete one element of a comma-separated header, or the whole line if it is the only one. */
export function deleteElement(m: SipMessage, edits: Edits, h: Header, s: number, e: number): void {
  const list = splitList(m.text, h.valueStart, h.valueEnd);
  if (list.length <= 1) {
    edits.delete(h.start, h.end);
    return;
  }
  const i = list.findIndex(([a]) => a === s);
  if (i < 0) return;
  if (i < list.length - 1) edits.delete(s, list[i + 1][0]);
  else edits.delete(list[i - 1][1], e);
}
