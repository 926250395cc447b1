// A DNS for unit tests: fixed A/AAAA records (the test may change them between lookups) and
// an /etc/hosts of its own; no SRV records.
import { DnsApi } from '../../src/daemon/resolver.js';

export function staticDns(ips: Record<string, string[]>, hosts: Record<string, string[]> = {}, ttl = 60): DnsApi {
  return {
    resolveSrv: async () => {
      throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
    },
    resolveIp: async (n, f) => {
      const list = (ips[n] ?? []).filter((a) => (f === 6) === a.includes(':'));
      if (!list.length) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return list.map((address) => ({ address, ttl }));
    },
    lookup: async (n) => {
      if (hosts[n]) return hosts[n];
      throw new Error('ENOTFOUND');
    },
  };
}
