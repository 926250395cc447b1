// Host names the LAN's phones send to (a provider's registrar): resolved by the daemon on
// first use (RFC 3263), kept for their TTL; a failure is remembered briefly (503 meanwhile).
import { Addr, Family } from '../net/addr.js';

export interface NameEntry {
  readonly addr: Addr;
  readonly port?: number;
}

export class NameCache {
  private readonly map = new Map<string, { entry: NameEntry | null; expires: number }>();

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
  }
}
