// Masquerading (sipproxy64(8) MASQUERADING): phones on a private LAN behind one public
// address. Two realms: the LAN (inbound address and its prefix) and the public side (the
// outbound address, or one per family on a dual-stack line). Routing URIs that point into the LAN go out naming the outbound
// address with the LAN address in a MACed ;sp64n= parameter, so requests that come back
// to the public address find the phone without per-call state.
import ipaddr from 'ipaddr.js';
import { Addr, Family, HostPort, isSiteLocal, parseHostPort, uriHost, withPort } from '../net/addr.js';
import { param, UriParts } from '../sip/uri.js';
import { keepTransport, restoreTransport, Translator, UriHook } from '../core/uris.js';
import { verifies } from '../core/mac.js';

export type Realm = 'lan' | 'wan';

/** URI parameter carrying a LAN address through the public side. */
export const NAT_PARAM = 'sp64n';

/**
 * URI parameter carrying, to the LAN, where a public party behind a NAT of its own sent from
 * (its URI names a site-local address; Kamailio nathelper's alias): requests to the URI go there.
 */
export const NATED_PARAM = 'sp64r';

export class Nat {
  private readonly net: [ipaddr.IPv4 | ipaddr.IPv6, number];
  private readonly inboundOut: Addr; //  what is written for inbound and outbound (advertise LOCAL PUBLIC)
  private outboundOut: Addr;
  private outbound2Out: Addr | null;
  /** Public addresses we had before a change, still served while the host holds them (calls set up on them). */
  private readonly former: string[] = [];

  constructor(
    readonly inbound: Addr,
    prefix: number | null,
    public outbound: Addr,
    private readonly sipPort: number,
    private readonly macs: ReadonlyArray<(value: string) => string>, // the first signs; each verifies (secret FILE rotation)
    private readonly written: (a: Addr) => Addr = (a) => a,
    public outbound2: Addr | null = null, // the other family's public address (dual stack)
  ) {
    this.net = [ipaddr.parse(inbound.addr), prefix ?? (inbound.family === 4 ? 24 : 64)];
    this.inboundOut = written(inbound);
    this.outboundOut = written(outbound);
    this.outbound2Out = outbound2 && written(outbound2);
  }

  /**
   * A new public address (outbound NAME re-resolved, outbound if:IFACE renumbered): written
   * from now on; the ones it replaces stay ours (requests of established calls still come
   * to them) until forget(). Returns those.
   */
  setPublic(primary: Addr, second: Addr | null): string[] {
    const old = [this.outbound.addr, ...(this.outbound2 ? [this.outbound2.addr] : [])].filter((a) => a !== primary.addr && a !== second?.addr);
    for (const a of old) if (!this.former.includes(a)) this.former.push(a);
    const now = [primary.addr, second?.addr];
    for (let i = this.former.length - 1; i >= 0; i--) if (now.includes(this.former[i])) this.former.splice(i, 1);
    this.outbound = primary;
    this.outbound2 = second;
    this.outboundOut = this.written(primary);
    this.outbound2Out = second && this.written(second);
    this.lanCache.clear();
    return old;
  }

  /** advertise LOCAL NAME: the name gives another address; written from the next message on. */
  readvertise(): void {
    this.outboundOut = this.written(this.outbound);
    this.outbound2Out = this.outbound2 && this.written(this.outbound2);
    this.lanCache.clear();
  }

  /** A former public address the host no longer holds. */
  forget(addr: string): void {
    const i = this.former.indexOf(addr);
    if (i >= 0) this.former.splice(i, 1);
  }

  /** The realm a local address serves, if it is one of ours (advertised names included). */
  realmOf(local: string): Realm | null {
    if (local === this.inbound.addr || local === this.inboundOut.addr) return 'lan';
    const o2 = this.outbound2;
    if (local === this.outbound.addr || local === this.outboundOut.addr || (o2 !== null && (local === o2.addr || local === this.outbound2Out?.addr))) return 'wan';
    return this.former.length > 0 && this.former.includes(local) ? 'wan' : null;
  }

  /** Our address on a realm's side; on the public side, the one of family f when there is one. */
  addrOf(r: Realm, f?: Family): Addr {
    if (r === 'lan') return this.inbound;
    return this.outbound2 && f === this.outbound2.family ? this.outbound2 : this.outbound;
  }

  /** The address written for a realm's side (advertise LOCAL PUBLIC). */
  writtenOf(r: Realm, f?: Family): Addr {
    if (r === 'lan') return this.inboundOut;
    return this.outbound2Out && f === this.outbound2Out.family ? this.outbound2Out : this.outboundOut;
  }

  private readonly lanCache = new Map<string, boolean>();
  private readonly tokenCache = new Map<string, string>();

  /** On the LAN: the inbound address's family and prefix. */
  isLan(a: Addr): boolean {
    if (a.family !== this.inbound.family || this.realmOf(a.addr) === 'wan') return false;
    let hit = this.lanCache.get(a.addr);
    if (hit === undefined) {
      hit = ipaddr.parse(a.addr).match(this.net);
      if (this.lanCache.size >= 4096) this.lanCache.clear();
      this.lanCache.set(a.addr, hit);
    }
    return hit;
  }

  realmOfTarget(a: Addr): Realm {
    return this.isLan(a) ? 'lan' : 'wan';
  }

  /** "192.0.2.10-5060-MAC": the LAN address, its port, and a MAC so strangers cannot forge one. */
  token(hp: HostPort): string {
    const v = `${hp.addr}-${hp.port}`;
    let t = this.tokenCache.get(v);
    if (t === undefined) {
      t = `${v}-${this.macs[0](v)}`;
      if (this.tokenCache.size >= 4096) this.tokenCache.clear();
      this.tokenCache.set(v, t);
    }
    return t;
  }

  untoken(v: string): HostPort | null {
    const hp = this.verified(v, '');
    return hp && this.isLan(hp) ? hp : null;
  }

  /** "ADDR-PORT-MAC" read back when the MAC (over `kind` and ADDR-PORT) is right. */
  private verified(v: string, kind: string): HostPort | null {
    const m = /^([0-9A-Fa-f.:]+)-(\d{1,5})-([0-9a-f]{12})$/.exec(v);
    if (!m || !verifies(this.macs, `${kind}${m[1]}-${m[2]}`, m[3])) return null;
    return parseHostPort(m[1].includes(':') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`);
  }

  /** The LAN address a URI's ;sp64n= names, when the MAC is right. */
  tokenOf(text: string, u: UriParts): HostPort | null {
    const p = param(u, NAT_PARAM);
    return p && p.valueStart >= 0 ? this.untoken(text.slice(p.valueStart, p.valueEnd)) : null;
  }

  /** The public source a URI's ;sp64r= names (NATED_PARAM), when the MAC is right; signed apart from ;sp64n=. */
  natedOf(text: string, u: UriParts): HostPort | null {
    const p = param(u, NATED_PARAM);
    const hp = p && p.valueStart >= 0 ? this.verified(text.slice(p.valueStart, p.valueEnd), 'r ') : null;
    return hp && !this.isLan(hp) && this.realmOf(hp.addr) === null ? hp : null;
  }

  /**
   * How addresses are written for a message going from realm `from` to realm `to`. Within one
   * realm (a hairpin call on the LAN) nothing is rewritten. Built once, one shape for all three
   * (a per-message object spread made the URI steps megamorphic: bench/rewrite).
   */
  translator(from: Realm, to: Realm): Translator & { hook?: UriHook } {
    return from === to ? this.toSame : to === 'wan' ? this.toWan : this.toLan;
  }

  private readonly isOwn = (a: string): boolean => this.realmOf(a) !== null; // advertised ones too
  private readonly never = (): boolean => false;
  private readonly same = (a: Addr, port: number | null) => ({ host: uriHost(a), port });

  private readonly toSame: Translator & { hook?: UriHook } = { translate: this.same, isGeneric: this.never, hasFace: this.never, hook: undefined };

  private readonly toWan: Translator & { hook?: UriHook } = {
    // RFC 3261 18.2.1 semantics on the public side: LAN addresses are not reachable there.
    translate: (a, port, out) => (this.isLan(a) || a.family !== out ? { host: uriHost(this.writtenOf('wan', out)), port } : this.same(a, port)),
    isGeneric: this.isOwn,
    hasFace: this.never,
    hook: (c, u, a, port, restorable) => {
      // The party's own URI again, without the source we wrote for the LAN (NATED_PARAM).
      const r = param(u, NATED_PARAM);
      if (r) c.edits.delete(r.start, r.end);
      if (r && this.isLan(a)) return true; // its site's address, not one of our phones
      if (!restorable || !this.isLan(a) || a.addr === this.inbound.addr) return false;
      // A routing URI into the LAN: our public address, and the phone in ;sp64n=.
      const end = u.portStart >= 0 ? u.portEnd : u.hostEnd;
      c.edits.replace(u.hostStart, end, `${uriHost(this.writtenOf('wan', c.out))}:${this.sipPort}`);
      c.edits.insert(end, `;${NAT_PARAM}=${this.token(withPort(a, port ?? 5060))}`);
      keepTransport(c, u, a); // RFC 3261 19.1.5: the provider reaches us as it can
      return true;
    },
  };

  private readonly toLan: Translator & { hook?: UriHook } = {
    translate: (a, port) => (a.family !== this.inbound.family ? { host: uriHost(this.inboundOut), port } : this.same(a, port)),
    isGeneric: this.isOwn,
    hasFace: this.never,
    // A public party of the other family on our LAN address: that serves sip-port only (uris.ts PORT_PARAM).
    ownPort: (_a, port) => (port === this.sipPort ? null : this.sipPort),
    hook: (c, u, a, _port, restorable) => {
      const p = param(u, NAT_PARAM);
      const hp = this.tokenOf(c.text, u);
      // RFC 3261 12.1.1: a public party behind a NAT of its own (a teleworker's phone) names a
      // site-local address as its remote target; the LAN's requests to it go where it sent from.
      const src = c.src;
      if (!p && restorable && src && src.addr !== a.addr && isSiteLocal(a) && !param(u, NATED_PARAM)) {
        const v = `${src.addr}-${src.port}`;
        c.edits.insert(u.portStart >= 0 ? u.portEnd : u.hostEnd, `;${NATED_PARAM}=${v}-${this.macs[0](`r ${v}`)}`);
        return false; // its host and port are written as any other's
      }
      if (!p || !hp) return false;
      // Back to the phone's own URI (RFC 3261 12.1.1: the remote target it gave).
      const end = u.portStart >= 0 ? u.portEnd : u.hostEnd;
      c.edits.replace(u.hostStart, end, `${uriHost(hp)}:${hp.port}`);
      c.edits.delete(p.start, p.end);
      restoreTransport(c, u);
      return true;
    },
  };
}
