// The branches of a call's first INVITE still open through us (RFC 3261 16.7, 16.11). A proxy
// before us that forks in parallel (a registrar with two contacts of one user: a phone that
// restarted and left its old binding, or two devices) sends one INVITE a branch, each through
// us, each our branch; a final error on one ends that branch, not the call. Its media goes
// only when the last open branch ends (SPEC 6). One bookkeeping for both media engines.
import { detached } from '../net/strings.js';

/** Branches remembered a call: a fork wider than this is rare; the rest are not counted. */
const MAX_BRANCHES = 16;
/** Calls remembered: the oldest is forgotten first (then a final error ends its media, as before). */
const MAX_CALLS = 100_000;

export class Forks {
  // open: branch -> a response came back on it. cancelled: a CANCEL ended the call's media and
  // `open` holds the silent branches it left (their INVITE's retransmissions still come, until
  // the previous hop's timer B).
  private readonly calls = new Map<string, { from: string; open: Map<string, boolean>; cancelled: boolean }>();

  /**
   * The dialog-creating INVITE of `key` left us on our branch `branch`, from the previous hop
   * `from`. SPEC 11: only the hop that sent the first branch opens more; another source's
   * INVITE with a live Call-ID keeps no failed call's media.
   */
  open(key: string, branch: string, from: string): void {
    let c = this.calls.get(key);
    if (c?.cancelled) this.calls.delete(key); // a new INVITE with the Call-ID of a call a CANCEL ended
    if (!c || c.cancelled) {
      if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value as string);
      c = { from: detached(from), open: new Map(), cancelled: false };
      this.calls.set(detached(key), c);
    }
    if (c.from === from && c.open.size < MAX_BRANCHES && !c.open.has(branch)) c.open.set(detached(branch), false);
  }

  /** A provisional response came back on `branch` of `key`: the hop before us may CANCEL it (RFC 3261 9.1). */
  heard(key: string, branch: string): void {
    const c = this.calls.get(key);
    if (c && c.open.get(branch) === false) c.open.set(branch, true);
  }

  /**
   * A final response, or a CANCEL (`cancel`), ends `branch` of `key`: true when no other
   * branch stays open (the call's media may go), false while another may still be answered.
   * RFC 3261 9.1: the hop before us CANCELs only branches that sent a provisional response,
   * so after a CANCEL a branch that never answered at all (a dead contact) is not waited for.
   */
  end(key: string, branch: string, cancel = false): boolean {
    const c = this.calls.get(key);
    if (!c || c.cancelled) return true; // (the 487 of the branch a CANCEL ended keeps what it left)
    // (SPEC 11: only a CANCEL that ended a branch of the call; a stranger's ends none)
    const ended = c.open.delete(branch);
    if (c.open.size > 0 && !(cancel && ended && silent(c.open))) return false;
    if (c.open.size > 0) c.cancelled = true; // its silent branches remembered (within MAX_CALLS): their retransmissions take no media
    else this.calls.delete(key);
    return true;
  }

  /** Is this INVITE a retransmission on a silent branch of a call a CANCEL ended? Its streams are gone. */
  gone(key: string, branch: string): boolean {
    const c = this.calls.get(key);
    return c !== undefined && c.cancelled && c.open.has(branch);
  }

  get size(): number {
    return this.calls.size;
  }
}

/** Has no open branch had a response? */
function silent(open: ReadonlyMap<string, boolean>): boolean {
  for (const heard of open.values()) if (heard) return false;
  return true;
}
