// The value forms of the configuration (SPEC section 8): addresses, numbers, yes/no, a
// party's REAL, host names; each failure a ConfigError naming file:line.
import { Addr, Family, parseHostIp, parseIp, parsePort } from '../net/addr.js';
import { allDotted } from '../net/strings.js';

export class ConfigError extends Error {
  constructor(readonly where: string, problem: string) {
    super(`${where}: ${problem}`);
  }
}

export const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

export function ip(where: string, text: string, family?: Family): Addr {
  const a = parseIp(text);
  if (!a) throw new ConfigError(where, `"${text}" is not an IP address`);
  if (family && a.family !== family) throw new ConfigError(where, `"${text}" is not an IPv${family} address`);
  if (a.addr === '0.0.0.0' || a.addr === '::') throw new ConfigError(where, `"${text}" is a wildcard address; name a real local address`);
  return a;
}

export function yesNo(where: string, text: string): boolean {
  if (text === 'yes' || text === 'on' || text === 'true') return true;
  if (text === 'no' || text === 'off' || text === 'false') return false;
  throw new ConfigError(where, `expected yes or no, got "${text}"`);
}

export function int(where: string, text: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(where, `"${text}" is not a number`);
  const n = Number(text);
  if (n < lo || n > hi) throw new ConfigError(where, `${n} is out of range ${lo}-${hi}`);
  return n;
}

/** REAL in `map REAL FACE`: 192.0.2.10, 192.0.2.10:5070, [2001:db8::5]:5070, 2001:db8::5, host.name[:port]. */
export function parseReal(where: string, text: string): { real: Addr | null; name: string | null; port: number | null } {
  const bare = parseIp(text);
  if (bare) return { real: bare, name: null, port: null };
  let host = text;
  let port: number | null = null;
  const m = /^(\[[^\]]+\]|[^:[\]]+):([^:]+)$/.exec(text);
  if (m) {
    host = m[1];
    port = parsePort(m[2]);
    if (port === null) throw new ConfigError(where, `bad port in "${text}"`);
  }
  const a = parseHostIp(host);
  if (a) return { real: a, name: null, port };
  if (host.startsWith('[')) throw new ConfigError(where, `"${host}" is not an IPv6 address`);
  if (allDotted(host) || !HOSTNAME.test(host)) throw new ConfigError(where, `"${host}" is neither an IP address nor a host name`);
  return { real: null, name: host.toLowerCase().replace(/\.$/, ''), port };
}

