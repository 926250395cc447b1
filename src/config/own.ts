// The proxy's own addresses, by role: what it binds, and what `advertise` and
// `--check-config --host` speak of.
import { Addr } from '../net/addr.js';
import type { Config } from './config.js';

export type Role = 'generic4' | 'generic6' | 'media4' | 'media6' | 'inbound' | 'outbound' | 'face';

/** Each address once, by its first role (media4 is often generic4). */
export function ownAddresses(cfg: Config): Array<[Role, Addr]> {
  const list: Array<[Role, Addr | null]> = [
    ['generic4', cfg.generic4], ['generic6', cfg.generic6], ['media4', cfg.media4], ['media6', cfg.media6],
    ['inbound', cfg.inbound], ['outbound', cfg.outbound], ['outbound', cfg.outbound2], ...cfg.maps.map((m): [Role, Addr] => ['face', m.face]),
  ];
  const seen = new Set<string>();
  const out: Array<[Role, Addr]> = [];
  for (const [role, a] of list) {
    if (a === null || seen.has(a.addr)) continue;
    seen.add(a.addr);
    out.push([role, a]);
  }
  return out;
}
