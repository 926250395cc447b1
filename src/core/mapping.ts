// The address model (SPEC section 2): each party has its real address and a face in
// the other family; unmapped (generic) parties are represented by generic4/generic6.
import { writtenOf } from '../config/advertise.js';
import { Config, MapEntry } from '../config/config.js';
import { embed, extract, nat64Refusal } from '../config/nat64.js';
import { hostOf, nth } from '../config/prefix.js';
import { Addr, Family, HostPort, other, uriHost, withPort } from '../net/addr.js';
import { isOurPort } from './transport.js';
import type { Translator } from './uris.js';

export class Mapping implements Translator {
  readonly cfg: Config;
  private readonly faces = new Map<string, MapEntry>();
  private readonly portFaces = new Map<string, MapEntry>(); // port faces, by portFaceKey
  private readonly facePorts = new Set<number>(); //           the SIP ports of port faces
  private readonly reals = new Map<string, MapEntry>();
  private readonly names = new Map<string, MapEntry[]>();
  private readonly resolved = new Map<MapEntry, Addr[]>();
  private readonly resolvedPort = new Map<MapEntry, number>();
  private readonly ours = new Set<string>();
  private readonly locals = new Map<string, string>(); // advertised PUBLIC -> LOCAL
  private readonly made = new Map<string, MapEntry | null>(); // computed entries, by role and address (bounded)
  private readonly computes: boolean; //                          large prefix lines or nat64 configured
  /** What is written for one of our addresses: its advertised PUBLIC, or itself. */
  readonly written: (a: Addr) => Addr;

  /** `alsoOurs`: the SIP addresses of the modes beside the address model. */
  constructor(cfg: Config, alsoOurs: readonly Addr[] = []) {
    this.cfg = cfg;
    this.computes = cfg.prefixLines.length > 0 || cfg.nat64 !== null;
    for (const m of cfg.maps) {
      if (m.facePort) {
        this.portFaces.set(portFaceKey(m.face.addr, m.facePort), m);
        this.facePorts.add(m.facePort);
      } else this.faces.set(m.face.addr, m);
      this.ours.add(m.face.addr);
      if (m.real) this.reals.set(m.real.addr, m);
      if (m.name) {
        const list = this.names.get(m.name) ?? [];
        list.push(m);
        this.names.set(m.name, list);
      }
    }
    if (cfg.generic4) this.ours.add(cfg.generic4.addr);
    if (cfg.generic6) this.ours.add(cfg.generic6.addr);
    for (const a of alsoOurs) this.ours.add(a.addr);
    // advertise LOCAL PUBLIC: PUBLIC is ours too, and a face by either name is the same face.
    this.written = writtenOf(cfg);
    for (const { local, public: pub } of cfg.advertise) {
      this.ours.add(pub.addr);
      this.locals.set(pub.addr, local.addr);
      const f = this.faces.get(local.addr);
      if (f) this.faces.set(pub.addr, f);
      for (const m of cfg.maps) if (m.facePort && m.face.addr === local.addr) this.portFaces.set(portFaceKey(pub.addr, m.facePort), m);
    }
  }

  /** The local address an advertised one stands for (itself when it is none). */
  localOf(a: string): string {
    return this.locals.get(a) ?? a;
  }

  /** Uplinks named by host name, with the family they are reached in. */
  uplinks(): Array<{ entry: MapEntry; name: string; family: Family }> {
    return this.cfg.maps.filter((m) => m.name).map((m) => ({ entry: m, name: m.name as string, family: other(m.face.family) }));
  }

  /** Record the addresses a name resolved to (RFC 3263); replaces earlier ones. */
  setResolved(entry: MapEntry, addrs: Addr[], port?: number): void {
    const fam = other(entry.face.family);
    if (port) this.resolvedPort.set(entry, port);
    else this.resolvedPort.delete(entry);
    for (const a of this.resolved.get(entry) ?? []) if (this.reals.get(a.addr) === entry) this.reals.delete(a.addr);
    const mine = addrs.filter((a) => a.family === fam);
    this.resolved.set(entry, mine);
    for (const a of mine) if (!this.reals.has(a.addr)) this.reals.set(a.addr, entry);
  }

  /** The uplink names that resolved to `a`: a TLS server there must prove one of them (RFC 5922 7.3). */
  namesAt(a: string): string[] {
    const out: string[] = [];
    for (const [e, addrs] of this.resolved) if (e.name && addrs.some((x) => x.addr === a)) out.push(e.name);
    return out;
  }

  /** A mode's address that came or went while running (masquerading's public address changed). */
  setOwn(a: string, own: boolean): void {
    if (own) this.ours.add(a);
    else this.ours.delete(a);
  }

  /**
   * advertise LOCAL NAME: the name now gives `now`; written() reads it already. The former
   * address stays ours until retire(): calls set up through it carry it in their route sets
   * (RFC 3261 12.1.1), and a LAN phone's BYE must not go out to the router's former address.
   */
  readvertise(local: string, now: string): void {
    this.ours.add(now);
    if (now !== local) this.locals.set(now, local);
  }

  /** A former advertised address, no longer ours (unless another line advertises it now). */
  retire(was: string): void {
    if (this.cfg.advertise.some((a) => a.public.addr === was || a.local.addr === was)) return;
    this.ours.delete(was);
    this.locals.delete(was);
  }

  /**
   * uris.ts PORT_PARAM: sip-port when the party at `a`, written on its face or the generic
   * address with its own `port`, would not be reached there: those serve sip-port only. A
   * port face's line names its party by its port (translate); another line's port that is a
   * port face's number reaches that port face's party, not this one.
   */
  ownPort(a: Addr, port: number): number | null {
    return port === this.cfg.sipPort || this.real(a.addr)?.facePort ? null : this.cfg.sipPort;
  }

  isOurs(a: string): boolean {
    return this.ours.has(a) || (this.computes && this.face(a) !== undefined);
  }

  isGeneric(a: string): boolean {
    const l = this.localOf(a);
    return l === this.cfg.generic4?.addr || l === this.cfg.generic6?.addr;
  }

  /** The map line of the port face a:port (map REAL FACE:PORT), if that is one. */
  private portFace(a: string, port: number | null | undefined): MapEntry | undefined {
    return port == null ? undefined : this.portFaces.get(portFaceKey(a, port));
  }

  /** The map line whose face is `a` (with `port`, a port face first). */
  byFace(a: string, port?: number | null): MapEntry | undefined {
    return this.portFace(a, port) ?? this.face(a);
  }

  /** The line whose (plain) face is `a`: a map line's, else a computed one (large prefix line, nat64). */
  private face(a: string): MapEntry | undefined {
    return this.faces.get(a) ?? (this.computes ? this.computed(a, true) : undefined);
  }

  /** The line of real address `a`: a map line's, else a computed one. */
  private real(a: string): MapEntry | undefined {
    return this.reals.get(a) ?? (this.computes ? this.computed(a, false) : undefined);
  }

  /**
   * The entries of prefix lines too large to expand and of nat64 (RFC 6052), made on first
   * use like a map line and remembered (at most 4096 at a time): as a face or as a party.
   */
  private computed(a: string, asFace: boolean): MapEntry | undefined {
    const key = (asFace ? 'f|' : 'r|') + a;
    let e = this.made.get(key);
    if (e === undefined) {
      e = (asFace ? this.lineEntry(a, 'face') ?? this.nat64Face(a) : this.lineEntry(a, 'real') ?? this.nat64Real(a)) ?? null;
      if (this.made.size >= 4096) this.made.clear();
      this.made.set(key, e);
    }
    return e ?? undefined;
  }

  /** Host n of a large prefix line, found by its face or its party. */
  private lineEntry(a: string, side: 'face' | 'real'): MapEntry | undefined {
    for (const l of this.cfg.prefixLines) {
      const n = hostOf(l[side], a);
      if (n !== null) return { real: nth(l.real, n), name: null, realPort: null, face: nth(l.face, n), transport: l.transport, where: l.where, prefix: `${l.real.text} ${l.face.text}` };
    }
    return undefined;
  }

  /** nat64: the IPv4 party an address of the prefix stands for, if it may be reached (SPEC 11; not ours: a loop). */
  private nat64Face(a: string): MapEntry | undefined {
    const p = this.cfg.nat64;
    const v4 = p && a.indexOf(':') > 0 ? extract(p, a) : null;
    return v4 ? this.nat64Real(v4.addr) : undefined;
  }

  private nat64Real(v4: string): MapEntry | undefined {
    const p = this.cfg.nat64;
    if (!p || v4.indexOf(':') >= 0 || nat64Refusal(p, v4) !== null || this.ours.has(v4) || v4 === this.cfg.media4?.addr) return undefined;
    return { real: { addr: v4, family: 4 }, name: null, realPort: null, face: embed(p, v4), transport: null, where: `nat64 ${p.text}`, nat64: true };
  }

  /** Is `a` inside the nat64 prefix, standing for an IPv4 address that may not be reached? */
  nat64Refused(a: string): boolean {
    return this.cfg.nat64 !== null && a.indexOf(':') > 0 && extract(this.cfg.nat64, a) !== null && !this.face(a);
  }

  /** Is `port` the SIP port of a port face (map REAL FACE:PORT)? */
  isFacePort(port: number): boolean {
    return this.facePorts.has(port);
  }

  /** Do we take SIP on `port`: sip-port, tls-port or a port face's? */
  listensOn(port: number): boolean {
    return isOurPort(port, this.cfg) || this.facePorts.has(port);
  }

  /** The SIP port the party at `s` is represented on in family f: its port face's, else none (sip-port). */
  facePortOf(s: Addr, f: Family): number | undefined {
    const e = s.family === f ? undefined : this.real(s.addr);
    return e && e.face.family === f ? e.facePort : undefined;
  }

  byReal(a: string): MapEntry | undefined {
    return this.real(a);
  }

  /** A configured party (a map line's real address): what SPEC 11 trusts. */
  isMapped(a: string): boolean {
    if (this.reals.has(a)) return true;
    const e = this.computes ? this.real(a) : undefined;
    return e !== undefined && !e.nat64;
  }

  /** Has `a` a face in the other family: a map line's party, or an IPv4 party under nat64? */
  hasFace(a: string): boolean {
    return this.real(a) !== undefined;
  }

  generic(f: Family): Addr {
    return (f === 4 ? this.cfg.generic4 : this.cfg.generic6) as Addr;
  }

  media(f: Family): Addr {
    return (f === 4 ? this.cfg.media4 : this.cfg.media6) as Addr;
  }

  /** Where the party behind a mapping entry is reached: its IP, or its name's first address. */
  realAddr(e: MapEntry): Addr | null {
    return e.real ?? this.resolved.get(e)?.[0] ?? null;
  }

  uplinkByName(name: string, family?: Family): MapEntry | undefined {
    const list = this.names.get(name.toLowerCase().replace(/\.$/, ''));
    if (!list) return undefined;
    return family ? list.find((m) => other(m.face.family) === family) ?? list[0] : list[0];
  }

  /** The local address in family f that stands for source s: its face, or the generic address. */
  representative(s: Addr, f: Family): Addr {
    if (s.family === f) return this.isOurs(s.addr) ? s : this.generic(f);
    const e = this.real(s.addr);
    return e && e.face.family === f ? e.face : this.generic(f);
  }

  /**
   * The host (URI form) and port to write for an IP literal `a` (port `port`, null when
   * absent) in a message going out in family `out` (SPEC section 4).
   */
  translate(a: Addr, port: number | null, out: Family): { host: string; port: number | null } {
    if (a.family === out) return { host: uriHost(a), port };
    const sip = this.cfg.sipPort;
    // A port face: the face's port names the party; the party's own port is its line's.
    const pf = this.portFace(a.addr, port);
    if (pf) return { host: pf.real ? uriHost(pf.real) : (pf.name as string), port: pf.realPort };
    const f = this.face(a.addr);
    if (f) {
      // A port-qualified map line: the real port where the URI had ours, or none and the real
      // one is not the default (RFC 3261 19.1.4: sip:u@h and sip:u@h:5060 differ).
      const realPort = f.realPort !== null && (port === sip || (port === null && f.realPort !== 5060)) ? f.realPort : port;
      if (f.real) return { host: uriHost(f.real), port: realPort };
      return { host: f.name as string, port: realPort };
    }
    const r = this.real(a.addr);
    if (r && r.face.family === out && r.facePort) return { host: uriHost(this.written(r.face)), port: r.facePort }; // one port a face
    if (r && r.face.family === out) {
      const facePort = r.realPort !== null && port === r.realPort ? sip : port;
      return { host: uriHost(this.written(r.face)), port: facePort };
    }
    return { host: uriHost(this.written(this.generic(out))), port };
  }

  /**
   * Where a request naming `a` (an IP literal, port or null) goes, if it may go at all:
   * a face leads to the party behind it, a mapped real address to itself.
   */
  targetOfIp(a: Addr, port: number | null): HostPort | null {
    const pf = this.portFace(a.addr, port ?? 5060);
    if (pf) {
      const real = this.realAddr(pf);
      return real ? withPort(real, pf.realPort ?? (pf.name ? this.uplinkPort(pf) : 5060)) : null;
    }
    const f = this.face(a.addr);
    if (f) {
      const real = this.realAddr(f);
      if (!real) return null;
      const p = f.realPort !== null && (port === null || port === this.cfg.sipPort) ? f.realPort : port ?? (f.name ? this.uplinkPort(f) : 5060);
      return withPort(real, p);
    }
    if (this.isMapped(a.addr)) return withPort(a, port ?? 5060);
    return null;
  }

  /** The port a named uplink is reached on: the configured one, else its SRV port, else 5060. */
  uplinkPort(e: MapEntry): number {
    return e.realPort ?? this.resolvedPort.get(e) ?? 5060;
  }

  /**
   * Where a request naming a host name goes: a configured uplink only (not an open relay).
   * 'unresolved' when it is an uplink whose name has no address yet.
   */
  targetOfName(name: string, port: number | null, prefer: Family): HostPort | 'unresolved' | null {
    const e = this.uplinkByName(name, prefer);
    if (!e) return null;
    const real = this.realAddr(e);
    if (!real) return 'unresolved';
    return withPort(real, port ?? this.uplinkPort(e));
  }
}

/** The key of a port face: its address and port. */
function portFaceKey(addr: string, port: number): string {
  return `${addr}|${port}`;
}
