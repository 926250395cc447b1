// Masquerading's public address when it can change (sipproxy64(8) MASQUERADING, "A public
// address that changes"): `outbound NAME` (dynamic DNS) is resolved again when its record's
// TTL runs out, `outbound if:IFACE` is read every outbound-check seconds. A change is handed
// to the daemon, which binds the new address before anything is written with it.
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { Addr, Family, parseIp } from '../net/addr.js';
import { errnoName, loadNative } from './datapath-native.js';
import { DnsApi } from './resolver.js';

/** One address of an interface, with the flags that say whether to use it. */
export interface IfAddr {
  readonly addr: Addr;
  readonly deprecated: boolean; // preferred lifetime over (renumbering: the old prefix)
  readonly temporary: boolean; //  an IPv6 privacy address (RFC 8981): changes daily, not for a server
  readonly tentative: boolean; //  duplicate address detection not yet done: not bindable
}

const LINK_LOCAL = /^(fe[89ab][0-9a-f]:|169\.254\.)/;

/**
 * The public addresses an interface gives: one per family, the inbound's family first; the
 * first usable address in the kernel's order, deprecated ones only when nothing else is left.
 * Never link-local or loopback (RFC 4291 2.5.6: not routed).
 */
export function pickPublic(list: readonly IfAddr[], first: Family): Addr[] {
  const out: Addr[] = [];
  for (const f of [first, first === 4 ? 6 : 4] as Family[]) {
    const usable = list.filter((x) => x.addr.family === f && !x.tentative && !x.temporary && !LINK_LOCAL.test(x.addr.addr) && x.addr.addr !== '127.0.0.1' && x.addr.addr !== '::1');
    const pick = usable.find((x) => !x.deprecated) ?? usable[0];
    if (pick) out.push(pick.addr);
  }
  return out;
}

type IpJson = Array<{ addr_info?: Array<{ local?: string; scope?: string; deprecated?: boolean; temporary?: boolean; tentative?: boolean; dadfailed?: boolean }> }>;

/** Parse `ip -j addr show dev IFACE`: its addresses of global scope. */
export function parseIpJson(text: string): IfAddr[] {
  const out: IfAddr[] = [];
  for (const link of JSON.parse(text || '[]') as IpJson) {
    for (const i of link.addr_info ?? []) {
      const a = i.local && (i.scope ?? 'global') === 'global' ? parseIp(i.local) : null;
      if (a) out.push({ addr: a, deprecated: !!i.deprecated, temporary: !!i.temporary, tentative: !!i.tentative || !!i.dadfailed });
    }
  }
  return out;
}

/** An interface's addresses: ip(8), which knows the flags; Node's list when there is no ip. null: no such interface. */
export function readIface(name: string): Promise<IfAddr[] | null> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', 'addr', 'show', 'dev', name], { timeout: 5000 }, (err, stdout) => {
      if (!err) {
        try {
          resolve(parseIpJson(stdout));
          return;
        } catch {
          /* fall through to Node's list */
        }
      }
      if (err && (err as NodeJS.ErrnoException).code !== 'ENOENT') {
        resolve(null); // ip ran and does not know the interface
        return;
      }
      const list = networkInterfaces()[name];
      resolve(list ? list.map((i) => ({ addr: parseIp(i.address) as Addr, deprecated: false, temporary: false, tentative: false })).filter((x) => x.addr) : null);
    });
  });
}

/** Every address this host holds now (interfaces that are up). */
export function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(parseIp(i.address)?.addr ?? i.address);
  return out;
}

/**
 * outbound NAME: the address of the inbound's family first, then the other family's when the
 * host holds it (a dual-stack line under one name). DNS gives the TTL; a name only
 * getaddrinfo knows (/etc/hosts) is looked up again after `fallbackTtl` seconds.
 */
export async function lookupPublic(api: DnsApi, name: string, first: Family, held: (a: string) => boolean, fallbackTtl: number): Promise<{ addrs: Addr[]; ttl: number }> {
  const out: Addr[] = [];
  let ttl = Infinity;
  for (const f of [first, first === 4 ? 6 : 4] as Family[]) {
    let got: Addr[] = [];
    try {
      const recs = await api.resolveIp(name, f);
      got = recs.map((r) => parseIp(r.address)).filter((a): a is Addr => a !== null && a.family === f);
      if (got.length > 0) ttl = Math.min(ttl, ...recs.map((r) => r.ttl));
    } catch {
      /* no DNS answer: getaddrinfo */
    }
    if (got.length === 0) {
      try {
        got = (await api.lookup(name, f)).map((x) => parseIp(x)).filter((a): a is Addr => a !== null && a.family === f);
        if (got.length > 0) ttl = Math.min(ttl, fallbackTtl);
      } catch {
        /* not in this family */
      }
    }
    const a = got.find((x) => held(x.addr)) ?? (out.length === 0 ? got[0] : undefined);
    if (a) out.push(a);
  }
  return { addrs: out, ttl: Math.max(5, Math.min(3600, ttl === Infinity ? fallbackTtl : ttl)) };
}

export interface PublicSource {
  readonly name: string | null; //  outbound NAME
  readonly iface: string | null; // outbound if:IFACE
  readonly first: Family; //        the inbound's family
  readonly checkSeconds: number; // outbound-check
}

export interface PublicDeps {
  readonly dns: DnsApi;
  readonly readIface: (name: string) => Promise<IfAddr[] | null>;
  readonly held: () => Set<string>;
  /** The kernel's word that an address changed: calls `nudge` on each; returns what stops it (kernelAddressEvents). */
  readonly events?: (nudge: () => void) => () => void;
}

/** The public addresses now, and when to look again (seconds). */
export async function readPublic(src: PublicSource, deps: PublicDeps): Promise<{ addrs: Addr[]; next: number }> {
  if (src.iface) {
    const list = await deps.readIface(src.iface);
    return { addrs: list ? pickPublic(list, src.first) : [], next: src.checkSeconds };
  }
  if (src.name) {
    const held = deps.held();
    const r = await lookupPublic(deps.dns, src.name, src.first, (a) => held.has(a), src.checkSeconds);
    return { addrs: r.addrs, next: r.ttl };
  }
  return { addrs: [], next: src.checkSeconds };
}

/**
 * The kernel's address notifications (rtnetlink, through the addon: src/native/addrwatch.c):
 * `nudge` on each change of any address of the host. An Error says why there are none (the
 * addon does not load, or the socket cannot be made): the timed looks go on alone.
 */
export function kernelAddressEvents(nudge: () => void): (() => void) | Error {
  const addon = loadNative();
  if (addon instanceof Error) return addon;
  const h = addon.addrWatch(nudge);
  if (typeof h === 'number') return new Error(`rtnetlink: ${errnoName(-h)}`);
  return () => addon.addrWatchClose(h);
}

/** How soon a look follows the kernel's word: the burst of one change (a deprecated address, a new one, its DAD) is one look. */
export const NUDGE_MS = 100;

/**
 * Look again and again: when the addresses differ from the current ones, `change` is called
 * (one at a time); nothing found keeps the old ones (a link that is down for a moment). Each
 * round also tells `held` which former addresses the host still holds. A look is due at the
 * TTL or outbound-check, or NUDGE_MS after the kernel says an address changed; never two at
 * once (one asked for during a look follows it).
 */
export class PublicWatch {
  private timer: NodeJS.Timeout | null = null;
  private due = Infinity; // when the timer fires (ms)
  private running = false;
  private again = false; // asked for during a look
  private stopped = false;
  private stopEvents: (() => void) | null = null;

  constructor(
    private readonly src: PublicSource,
    private readonly deps: PublicDeps,
    private current: Addr[],
    private readonly change: (now: Addr[], was: Addr[]) => Promise<boolean>,
    private readonly round: (held: Set<string>) => void = () => {},
  ) {}

  start(next = this.src.checkSeconds): void {
    if (this.stopped) return;
    this.stopEvents ??= this.deps.events?.(() => this.nudge()) ?? null;
    this.schedule(next * 1000);
  }

  /** The kernel says an address changed: a look within NUDGE_MS, however many say so. */
  nudge(): void {
    if (this.running) this.again = true;
    else if (this.due - Date.now() > NUDGE_MS) this.schedule(NUDGE_MS);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = Date.now() + ms;
    this.timer = setTimeout(() => void this.look(), ms);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    this.timer = null;
    this.due = Infinity;
    this.running = true;
    let next = this.src.checkSeconds;
    try {
      next = await this.check();
    } catch {
      /* (readPublic does not reject; should it, the next look is at outbound-check) */
    }
    this.running = false;
    const again = this.again;
    this.again = false;
    this.schedule(again ? NUDGE_MS : next * 1000);
  }

  /** One look; returns the seconds until the next. */
  async check(): Promise<number> {
    const { addrs, next } = await readPublic(this.src, this.deps);
    if (this.stopped) return next;
    const same = addrs.length === this.current.length && addrs.every((a, i) => a.addr === this.current[i].addr);
    if (addrs.length > 0 && !same && (await this.change(addrs, this.current))) this.current = addrs;
    this.round(this.deps.held());
    return next;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopEvents?.();
    this.stopEvents = null;
  }
}
