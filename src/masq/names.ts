// Host names the LAN's phones send to (a provider's registrar): resolved by the daemon on
// first use (RFC 3263), kept for their TTL; a failure is remembered briefly (503 meanwhile).
import type { Transport } from '../core/transport.js';
import { Addr, Family } from '../net/addr.js';

/** The transport a name is looked up for: its SRV service (RFC 3263 4.2: _sip._udp, _sip._tcp, _sips._tcp). */
export type Service = Transport;

/** The cache key of a name: UDP's as before, the others apart (their SRV records may differ). */
const keyOf = (name: string, family: Family, service: Service): string => (service === 'udp' ? `${family}/${name}` : `${family}/${service}/${name}`);

export interface NameEntry {
  readonly addr: Addr;
  readonly port?: number;
}

/** Names kept for one address (SPEC 11: bounded; a provider's SBC serves a few domains). */
const NAMES_AN_ADDRESS = 4;

export class NameCache {
  private readonly map = new Map<string, { entry: NameEntry | null; expires: number }>();
  // The names an address was last resolved from (a few, the newest first), kept past their
  // TTL: a dialog goes on to the address (Record-Route), and a TLS server there must still
  // prove one of them (RFC 5922 7.3).
  private readonly byAddr = new Map<string, string[]>();

  constructor(private readonly now: () => number = Date.now, private readonly max = 10000) {}

  /** The entry, null when resolution failed recently, undefined when unknown or expired. */
  get(name: string, family: Family, service: Service = 'udp'): NameEntry | null | undefined {
    const k = keyOf(name, family, service);
    const e = this.map.get(k);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(k);
      return undefined;
    }
    return e.entry;
  }

  set(name: string, family: Family, entry: NameEntry | null, ttlSeconds: number, service: Service = 'udp'): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(keyOf(name, family, service), { entry, expires: this.now() + ttlSeconds * 1000 });
    if (!entry) return;
    const a = entry.addr.addr;
    const names = [name, ...(this.byAddr.get(a) ?? []).filter((n) => n !== name)].slice(0, NAMES_AN_ADDRESS);
    this.byAddr.delete(a); // the newest address last, so that the oldest goes first
    if (this.byAddr.size >= this.max) this.byAddr.delete(this.byAddr.keys().next().value as string);
    this.byAddr.set(a, names);
  }

  /** The names `addr` was resolved from, the newest first (none: a URI gave it as a literal). */
  namesAt(addr: string): readonly string[] {
    return this.byAddr.get(addr) ?? [];
  }
}
