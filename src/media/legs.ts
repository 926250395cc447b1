// A call's passages through the proxy (SPEC 6): a call that leaves through a provider and
// comes back (two IPv4 phones at an IPv6 registrar) is another call to the media engine on
// each passage, told apart by our two SIP addresses on it (`via`). One bookkeeping for
// RTPproxy64's table and for the calls given to rtpengine.
import { detached } from '../net/strings.js';

/** Later passages alive at a time: a call holds at most four (SPEC 11). */
const MAX_LATER = 3;

export class Legs {
  private readonly byCall = new Map<string, { made: number; list: Array<{ key: string; via: string }> }>();
  private readonly callOf = new Map<string, string>(); // a later passage's key -> Call-ID

  /** `alive(key)`: the passage holds something (streams, a call at the engine); one that holds nothing is no passage. */
  constructor(private readonly alive: (key: string) => boolean) {}

  /** The key of the passage on `via`: a later one alive there, else the Call-ID (the first, and every message no later one claims). */
  key(callId: string, via: string): string {
    return this.byCall.get(callId)?.list.find((l) => l.via === via && this.alive(l.key))?.key ?? callId;
  }

  /** The key a new passage on `via` gets, and add() to make it one; null when three are alive. */
  next(callId: string, via: string): { readonly key: string; readonly add: () => void } | null {
    const legs = this.byCall.get(callId);
    const live = legs?.list.filter((l) => this.alive(l.key)) ?? [];
    if (live.length >= MAX_LATER) return null;
    const made = (legs?.made ?? 1) + 1;
    const key = detached(`${callId} leg${made}`); // a Call-ID holds no space (RFC 3261 25.1)
    return {
      key,
      add: () => {
        const id = detached(callId);
        for (const l of this.byCall.get(id)?.list ?? []) if (!this.alive(l.key)) this.callOf.delete(l.key);
        this.byCall.set(id, { made, list: [...live, { key, via: detached(via) }] });
        this.callOf.set(key, id);
      },
    };
  }

  /** A passage ended: forget it, and every other that holds nothing; the record goes with the call's last passage. */
  drop(key: string): void {
    const callId = this.callOf.get(key) ?? key;
    const legs = this.byCall.get(callId);
    if (!legs) return;
    const gone = (l: { key: string }): boolean => l.key === key || !this.alive(l.key);
    for (const l of legs.list) if (gone(l)) this.callOf.delete(l.key);
    legs.list = legs.list.filter((l) => !gone(l));
    if (legs.list.length === 0 && !this.alive(callId)) this.byCall.delete(callId);
  }
}
