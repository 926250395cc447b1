// Uplinks named by host name: RFC 3263 4.2 (SRV for the transport: _sip._udp, or _sip._tcp /
// _sips._tcp for a map line's tcp / tls; then AAAA/A), re-resolved when the TTL runs out;
// /etc/hosts (getaddrinfo) as the last resort. Never throws.
import dns from 'node:dns';
import { MapEntry } from '../config/config.js';
import { Mapping } from '../core/mapping.js';
import { Addr, Family, isPort, parseIp } from '../net/addr.js';
import { Logger } from './log.js';

export interface DnsApi {
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
  resolveIp(name: string, family: Family): Promise<Array<{ address: string; ttl: number }>>;
  lookup(name: string, family: Family): Promise<string[]>;
}

// Bounded: an unreachable name server costs seconds, not c-ares's default of a minute and more.
const res = new dns.promises.Resolver({ timeout: 2000, tries: 2 });

export const systemDns: DnsApi = {
  resolveSrv: (n) => res.resolveSrv(n),
  resolveIp: (n, f) => (f === 4 ? res.resolve4(n, { ttl: true }) : res.resolve6(n, { ttl: true })),
  lookup: async (n, f) => (await dns.promises.lookup(n, { family: f, all: true })).map((x) => x.address),
};

const MIN_TTL = 5;
const MAX_TTL = 3600;
const RETRY = 30;

export interface Resolution {
  addrs: Addr[];
  port?: number;
  ttl: number; // seconds
}

/** RFC 3263 4.2: the SRV service of a transport (TLS over TCP is "sips"). */
const SERVICE = { udp: '_sip._udp', tcp: '_sip._tcp', tls: '_sips._tcp' } as const;

/** Resolve one uplink name in one family per RFC 3263 4.2 (no NAPTR), for its transport (UDP without one). */
export async function resolveUplink(api: DnsApi, name: string, family: Family, transport: keyof typeof SERVICE = 'udp'): Promise<Resolution> {
  let srv: Awaited<ReturnType<DnsApi['resolveSrv']>> = [];
  try {
    srv = await api.resolveSrv(`${SERVICE[transport]}.${name}`);
  } catch {
    srv = [];
  }
  // A DNS answer may be forged (SPEC 11): a record on port 0, or the target "." (no service, RFC 2782), names no place to send to.
  const found = srv.length;
  srv = srv.filter((r) => isPort(r.port) && r.name !== '' && r.name !== '.');
  if (found > 0 && srv.length === 0) return { addrs: [], ttl: RETRY }; // SRV found, none usable: no A fallback (RFC 3263 4.2)
  srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  const targets = srv.length > 0 ? srv.map((r) => ({ host: r.name, port: r.port })) : [{ host: name, port: undefined as number | undefined }];
  for (const t of targets) {
    let recs: Array<{ address: string; ttl: number }> = [];
    try {
      recs = await api.resolveIp(t.host, family);
    } catch {
      try {
        recs = (await api.lookup(t.host, family)).map((address) => ({ address, ttl: 60 }));
      } catch {
        recs = [];
      }
    }
    const addrs = recs.map((r) => parseIp(r.address)).filter((a): a is Addr => a !== null && a.family === family);
    if (addrs.length > 0) {
      const ttl = Math.max(MIN_TTL, Math.min(MAX_TTL, Math.min(...recs.map((r) => r.ttl))));
      return { addrs, port: t.port, ttl };
    }
  }
  return { addrs: [], ttl: RETRY };
}

export class UplinkResolver {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly map: Mapping, private readonly log: Logger, private readonly api: DnsApi = systemDns) {}

  /** Resolve every uplink once, then keep them fresh. */
  async start(): Promise<void> {
    await Promise.all(this.map.uplinks().map((u) => this.refresh(u.entry, u.name, u.family)));
  }

  private async refresh(entry: MapEntry, name: string, family: Family): Promise<void> {
    if (this.stopped) return;
    const r = await resolveUplink(this.api, name, family, entry.transport ?? 'udp');
    if (r.addrs.length > 0) {
      this.map.setResolved(entry, r.addrs, r.port);
      this.log.info('uplink resolved', { name, addrs: r.addrs.map((a) => a.addr).join(','), port: r.port, ttl: r.ttl });
    } else {
      this.log.warn('uplink not resolved; requests for it get 503 until it is', { name, family: `IPv${family}`, retry: r.ttl });
    }
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.refresh(entry, name, family);
    }, r.ttl * 1000);
    t.unref();
    this.timers.add(t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
