// Config file and flag parsing (SPEC section 8): one directive a line, '#' comments.
import { dirname, isAbsolute, resolve } from 'node:path';
import { Addr, formatHostPort, HostPort, parseHostIp, parseHostPort, parseIp, withPort } from '../net/addr.js';
import { allDotted } from '../net/strings.js';
import { Advertised, advertiseProblem } from './advertise.js';
import { Nat64Prefix, parseNat64 } from './nat64.js';
import { checkNat64, checkPrefixLines } from './spaces.js';
import { applyMasqDirective, validateNat } from './masq.js';
import { applyOperatorDirective } from './operator.js';
import { ConfigError, HOSTNAME, int, ip, parseReal, yesNo } from './values.js';

export { ConfigError } from './values.js';
import { expandPrefixMap, PrefixLine } from './prefix.js';

export interface MapEntry {
  readonly real: Addr | null; //   an IP party; null for an uplink named by host name
  readonly name: string | null; // uplink host name (lower case)
  readonly realPort: number | null;
  readonly face: Addr; //         a local address of this host, in the other family
  readonly transport: 'udp' | 'tcp' | 'tls' | null; // forced transport towards the party
  readonly where: string; //      "file:line" for messages
  readonly prefix?: string; //    "REAL/LEN FACE/LEN": the prefix map line it is one host of
  readonly facePort?: number; //  a port face (map REAL FACE:PORT): the face is this address and SIP port
  readonly nat64?: boolean; //    made on use for an IPv4 party under nat64: not a configured party
}

export interface Config {
  sipPort: number;
  maps: MapEntry[];
  prefixLines: PrefixLine[]; // prefix map lines of more than 256 hosts: computed, not expanded
  generic4: Addr | null;
  generic6: Addr | null;
  media4: Addr | null;
  media6: Addr | null;
  rtpPorts: [number, number];
  rtpTimeout: number;
  rtpHoldTimeout: number; //   the same for a stream on hold (its SDP sendonly, recvonly, inactive or c= unspecified)
  rtpLatch: 'strict' | 'prefix' | 'any' | 'off'; // which sources a stream latches onto
  rtpQuota: number; //        streams a source that is not a configured party may hold
  mediaDatapath: 'auto' | 'native' | 'js'; // RTPproxy64's packet path (auto: native when it loads)
  sipIo: 'auto' | 'native' | 'js'; // SIP over UDP: the addon's sockets, or Node's dgram (auto: native when it loads)
  mediaThreads: number; //     native datapath threads (0: one per core)
  mediaIo: 'auto' | 'epoll' | 'io_uring'; // how the native threads move packets (auto: io_uring where allowed)
  keepUserAgent: boolean;
  uriHeaders: string[]; //    more headers that carry URIs (lower case): uri-header NAME
  advertise: Advertised[]; //  advertise LOCAL PUBLIC: what is written for our own addresses
  nat64: Nat64Prefix | null; // nat64 PREFIX/96: every IPv4 party appears inside it (RFC 6052)
  metrics: HostPort | null; // status HTTP endpoint; off by default
  tcp: boolean; //            SIP over TCP on every SIP address (RFC 3261 18)
  tcpIdle: number; //         seconds before an idle TCP connection is closed
  tlsPort: number; //         SIP over TLS port (RFC 5630); TLS is on when tlsCert and tlsKey are set
  tlsCert: string | null;
  tlsKey: string | null;
  tlsCa: string | null; //    CAs that sign the peers' certificates (default: the system's)
  // Masquerading (phones on a private LAN behind one public address; sipproxy64(8) MASQUERADING)
  inbound: Addr | null; //     the LAN side: this host's private address
  inboundPrefix: number | null; // the LAN's prefix length (null: the daemon reads the interface's)
  outbound: Addr | null; //    the public side: this host's public address
  outbound2: Addr | null; //   a second one, of the other family (a dual-stack line)
  outboundName: string | null; // a host name for it (dynamic DNS), resolved at start and again at its TTL
  outboundIface: string | null; // outbound if:IFACE: the interface's addresses, read again as they change
  outboundCheck: number; //    seconds between readings of that interface (and of a name without a TTL)
  registrar: boolean; //       answer REGISTER for `domain` ourselves
  domains: string[]; //        the registrar's domains; the first is the digest realm
  passwd: string | null; //    the registrar's password file
  digestAlgorithms: Array<'SHA-256' | 'MD5'>; // challenges offered, most preferred first (RFC 8760 2.4)
  defaultExpires: number; //   registration lifetime when the phone names none (RFC 3261 10.3 step 7)
  registrations: string; //    where the registration table is kept across restarts
  defaultTarget: string | null; // incoming calls no registration matches go here (siproxd's plugin_defaulttarget)
  outboundProxies: OutboundProxy[]; // outbound-proxy DOMAIN HOST[:PORT]: the LAN's requests for DOMAIN go through HOST
  keepalive: number; //        seconds between OPTIONS to phones registered from the public side (0: off)
  rtpengines: HostPort[]; //   media-engine rtpengine ADDR:PORT...: media through rtpengine's ng protocol (empty: RTPproxy64)
  hep: { to: HostPort; id: number } | null; // hep ADDR:PORT [ID]: every SIP message mirrored as HEPv3
  callLog: string | null; //   call-log FILE|-: a JSON line per call when it ends
  secret: string | null; //    the file with the key(s) of our MACs (default: derived from /etc/machine-id)
  floodLimit: number; //       messages a second from a source that is no configured party
  floodBan: number; //         seconds such a source is dropped once over the limit
  answerLimit: number; //      error answers to such sources a second, in all
  authFailures: number; //     failed authentications before a source's back-off (SPEC 11)
  authBackoff: number; //      the first back-off, seconds; it doubles each time, up to an hour
  maxBindings: number; //      contacts per address-of-record
  maxRegistrations: number; // bindings in all
  origin: Partial<Record<string, string>>; // "file:line" (or "--flag") each directive came from
}

/** outbound-proxy DOMAIN HOST[:PORT]: requests from the LAN for DOMAIN go through HOST. */
export interface OutboundProxy {
  readonly domain: string; // lower case
  readonly host: string; //   an IP address (canonical) or a host name (lower case)
  readonly port: number | null;
  readonly where: string;
}


export function defaultConfig(): Config {
  return {
    sipPort: 5060,
    maps: [],
    prefixLines: [],
    generic4: null,
    generic6: null,
    media4: null,
    media6: null,
    rtpPorts: [20000, 29999],
    rtpTimeout: 60,
    rtpHoldTimeout: 3600,
    rtpLatch: 'strict',
    rtpQuota: 16,
    mediaDatapath: 'auto',
    sipIo: 'auto',
    mediaThreads: 0,
    mediaIo: 'auto',
    keepUserAgent: false,
    uriHeaders: [],
    advertise: [],
    nat64: null,
    metrics: null,
    tcp: false,
    tcpIdle: 300,
    tlsPort: 5061,
    tlsCert: null,
    tlsKey: null,
    tlsCa: null,
    inbound: null,
    inboundPrefix: null,
    outbound: null,
    outbound2: null,
    outboundName: null,
    outboundIface: null,
    outboundCheck: 10,
    registrar: false,
    domains: [],
    passwd: null,
    digestAlgorithms: ['SHA-256', 'MD5'],
    defaultExpires: 3600,
    registrations: '/var/lib/sipproxy64/registrations.json',
    defaultTarget: null,
    outboundProxies: [],
    keepalive: 0,
    rtpengines: [],
    hep: null,
    callLog: null,
    secret: null,
    floodLimit: 200,
    floodBan: 60,
    answerLimit: 100,
    authFailures: 10,
    authBackoff: 60,
    maxBindings: 10,
    maxRegistrations: 10000,
    origin: {},
  };
}

/** Directive names, also the long flag names (`--map REAL=FACE`, `--sip-port 5060`, ...). */
export const DIRECTIVES = [
  'sip-port', 'sip-io', 'map', 'advertise', 'nat64', 'generic4', 'generic6', 'media4', 'media6',
  'rtp-ports', 'rtp-timeout', 'rtp-hold-timeout', 'rtp-latch', 'rtp-quota', 'media-datapath', 'media-threads', 'media-io', 'media-engine', 'keep-user-agent', 'uri-header', 'metrics', 'tcp', 'tcp-idle',
  'tls-port', 'tls-cert', 'tls-key', 'tls-ca',
  'inbound', 'outbound', 'registrar', 'domain', 'passwd', 'digest-algorithms', 'default-expires', 'registrations', 'default-target', 'outbound-proxy', 'keepalive', 'outbound-check',
  'secret', 'hep', 'call-log', 'flood-limit', 'flood-ban', 'answer-limit',
  'auth-failures', 'auth-backoff', 'max-bindings', 'max-registrations',
] as const;

/** Directives that may be given more than once (and flags that repeat). */
export const REPEATABLE = new Set<string>(['map', 'domain', 'uri-header', 'advertise', 'outbound-proxy', 'outbound']);
export type Directive = (typeof DIRECTIVES)[number];

/** Apply one directive to cfg. `args` are the words after the directive name. */
export function applyDirective(cfg: Config, where: string, name: string, args: string[]): void {
  const one = (): string => {
    if (args.length !== 1) throw new ConfigError(where, `${name} takes one value`);
    return args[0];
  };
  if (!REPEATABLE.has(name)) cfg.origin[name] = where;
  if (applyMasqDirective(cfg, where, name, args, one) || applyOperatorDirective(cfg, where, name, args, one)) return;
  switch (name) {
    case 'sip-port': cfg.sipPort = int(where, one(), 1, 65535); return;
    case 'generic4': cfg.generic4 = ip(where, one(), 4); return;
    case 'generic6': cfg.generic6 = ip(where, one(), 6); return;
    case 'media4': cfg.media4 = ip(where, one(), 4); return;
    case 'media6': cfg.media6 = ip(where, one(), 6); return;
    case 'rtp-timeout': cfg.rtpTimeout = int(where, one(), 1, 86400); return;
    case 'rtp-hold-timeout': cfg.rtpHoldTimeout = int(where, one(), 1, 86400); return;
    case 'rtp-latch': {
      const v = one();
      const modes = { strict: 'strict', prefix: 'prefix', any: 'any', yes: 'strict', no: 'off' } as const;
      if (!Object.hasOwn(modes, v)) throw new ConfigError(where, `rtp-latch takes strict, prefix, any, yes (= strict) or no, got "${v}"`);
      cfg.rtpLatch = modes[v as keyof typeof modes];
      return;
    }
    case 'rtp-quota': cfg.rtpQuota = int(where, one(), 1, 65536); return;
    case 'media-datapath': {
      const v = one();
      if (v !== 'auto' && v !== 'native' && v !== 'js') throw new ConfigError(where, `media-datapath takes auto, native or js, got "${v}"`);
      cfg.mediaDatapath = v;
      return;
    }
    case 'sip-io': {
      const v = one();
      if (v !== 'auto' && v !== 'native' && v !== 'js') throw new ConfigError(where, `sip-io takes auto, native or js, got "${v}"`);
      cfg.sipIo = v;
      return;
    }
    case 'media-threads': cfg.mediaThreads = int(where, one(), 1, 64); return;
    case 'media-io': {
      const v = one();
      if (v !== 'auto' && v !== 'epoll' && v !== 'io_uring') throw new ConfigError(where, `media-io takes auto, epoll or io_uring, got "${v}"`);
      cfg.mediaIo = v;
      return;
    }
    case 'keep-user-agent': cfg.keepUserAgent = yesNo(where, one()); return;
    case 'uri-header': {
      const h = one(); // RFC 3261 25.1: a header name is a token
      if (!/^[A-Za-z0-9.!%*_+`'~-]+$/.test(h)) throw new ConfigError(where, `"${h}" is not a header name`);
      cfg.uriHeaders.push(h.toLowerCase());
      return;
    }
    case 'tcp': cfg.tcp = yesNo(where, one()); return;
    case 'tcp-idle': cfg.tcpIdle = int(where, one(), 1, 86400); return;
    case 'tls-port': cfg.tlsPort = int(where, one(), 1, 65535); return;
    case 'tls-cert': cfg.tlsCert = one(); return;
    case 'tls-key': cfg.tlsKey = one(); return;
    case 'tls-ca': cfg.tlsCa = one(); return;
    case 'registrar': cfg.registrar = yesNo(where, one()); return;
    case 'passwd': cfg.passwd = one(); return;
    case 'default-expires': cfg.defaultExpires = int(where, one(), 1, 604800); return;
    case 'registrations': cfg.registrations = one(); return;
    case 'flood-limit': cfg.floodLimit = int(where, one(), 1, 1000000); return;
    case 'flood-ban': cfg.floodBan = int(where, one(), 1, 86400); return;
    case 'answer-limit': cfg.answerLimit = int(where, one(), 1, 1000000); return;
    case 'auth-failures': cfg.authFailures = int(where, one(), 1, 1000); return;
    case 'auth-backoff': cfg.authBackoff = int(where, one(), 1, 3600); return;
    case 'max-bindings': cfg.maxBindings = int(where, one(), 1, 100); return;
    case 'max-registrations': cfg.maxRegistrations = int(where, one(), 1, 1000000); return;
    case 'digest-algorithms': {
      const list = one().toLowerCase().split(',');
      const algs = list.map((a) => (a === 'sha-256' ? 'SHA-256' : a === 'md5' ? 'MD5' : null));
      if (algs.some((a) => a === null) || new Set(algs).size !== algs.length) throw new ConfigError(where, `digest-algorithms takes sha-256 and/or md5, comma-separated, got "${args[0]}"`);
      cfg.digestAlgorithms = algs as Array<'SHA-256' | 'MD5'>;
      return;
    }
    case 'domain': {
      const d = one().toLowerCase().replace(/\.$/, '');
      if (!HOSTNAME.test(d) && !parseHostIp(d)) throw new ConfigError(where, `"${args[0]}" is not a domain name`);
      if (!cfg.domains.includes(d)) cfg.domains.push(d);
      return;
    }
    case 'metrics': {
      // "metrics PORT" listens on 127.0.0.1; "metrics ADDR:PORT" where told; "metrics off".
      const v = one();
      if (v === 'off' || v === 'no') cfg.metrics = null;
      else if (/^\d+$/.test(v)) cfg.metrics = { addr: '127.0.0.1', family: 4, port: int(where, v, 1, 65535) };
      else {
        const hp = parseHostPort(v);
        if (!hp) throw new ConfigError(where, `metrics takes PORT or ADDR:PORT (127.0.0.1:9064, [::1]:9064), got "${v}"`);
        cfg.metrics = hp;
      }
      return;
    }
    case 'rtp-ports': {
      const m = /^(\d+)-(\d+)$/.exec(one());
      if (!m) throw new ConfigError(where, `rtp-ports takes LO-HI, got "${args[0]}"`);
      const lo = int(where, m[1], 1024, 65534);
      const hi = int(where, m[2], 1025, 65535);
      if (hi < lo + 1) throw new ConfigError(where, `rtp-ports range ${lo}-${hi} holds no even/odd port pair`);
      cfg.rtpPorts = [lo, hi];
      return;
    }
    case 'advertise': {
      if (args.length !== 2) throw new ConfigError(where, 'advertise takes LOCAL PUBLIC');
      const local = ip(where, args[0]);
      // PUBLIC may be a host name (dynamic DNS): LOCAL is written until the daemon resolves it.
      const named = !parseIp(args[1]) && HOSTNAME.test(args[1]) && !allDotted(args[1]);
      cfg.advertise.push(named ? { local, public: local, where, name: args[1].toLowerCase().replace(/\.$/, '') } : { local, public: ip(where, args[1]), where });
      return;
    }
    case 'nat64': {
      const p = parseNat64(one());
      if (typeof p === 'string') throw new ConfigError(where, p);
      cfg.nat64 = p;
      return;
    }
    case 'map': {
      if (args.length !== 2 && args.length !== 3) throw new ConfigError(where, 'map takes REAL FACE [udp|tcp|tls]');
      const transport = args[2] ?? null;
      if (transport !== null && transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') {
        throw new ConfigError(where, `map transport must be udp, tcp or tls, got "${transport}"`);
      }
      if (args[0].includes('/') || args[1].includes('/')) {
        // A prefix map: one entry per host, all naming the line they came from.
        const p = expandPrefixMap(args[0], args[1]);
        if (typeof p === 'string') throw new ConfigError(where, p);
        if (p.kind === 'line') {
          if (transport === 'tcp' || transport === 'tls') throw new ConfigError(where, `a prefix map line of more than 256 hosts takes udp only (its faces are served by one UDP socket)`);
          cfg.prefixLines.push({ real: p.real, face: p.face, transport, where });
          return;
        }
        const prefix = `${args[0]} ${args[1]}`;
        p.reals.forEach((real, i) => cfg.maps.push({ real, name: null, realPort: null, face: p.faces[i], where, transport, prefix }));
        return;
      }
      const r = parseReal(where, args[0]);
      // FACE or FACE:PORT (a port face: many parties share one address, one SIP port each).
      const hp = parseIp(args[1]) ? null : parseHostPort(args[1]);
      const face = hp ? ip(where, hp.addr) : ip(where, args[1]);
      if (r.real && r.real.family === face.family) {
        throw new ConfigError(where, `face ${face.addr} must be in the other family than ${r.real.addr}`);
      }
      cfg.maps.push({ real: r.real, name: r.name, realPort: r.port, face, where, transport, ...(hp ? { facePort: hp.port } : {}) });
      return;
    }
    default:
      throw new ConfigError(where, `unknown directive "${name}"`);
  }
}

/** Parse config text; `file` names it in error messages. */
/** Directives that name a file: a relative path in a config file is read from the file's folder. */
const FILE_DIRECTIVES = new Set(['passwd', 'registrations', 'tls-cert', 'tls-key', 'tls-ca', 'secret', 'call-log']);

export function parseConfig(text: string, file: string, cfg: Config = defaultConfig()): Config {
  const lines = text.split(/\r?\n/);
  const seen = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [name, ...args] = line.split(/\s+/);
    const values = FILE_DIRECTIVES.has(name) && args.length === 1 && !isAbsolute(args[0]) ? [resolve(dirname(file), args[0])] : args;
    applyDirective(cfg, `${file}:${i + 1}`, name, values);
    // A single-value directive given twice is a mistake, not an override (SPEC 11).
    const first = seen.get(name);
    if (first && !REPEATABLE.has(name)) throw new ConfigError(`${file}:${i + 1}`, `${name} is given again (first at ${first}); say it once`);
    seen.set(name, `${file}:${i + 1}`);
  }
  return cfg;
}

/** Checks across directives; fills media4/6 from generic4/6 when absent. */
export function validate(cfg: Config, where = 'config'): Config {
  const nat = cfg.inbound !== null || cfg.outbound !== null || cfg.outboundName !== null || cfg.outboundIface !== null;
  if (nat) validateNat(cfg, where);
  if (cfg.defaultTarget && !nat) throw new ConfigError(cfg.origin['default-target'] ?? where, 'default-target serves masquerading (calls arriving at the outbound address)');
  if (cfg.origin['outbound-check'] && !cfg.outboundName && !cfg.outboundIface && !cfg.advertise.some((a) => a.name)) throw new ConfigError(cfg.origin['outbound-check'], 'outbound-check serves outbound NAME, outbound if:IFACE or advertise LOCAL NAME (a public address that changes)');
  if (cfg.rtpengines.length && nat) throw new ConfigError(cfg.origin['media-engine'] ?? where, 'masquerading relays its media with RTPproxy64 on its one host (media-engine rtpengine serves the address model)');
  if (cfg.keepalive && !cfg.registrar) throw new ConfigError(cfg.origin.keepalive ?? where, 'keepalive serves the registrar of masquerading (registrar yes): its phones registered from the public side');
  if (cfg.outboundProxies.length && !nat) throw new ConfigError(cfg.outboundProxies[0].where, 'outbound-proxy serves masquerading (requests from the LAN)');
  if (!nat || cfg.maps.length > 0 || cfg.generic4 || cfg.generic6) {
    if (!cfg.generic4) throw new ConfigError(where, 'generic4 is required (the proxy\'s own IPv4 address)');
    if (!cfg.generic6) throw new ConfigError(where, 'generic6 is required (the proxy\'s own IPv6 address)');
  }
  cfg.media4 ??= cfg.generic4;
  cfg.media6 ??= cfg.generic6;
  if ((cfg.tlsCert === null) !== (cfg.tlsKey === null)) throw new ConfigError(where, 'tls-cert and tls-key go together');
  if (cfg.tlsCert && cfg.tlsPort === cfg.sipPort) throw new ConfigError(where, 'tls-port must differ from sip-port');
  for (const m of cfg.maps) {
    if (m.transport === 'tcp' && !cfg.tcp) throw new ConfigError(m.where, 'map ... tcp needs "tcp yes"');
    if (m.transport === 'tls' && !cfg.tlsCert) throw new ConfigError(m.where, 'map ... tls needs tls-cert and tls-key');
  }
  checkPorts(cfg, where);
  const faces = new Map<string, string>();
  const portFaceAt = new Map<string, string>();
  const reals = new Map<string, string>();
  const realAt = new Map(cfg.maps.filter((m) => m.real).map((m) => [(m.real as Addr).addr, m.where]));
  for (const m of cfg.maps) {
    // A face is an address, or an address and a SIP port of its own (a port face).
    const faceKey = m.facePort ? formatHostPort(withPort(m.face, m.facePort)) : m.face.addr;
    // A plain face takes every port of its address: no port face beside it.
    const prev = faces.get(faceKey) ?? faces.get(m.face.addr) ?? (m.facePort ? undefined : portFaceAt.get(m.face.addr));
    if (prev) throw new ConfigError(m.where, `face ${faceKey} is already used at ${prev}`);
    if (m.facePort) {
      portFaceAt.set(m.face.addr, m.where);
      const taken = m.facePort === cfg.sipPort ? 'sip-port' : cfg.tlsCert && m.facePort === cfg.tlsPort ? 'tls-port' : m.facePort >= cfg.rtpPorts[0] && m.facePort <= cfg.rtpPorts[1] ? 'rtp-ports' : null;
      if (taken) throw new ConfigError(m.where, `face port ${m.facePort} is ${taken === 'rtp-ports' ? 'inside rtp-ports' : `the ${taken} of every address`}; a port face needs a port of its own`);
      if (m.transport === 'tls') throw new ConfigError(m.where, 'a port face takes udp or tcp (TLS listens on tls-port only)');
    }
    if (!m.facePort && (m.face.addr === cfg.generic4?.addr || m.face.addr === cfg.generic6?.addr)) {
      throw new ConfigError(m.where, `face ${m.face.addr} is also the generic address; give each party its own face`);
    }
    const own = (['generic4', 'generic6', 'media4', 'media6'] as const).find((d) => m.real && cfg[d]?.addr === m.real.addr);
    if (own) throw new ConfigError(m.where, `${m.real?.addr} is the proxy's own address (${own}); a map line names parties`);
    // A face that is another line's party would send that party's traffic to itself.
    const party = realAt.get(m.face.addr);
    if (party) throw new ConfigError(m.where, `face ${m.face.addr} is the real address mapped at ${party}`);
    faces.set(faceKey, m.where);
    const key = m.real ? m.real.addr : (m.name as string) + '/' + m.face.family;
    const prevReal = reals.get(key);
    if (prevReal) throw new ConfigError(m.where, `${m.real?.addr ?? m.name} is already mapped at ${prevReal}`);
    reals.set(key, m.where);
  }
  const adv = advertiseProblem(cfg);
  if (adv) throw new ConfigError(adv.where, adv.problem);
  if (cfg.nat64) checkNat64(cfg, cfg.nat64, where);
  checkPrefixLines(cfg);
  return cfg;
}

/** SIP ports outside rtp-ports: a SIP socket inside the relay's range would take media (SPEC 11). */
function checkPorts(cfg: Config, where: string): void {
  const [lo, hi] = cfg.rtpPorts;
  const sip: Array<[string, number]> = [['sip-port', cfg.sipPort], ...(cfg.tlsCert ? [['tls-port', cfg.tlsPort] as [string, number]] : [])];
  for (const [name, port] of sip) {
    if (port >= lo && port <= hi) {
      throw new ConfigError(cfg.origin[name] ?? where, `${name} ${port} lies inside rtp-ports ${lo}-${hi}${cfg.origin['rtp-ports'] ? ` (${cfg.origin['rtp-ports']})` : ''}`);
    }
  }
}
