// The registrar's bindings (RFC 3261 10.3): address-of-record -> contacts, each with its
// expiry, Call-ID and CSeq, and where the REGISTER came from. Pure: the daemon saves it
// (daemon/store.ts) so that registrations survive a restart.
import { HostPort, parseHostPort } from '../net/addr.js';
import { detached } from '../net/strings.js';
import { R, Reason } from '../sip/reasons.js';
import type { Transport } from '../core/transport.js';

export interface Binding {
  contact: string; //  the Contact URI as registered
  expires: number; //  absolute, ms
  callId: string;
  cseq: number;
  source: string; //   "addr:port/transport" the REGISTER came from (a phone behind NAT)
}

/** Where a binding's REGISTER came from over UDP (null: another transport, or unreadable). */
export function udpSourceOf(b: Binding): HostPort | null {
  const s = sourceOf(b);
  return s?.transport === 'udp' ? s.hp : null;
}

/** Where a binding's REGISTER came from, and over which transport. */
export function sourceOf(b: Binding): { hp: HostPort; transport: Transport } | null {
  const [where, transport] = b.source.split('/');
  const hp = parseHostPort(where);
  return hp && (transport === 'udp' || transport === 'tcp' || transport === 'tls') ? { hp, transport } : null;
}

export type RegisterResult = { ok: true } | { ok: false; reason: Reason };

export class Bindings {
  private readonly aors = new Map<string, Binding[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Current (unexpired) contacts of an address-of-record. */
  lookup(aor: string): Binding[] {
    const t = this.now();
    const list = (this.aors.get(aor) ?? []).filter((b) => b.expires > t);
    if (list.length === 0) this.aors.delete(aor);
    else this.aors.set(aor, list);
    return list;
  }

  /**
   * Apply one REGISTER's contacts (RFC 3261 10.3 step 7): expires 0 removes a binding, "*"
   * with expires 0 removes them all; an older CSeq of the same Call-ID is refused (500).
   */
  register(aor: string, callId: string, cseq: number, source: string, contacts: Array<{ uri: string | '*'; expires: number }>, maxPerAor = Infinity, maxTotal = Infinity): RegisterResult {
    const list = [...this.lookup(aor)]; // a copy: a refused REGISTER changes nothing
    const before = list.length;
    if (contacts.some((c) => c.uri === '*')) {
      if (contacts.length !== 1 || contacts[0].expires !== 0) return { ok: false, reason: R.wildcardContact };
      this.aors.delete(aor);
      return { ok: true };
    }
    const t = this.now();
    for (const c of contacts) {
      const i = list.findIndex((b) => b.contact === c.uri);
      if (i >= 0 && list[i].callId === callId && list[i].cseq >= cseq) return { ok: false, reason: R.registerOutOfOrder };
      if (i >= 0) list.splice(i, 1);
      // Kept for hours: copies that hold no REGISTER alive (net/strings.ts).
      if (c.expires > 0) list.push({ contact: detached(c.uri), expires: t + c.expires * 1000, callId: detached(callId), cseq, source: detached(source) });
    }
    // SPEC 11: bounded per address-of-record and in all (nothing changes when refused).
    if (list.length > before && list.length > maxPerAor) return { ok: false, reason: R.tooManyBindings };
    if (list.length > before && this.size() - before + list.length > maxTotal) return { ok: false, reason: R.registrationsFull };
    if (list.length === 0) this.aors.delete(aor);
    else this.aors.set(detached(aor), list); // a key already there is kept as it is
    return { ok: true };
  }

  /** Remove one binding (a phone that stopped answering keep-alives). */
  remove(aor: string, contact: string): void {
    const list = (this.aors.get(aor) ?? []).filter((b) => b.contact !== contact);
    if (list.length) this.aors.set(aor, list);
    else this.aors.delete(aor);
  }

  /** Bindings held in all (expired ones not yet swept included). */
  size(): number {
    let n = 0;
    for (const l of this.aors.values()) n += l.length;
    return n;
  }

  all(): Array<{ aor: string; bindings: Binding[] }> {
    return [...this.aors.keys()].map((aor) => ({ aor, bindings: this.lookup(aor) })).filter((x) => x.bindings.length > 0);
  }

  /** Restore saved bindings; expired ones are dropped. Returns how many are live. */
  restore(data: unknown): number {
    if (!Array.isArray(data)) return 0;
    const t = this.now();
    let n = 0;
    for (const x of data as Array<{ aor?: unknown; bindings?: unknown }>) {
      if (typeof x?.aor !== 'string' || !Array.isArray(x.bindings)) continue;
      const live = (x.bindings as Binding[]).filter((b) => typeof b?.contact === 'string' && typeof b.expires === 'number' && b.expires > t);
      if (live.length) {
        this.aors.set(x.aor, live);
        n += live.length;
      }
    }
    return n;
  }
}
