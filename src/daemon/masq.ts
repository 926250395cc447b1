// Start-up and upkeep of masquerading mode: the outbound name, the LAN prefix, the password
// file, and the registration table saved across restarts (sipproxy64(8) MASQUERADING).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { Config } from '../config/config.js';
import { Action } from '../core/types.js';
import { Addr, Family, parseIp } from '../net/addr.js';
import { Credentials } from '../masq/digest.js';
import { NameCache } from '../masq/names.js';
import { parsePasswd } from '../masq/passwd.js';
import { Registrar } from '../masq/registrar.js';
import { R } from '../sip/reasons.js';
import { Logger } from './log.js';
import { DnsApi, resolveUplink, systemDns } from './resolver.js';
import { readJson, saveAtomic } from './store.js';

export class MasqError extends Error {}

/** outbound NAME (dynamic DNS): the first address it resolves to; resolved once, at start. */
export async function resolveOutbound(cfg: Config, api: DnsApi = systemDns): Promise<void> {
  if (!cfg.outboundName || cfg.outbound) return;
  for (const f of [cfg.inbound?.family === 6 ? 6 : 4, cfg.inbound?.family === 6 ? 4 : 6] as Family[]) {
    try {
      const a = (await api.lookup(cfg.outboundName, f)).map((x) => parseIp(x)).find((x): x is Addr => x !== null);
      if (a) {
        cfg.outbound = a;
        return;
      }
    } catch {
      /* try the other family */
    }
  }
  throw new MasqError(`outbound ${cfg.outboundName}: cannot resolve`);
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
export async function resolveName(names: NameCache, api: DnsApi, name: string, family: Family): Promise<void> {
  const r = await resolveUplink(api, name, family);
  const first = r.addrs[0];
  names.set(name, family, first ? { addr: first, port: r.port } : null, r.ttl);
}

/** Resolve names for the daemon, once at a time per name, then retry what waited. */
export class NameResolver {
  private readonly pending = new Map<string, Array<() => Action[]>>();

  constructor(private readonly names: NameCache, private readonly deliver: (a: Action[]) => void, private readonly countDrop: (r: typeof R.resolveQueueFull) => void, private readonly api: DnsApi = systemDns) {}

  resolve(a: Extract<Action, { type: 'resolve' }>): void {
    const k = `${a.family}/${a.name}`;
    const waiting = this.pending.get(k);
    if (waiting) {
      if (waiting.length < 100) waiting.push(a.retry);
      else this.countDrop(R.resolveQueueFull);
      return;
    }
    this.pending.set(k, [a.retry]);
    void resolveName(this.names, this.api, a.name, a.family).then(() => {
      const list = this.pending.get(k) ?? [];
      this.pending.delete(k);
      for (const retry of list) this.deliver(retry());
    });
  }
}
