// Start-up and upkeep of masquerading mode: the outbound name, the LAN prefix, the password
// file, and the registration table saved across restarts (sipproxy64(8) MASQUERADING).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { Advertised } from '../config/advertise.js';
import { Config } from '../config/config.js';
import { Action } from '../core/types.js';
import { Family, parseIp } from '../net/addr.js';
import { Credentials } from '../masq/digest.js';
import { NameCache, Service } from '../masq/names.js';
import { parsePasswd } from '../masq/passwd.js';
import { Registrar } from '../masq/registrar.js';
import { R } from '../sip/reasons.js';
import { Logger } from './log.js';
import { hostAddresses, PublicDeps, PublicSource, readIface, readPublic } from './public.js';
import { DnsApi, resolveUplink, systemDns } from './resolver.js';
import { readJson, saveAtomic } from './store.js';

export class MasqError extends Error {}

/** Where the public address comes from when it is not a literal (outbound NAME, outbound if:IFACE). */
export function publicSource(cfg: Config): PublicSource {
  return { name: cfg.outboundName, iface: cfg.outboundIface, first: cfg.inbound?.family === 6 ? 6 : 4, checkSeconds: cfg.outboundCheck };
}

/** outbound NAME (dynamic DNS) or if:IFACE: the public addresses now, one per family (the watch reads them again later). */
export async function resolveOutbound(cfg: Config, api: DnsApi = systemDns, iface: PublicDeps['readIface'] = readIface): Promise<void> {
  if (cfg.outbound || (!cfg.outboundName && !cfg.outboundIface)) return;
  const { addrs } = await readPublic(publicSource(cfg), { dns: api, readIface: iface, held: hostAddresses });
  if (addrs.length === 0) throw new MasqError(cfg.outboundIface ? `outbound if:${cfg.outboundIface}: no such interface, or it has no usable address` : `outbound ${cfg.outboundName}: cannot resolve`);
  cfg.outbound = addrs[0];
  cfg.outbound2 = addrs[1] ?? null;
}

/** advertise LOCAL NAME: the source the watch reads (the name, in LOCAL's family). */
export function advertisedSource(cfg: Config, a: Advertised): PublicSource {
  return { name: a.name ?? null, iface: null, first: a.local.family, checkSeconds: cfg.outboundCheck };
}

/** advertise LOCAL NAME (a router with a dynamic address in front): each name's address now, in LOCAL's family. */
export async function resolveAdvertised(cfg: Config, api: DnsApi = systemDns): Promise<void> {
  for (const a of cfg.advertise) {
    if (!a.name) continue;
    const { addrs } = await readPublic(advertisedSource(cfg, a), { dns: api, readIface: async () => null, held: () => new Set() });
    if (addrs[0]?.family !== a.local.family) throw new MasqError(`advertise ${a.local.addr} ${a.name}: cannot resolve to an IPv${a.local.family} address`);
    a.public = addrs[0];
  }
}

/**
 * inbound without /PREFIX: the prefix of the interface that holds the address. Node lists
 * only interfaces that are up and running, so `ip` is asked too; returns false when neither
 * knows it (the default, /24 or /64, then applies).
 */
export function fillInboundPrefix(cfg: Config): boolean {
  if (!cfg.inbound || cfg.inboundPrefix !== null) return true;
  const want = cfg.inbound.addr;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (parseIp(i.address)?.addr === want && i.cidr) cfg.inboundPrefix = Number(i.cidr.split('/')[1]);
  }
  if (cfg.inboundPrefix !== null) return true;
  const r = spawnSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 2000 });
  try {
    for (const link of JSON.parse(r.stdout || '[]') as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>) {
      for (const a of link.addr_info ?? []) if (a.local && parseIp(a.local)?.addr === want && a.prefixlen) cfg.inboundPrefix = a.prefixlen;
    }
  } catch {
    /* no ip(8): the default applies */
  }
  return cfg.inboundPrefix !== null;
}

/**
 * The registrar's users, from the password file the config names. A relative path in a
 * config file was made relative to that file's folder when it was read (config.ts); one
 * given as a flag is relative to the working directory. The daemon, `rewrite` and the
 * fixtures all read it here.
 */
export function loadUsers(cfg: Config): Map<string, Credentials> {
  if (!cfg.registrar || !cfg.passwd) return new Map();
  let text: string;
  try {
    text = readFileSync(cfg.passwd, 'utf8');
  } catch (e) {
    throw new MasqError(`cannot read passwd ${cfg.passwd}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parsePasswd(text, cfg.passwd, cfg.domains[0]);
  } catch (e) {
    throw new MasqError((e as Error).message);
  }
}

/** Keep the registration table on disk: restore at start, save within a second of a change. */
export class RegistrationStore {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly reg: Registrar | null, private readonly file: string, private readonly log: Logger) {}

  start(): void {
    const reg = this.reg;
    if (!reg) return;
    try {
      const n = reg.restore(readJson(this.file));
      if (n > 0) this.log.info('registrations restored', { file: this.file, bindings: n });
    } catch (e) {
      this.log.warn('registrations file unreadable; starting empty', { file: this.file, error: (e as Error).message });
    }
    this.timer = setInterval(() => this.save(), 1000);
    this.timer.unref();
  }

  save(): void {
    const reg = this.reg;
    if (!reg || !reg.dirty) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      saveAtomic(this.file, JSON.stringify(reg.toJSON()) + '\n');
      reg.dirty = false;
    } catch (e) {
      this.log.warn('cannot save registrations', { file: this.file, error: (e as Error).message });
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.save();
  }
}

/** Resolve a name a LAN phone sends to (RFC 3263) into the engine's cache; a failure is kept too. */
export async function resolveName(names: NameCache, api: DnsApi, name: string, family: Family, service: Service = 'udp'): Promise<void> {
  const r = await resolveUplink(api, name, family, service);
  const first = r.addrs[0];
  names.set(name, family, first ? { addr: first, port: r.port } : null, r.ttl, service);
}

/** Names being resolved at once, at most (SPEC 11): past it a request is a counted drop, which its phone retransmits; DNS is not flooded. */
export const MAX_LOOKUPS = 64;

/** Resolve names for the daemon, once at a time per name, then retry what waited. */
export class NameResolver {
  private readonly pending = new Map<string, Array<() => Action[]>>();

  constructor(private readonly names: NameCache, private readonly deliver: (a: Action[]) => void, private readonly countDrop: (r: typeof R.resolveQueueFull) => void, private readonly api: DnsApi = systemDns) {}

  resolve(a: Extract<Action, { type: 'resolve' }>): void {
    const k = `${a.family}/${a.service}/${a.name}`;
    const waiting = this.pending.get(k);
    if (waiting) {
      if (waiting.length < 100) waiting.push(a.retry);
      else this.countDrop(R.resolveQueueFull);
      return;
    }
    if (this.pending.size >= MAX_LOOKUPS) return this.countDrop(R.resolveQueueFull);
    this.pending.set(k, [a.retry]);
    void resolveName(this.names, this.api, a.name, a.family, a.service).then(() => {
      const list = this.pending.get(k) ?? [];
      this.pending.delete(k);
      for (const retry of list) this.deliver(retry());
    });
  }
}
