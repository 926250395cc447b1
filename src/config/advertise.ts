// advertise LOCAL PUBLIC (issue 16): the proxy binds LOCAL, and is reached from outside as
// PUBLIC (1:1 NAT, a cloud VM's private address; rtpengine's --interface=priv!pub). Every
// address the proxy writes into SIP and SDP for LOCAL says PUBLIC; PUBLIC is recognised as
// ours. Pure: config only.
import { Addr } from '../net/addr.js';
import type { Config } from './config.js';
import { ownAddresses } from './own.js';

export interface Advertised {
  readonly local: Addr;
  /** What is written for LOCAL; for a name, its address now (LOCAL itself until it is resolved). */
  public: Addr;
  readonly where: string;
  /** advertise LOCAL NAME (masquerading behind a router with a dynamic address): resolved again at its TTL. */
  readonly name?: string;
}

/** LOCAL is one of the proxy's own addresses; PUBLIC in the same family, none of them, each once. The first problem, or null. */
export function advertiseProblem(cfg: Config): { where: string; problem: string } | null {
  const no = (where: string, problem: string) => ({ where, problem });
  const own = ownAddresses(cfg).map(([, a]) => a.addr);
  const seenLocal = new Map<string, string>();
  const seenPublic = new Map<string, string>();
  for (const a of cfg.advertise) {
    if (a.name) {
      const p = namedProblem(cfg, a);
      if (p) return no(a.where, p);
    }
    if (!own.includes(a.local.addr)) return no(a.where, `${a.local.addr} is none of the proxy's addresses (a face, generic, media, inbound or outbound address)`);
    if (!a.name && own.includes(a.public.addr)) return no(a.where, `${a.public.addr} is one of the proxy's own local addresses`);
    if (a.public.family !== a.local.family) return no(a.where, `${a.public.addr} is not in the family of ${a.local.addr}`);
    const l = seenLocal.get(a.local.addr);
    if (l) return no(a.where, `${a.local.addr} is already advertised at ${l}`);
    const key = a.name ?? a.public.addr;
    const p = seenPublic.get(key);
    if (p) return no(a.where, `${key} is already advertised at ${p}`);
    seenLocal.set(a.local.addr, a.where);
    seenPublic.set(key, a.where);
  }
  return null;
}

/**
 * A name serves masquerading's public side behind a router (siproxd's host_outbound): LOCAL
 * is an outbound address given as an address, which the router forwards to.
 */
function namedProblem(cfg: Config, a: Advertised): string | null {
  if (!cfg.inbound) return `advertise LOCAL NAME serves masquerading (a router with a dynamic address in front of the outbound address)`;
  if (a.local.addr !== cfg.outbound?.addr && a.local.addr !== cfg.outbound2?.addr) return `${a.local.addr} is not an outbound address given as an address (advertise LOCAL NAME is for the public side)`;
  return null;
}

/** The address written for one of ours: its PUBLIC (read at each call: a name's changes), or itself. */
export function writtenOf(cfg: Config): (a: Addr) => Addr {
  if (cfg.advertise.length === 0) return (a) => a;
  const m = new Map(cfg.advertise.map((x) => [x.local.addr, x]));
  return (a) => m.get(a.addr)?.public ?? a;
}
