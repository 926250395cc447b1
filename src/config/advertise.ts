// advertise LOCAL PUBLIC (issue 16): the proxy binds LOCAL, and is reached from outside as
// PUBLIC (1:1 NAT, a cloud VM's private address; rtpengine's --interface=priv!pub). Every
// address the proxy writes into SIP and SDP for LOCAL says PUBLIC; PUBLIC is recognised as
// ours. Pure: config only.
import { Addr } from '../net/addr.js';
import type { Config } from './config.js';
import { ownAddresses } from './own.js';

export interface Advertised {
  readonly local: Addr;
  readonly public: Addr;
  readonly where: string;
}

/** LOCAL is one of the proxy's own addresses; PUBLIC in the same family, none of them, each once. The first problem, or null. */
export function advertiseProblem(cfg: Config): { where: string; problem: string } | null {
  const no = (where: string, problem: string) => ({ where, problem });
  const own = ownAddresses(cfg).map(([, a]) => a.addr);
  const seenLocal = new Map<string, string>();
  const seenPublic = new Map<string, string>();
  for (const a of cfg.advertise) {
    if (!own.includes(a.local.addr)) return no(a.where, `${a.local.addr} is none of the proxy's addresses (a face, generic, media, inbound or outbound address)`);
    if (own.includes(a.public.addr)) return no(a.where, `${a.public.addr} is one of the proxy's own local addresses`);
    if (a.public.family !== a.local.family) return no(a.where, `${a.public.addr} is not in the family of ${a.local.addr}`);
    const l = seenLocal.get(a.local.addr);
    if (l) return no(a.where, `${a.local.addr} is already advertised at ${l}`);
    const p = seenPublic.get(a.public.addr);
    if (p) return no(a.where, `${a.public.addr} is already advertised at ${p}`);
    seenLocal.set(a.local.addr, a.where);
    seenPublic.set(a.public.addr, a.where);
  }
  return null;
}

/** The address written for one of ours: its PUBLIC, or itself. */
export function writtenOf(cfg: Config): (a: Addr) => Addr {
  if (cfg.advertise.length === 0) return (a) => a;
  const m = new Map(cfg.advertise.map((x) => [x.local.addr, x.public]));
  return (a) => m.get(a.addr) ?? a;
}
