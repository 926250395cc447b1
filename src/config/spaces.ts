// The address spaces computed on use (issue 16): a nat64 prefix and prefix map lines of more
// than 256 hosts. Their checks across the configuration: the address model only, none of the
// proxy's addresses or a map line's party inside, no two of them overlapping.
import { Addr } from '../net/addr.js';
import { Config, ConfigError } from './config.js';
import { extract, Nat64Prefix } from './nat64.js';
import { ownAddresses } from './own.js';
import { holds, overlap, Prefix } from './prefix.js';

/** nat64: beside the address model only, and none of our addresses or parties inside the prefix. */
export function checkNat64(cfg: Config, p: Nat64Prefix, where: string): void {
  const at = cfg.origin.nat64 ?? where;
  if (cfg.inbound || cfg.outbound || cfg.outboundName || cfg.outboundIface) throw new ConfigError(at, 'nat64 serves the address model (generic4/generic6), not masquerading');
  const inside = ownAddresses(cfg).find(([, a]) => extract(p, a.addr)) ?? cfg.maps.filter((m) => m.real).map((m) => [m.where, m.real as Addr] as const).find(([, a]) => extract(p, a.addr));
  if (inside) throw new ConfigError(at, `${inside[1].addr} (${inside[0]}) lies inside the nat64 prefix ${p.text}; the prefix stands for IPv4 parties only`);
}

/** The nat64 prefix as a Prefix. */
export function nat64Prefix(p: Nat64Prefix): Prefix {
  return { bytes: [...p.bytes, 0, 0, 0, 0], len: 96, family: 6, text: p.text };
}

/** Prefix lines too large to expand: the address model only, none of ours or a party inside, no overlaps. */
export function checkPrefixLines(cfg: Config): void {
  const lines = cfg.prefixLines;
  for (const [i, l] of lines.entries()) {
    const name = `${l.real.text} ${l.face.text}`;
    if (cfg.inbound || cfg.outbound || cfg.outboundName || cfg.outboundIface) throw new ConfigError(l.where, 'a prefix map line of more than 256 hosts serves the address model, not masquerading');
    for (const [role, a] of ownAddresses(cfg)) if (holds(l.real, a.addr) || holds(l.face, a.addr)) throw new ConfigError(l.where, `${a.addr} (${role}) lies inside ${name}`);
    for (const m of cfg.maps) if (m.real && (holds(l.real, m.real.addr) || holds(l.face, m.real.addr))) throw new ConfigError(l.where, `${m.real.addr} (mapped at ${m.where}) lies inside ${name}`);
    const others: Array<[Prefix, string]> = [...lines.slice(i + 1).flatMap((o): Array<[Prefix, string]> => [[o.real, o.where], [o.face, o.where]]), ...(cfg.nat64 ? [[nat64Prefix(cfg.nat64), cfg.origin.nat64 ?? 'nat64'] as [Prefix, string]] : [])];
    for (const [p, at] of others) if (overlap(p, l.real) || overlap(p, l.face)) throw new ConfigError(l.where, `${name} overlaps ${p.text} (${at})`);
  }
}

