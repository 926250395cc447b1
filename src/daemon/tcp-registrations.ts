// The registrations made over one TCP or TLS connection (Kamailio registrar's
// tcp_persistent_flag): a phone is called on the connection it registered on (RFC 5626 5.3),
// so that connection stays open while one of them lasts, even with nothing on it.
import type { Registration } from '../core/transport.js';

/** SPEC 11: registrations one connection keeps apart (a phone's accounts); past it, a new one keeps nothing. */
export const MAX_REGISTRATIONS_PER_CONNECTION = 16;

/** A refresh sent at the last moment still finds the connection: 64*T1 (RFC 3261 17.1.1.1). */
const SLACK_MS = 32_000;

export class TcpRegistrations {
  private readonly ends = new Map<number, number>(); // hash of the AOR -> when it ends (ms)

  /**
   * A 2xx to REGISTER went on the connection at `now` (ms): `r.lasts` seconds for its AOR (0
   * ends that AOR's). Returns how long the connection must stay open without traffic: until
   * the last registration ends, plus SLACK_MS; 0 when none is left.
   */
  note(r: Registration, now: number): number {
    const key = fnv1a(r.aor); // numbers, not URIs (SPEC 11)
    if (r.lasts > 0 && (this.ends.has(key) || this.ends.size < MAX_REGISTRATIONS_PER_CONNECTION)) this.ends.set(key, now + r.lasts * 1000);
    else this.ends.delete(key);
    let until = 0;
    for (const [k, end] of this.ends) {
      if (end <= now) this.ends.delete(k);
      else until = Math.max(until, end);
    }
    return this.ends.size > 0 ? until - now + SLACK_MS : 0;
  }

  /** Does one of them last beyond `now` (it holds the connection open)? */
  holds(now: number): boolean {
    for (const end of this.ends.values()) if (end > now) return true;
    return false;
  }
}

/** FNV-1a (32 bits) of an AOR. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
