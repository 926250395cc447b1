// The masquerading directives (sipproxy64(8) MASQUERADING): inbound, outbound (once per
// family, a name or if:IFACE), outbound-check, outbound-proxy, default-target, keepalive, and their checks across the file.
import { Addr, parseIp } from '../net/addr.js';
import { allDotted } from '../net/strings.js';
import type { Config } from './config.js';
import { ConfigError, HOSTNAME, int, ip, parseReal } from './values.js';

/** Apply a masquerading directive; false when `name` is none of them. */
export function applyMasqDirective(cfg: Config, where: string, name: string, args: string[], one: () => string): boolean {
  switch (name) {
    case 'outbound-check': {
      cfg.outboundCheck = int(where, one(), 1, 3600);
      return true;
    }
    case 'keepalive': {
      const v = one();
      cfg.keepalive = v === 'off' || v === 'no' ? 0 : int(where, v, 1, 3600);
      return true;
    }
    case 'outbound-proxy': {
      // outbound-proxy DOMAIN HOST[:PORT] (siproxd's outbound_domain_name/_host)
      if (args.length !== 2) throw new ConfigError(where, 'outbound-proxy takes DOMAIN HOST[:PORT]');
      const domain = args[0].toLowerCase().replace(/\.$/, '');
      if (!HOSTNAME.test(domain) || allDotted(domain)) throw new ConfigError(where, `"${args[0]}" is not a domain name`);
      const hp = parseReal(where, args[1]);
      const host = hp.real ? hp.real.addr : (hp.name as string);
      if (cfg.outboundProxies.some((p) => p.domain === domain)) throw new ConfigError(where, `outbound-proxy for ${domain} is given twice`);
      cfg.outboundProxies.push({ domain, host, port: hp.port, where });
      return true;
    }
    case 'default-target': {
      const v = one();
      // sip:user@host[:port][;params]: the host a literal or a name (resolved when a call comes)
      if (!/^sip:[^@\s:;?]+@(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?(;[^\s]*)?$/i.test(v)) throw new ConfigError(where, `default-target takes a SIP URI with a user part (sip:reception@192.168.1.20), got "${v}"`);
      cfg.defaultTarget = v;
      return true;
    }
    case 'inbound': {
      // inbound ADDR[/PREFIX]: the LAN side; the prefix says which addresses are on the LAN.
      const [a, pfx, extra] = one().split('/');
      if (extra !== undefined) throw new ConfigError(where, `inbound takes ADDR[/PREFIX], got "${args[0]}"`);
      cfg.inbound = ip(where, a);
      cfg.inboundPrefix = pfx === undefined ? null : int(where, pfx, 8, cfg.inbound.family === 4 ? 32 : 128);
      return true;
    }
    case 'outbound': {
      // Once per family (a dual-stack line); a name stands alone.
      const v = one();
      const a = parseIp(v);
      const twice = (): never => {
        throw new ConfigError(where, `outbound is given again (first at ${cfg.origin.outbound}); once per family, a name or an interface once`);
      };
      if (cfg.outboundName || cfg.outboundIface || cfg.outbound2 || (cfg.outbound && (!a || a.family === cfg.outbound.family))) twice();
      if (cfg.outbound) {
        cfg.outbound2 = ip(where, v);
        return true;
      }
      cfg.origin.outbound = where;
      if (a) {
        cfg.outbound = ip(where, v);
        cfg.outboundName = null;
      } else if (v.startsWith('if:')) {
        // outbound if:IFACE: the interface's addresses, one per family, read again as they change.
        if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/.test(v.slice(3))) throw new ConfigError(where, `"${v.slice(3)}" is not an interface name`);
        cfg.outboundIface = v.slice(3);
      } else if (HOSTNAME.test(v) && !allDotted(v)) {
        cfg.outboundName = v.toLowerCase().replace(/\.$/, '');
        cfg.outbound = null;
      } else throw new ConfigError(where, `"${v}" is neither an IP address nor a host name`);
      return true;
    }
    default:
      return false;
  }
}

/** Masquerading: inbound and outbound go together, on addresses no other directive uses. */
export function validateNat(cfg: Config, where: string): void {
  if (!cfg.inbound) throw new ConfigError(where, 'outbound needs inbound (the LAN side address)');
  if (!cfg.outbound && !cfg.outboundName && !cfg.outboundIface) throw new ConfigError(where, 'inbound needs outbound (the public address)');
  const used = [cfg.generic4, cfg.generic6, ...cfg.maps.map((m) => m.face)].filter((a): a is Addr => a !== null).map((a) => a.addr);
  for (const a of [cfg.inbound, cfg.outbound, cfg.outbound2]) {
    if (a && used.includes(a.addr)) throw new ConfigError(where, `${a.addr} is a face or generic address; inbound and outbound need their own addresses`);
  }
  if ((cfg.outbound && cfg.outbound.addr === cfg.inbound.addr) || cfg.outbound2?.addr === cfg.inbound.addr) throw new ConfigError(where, 'inbound and outbound must differ');
  if (cfg.registrar) {
    if (cfg.domains.length === 0) throw new ConfigError(where, 'registrar yes needs a domain');
    if (!cfg.passwd) throw new ConfigError(where, 'registrar yes needs passwd (an open registrar would let anyone take a phone\'s calls)');
  }
}
