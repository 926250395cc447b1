// Splice, don't re-serialise: edits are recorded against the received text and applied
// once; bytes that no edit covers go out unchanged.
import { Header, SipMessage, splitList } from './message.js';

interface Edit {
  readonly s: number;
  readonly e: number;
  readonly t: string;
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
    // Array.prototype.sort is stable (ES2019): edits at one place keep the order they were made in.
    const l = this.list.slice().sort((a, b) => a.s - b.s || a.e - b.e);
    let out = '';
    let pos = 0;
    for (const x of l) {
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
