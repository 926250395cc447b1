// Host names the LAN's phones send to (a provider's registrar): resolved by the daemon on
// first use (RFC 3263), kept for their TTL; a failure is remembered briefly (503 meanwhile).
import { Addr, Family } from '../net/addr.js';

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
  get(name: string, family: Family): NameEntry | null | undefined {
    const k = `${family}/${name}`;
    const e = this.map.get(k);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(k);
      return undefined;
    }
    return e.entry;
  }

  set(name: string, family: Family, entry: NameEntry | null, ttlSeconds: number): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(`${family}/${name}`, { entry, expires: this.now() + ttlSeconds * 1000 });
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
