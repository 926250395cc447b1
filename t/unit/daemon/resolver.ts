import t from 'tap';
import { resolveUplink, DnsApi, UplinkResolver } from '../../../src/daemon/resolver.js';
import { parseConfig, validate } from '../../../src/config/config.js';
import { Mapping } from '../../../src/core/mapping.js';
import { createLogger } from '../../../src/daemon/log.js';

const fake = (srv: Record<string, Array<{ name: string; port: number; priority: number; weight: number }>>, ips: Record<string, string[]>, hosts: Record<string, string[]> = {}): DnsApi => ({
  resolveSrv: async (n) => {
    if (srv[n]) return srv[n];
    throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
  },
  resolveIp: async (n, f) => {
    const list = (ips[n] ?? []).filter((a) => (f === 6) === a.includes(':'));
    if (list.length === 0) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, ttl: 120 }));
  },
  lookup: async (n) => {
    if (hosts[n]) return hosts[n];
    throw new Error('ENOTFOUND');
  },
});

t.test('RFC 3263: SRV first, by priority, with its port', async (t) => {
  const api = fake({ '_sip._udp.example.net': [{ name: 'b.example.net', port: 5080, priority: 20, weight: 0 }, { name: 'a.example.net', port: 5070, priority: 10, weight: 0 }] }, { 'a.example.net': ['2001:db8:1::5', '192.0.2.5'] });
  const r = await resolveUplink(api, 'example.net', 6);
  t.same(r.addrs, [{ addr: '2001:db8:1::5', family: 6 }]);
  t.equal(r.port, 5070);
  t.equal(r.ttl, 120);
});

t.test('SRV records on port 0 or with the target "." are passed over (RFC 2782; SPEC 11: a forged answer)', async (t) => {
  const api = fake({ '_sip._udp.example.net': [{ name: 'zero.example.net', port: 0, priority: 1, weight: 0 }, { name: '.', port: 5060, priority: 2, weight: 0 }, { name: 'a.example.net', port: 5070, priority: 10, weight: 0 }] }, { 'zero.example.net': ['192.0.2.9'], 'a.example.net': ['192.0.2.5'] });
  const r = await resolveUplink(api, 'example.net', 4);
  t.same(r.addrs.map((a) => a.addr), ['192.0.2.5']);
  t.equal(r.port, 5070);
  const none = await resolveUplink(fake({ '_sip._udp.example.net': [{ name: 'zero.example.net', port: 0, priority: 1, weight: 0 }] }, { 'zero.example.net': ['192.0.2.9'], 'example.net': ['192.0.2.7'] }), 'example.net', 4);
  t.same(none.addrs, [], 'none left: the service is not there, the name\'s own A record is not tried (RFC 3263 4.2: SRV records were found)');
  const dot = await resolveUplink(fake({ '_sip._udp.example.net': [{ name: '.', port: 5060, priority: 1, weight: 0 }] }, { 'example.net': ['192.0.2.7'] }), 'example.net', 4);
  t.same(dot.addrs, [], '"." alone: decidedly not available');
});

t.test('no SRV: AAAA/A of the name; /etc/hosts as last resort; failure retries', async (t) => {
  t.same((await resolveUplink(fake({}, { 'pbx.example.net': ['192.0.2.30'] }), 'pbx.example.net', 4)).addrs, [{ addr: '192.0.2.30', family: 4 }]);
  t.same((await resolveUplink(fake({}, {}, { 'lab.test': ['2001:db8::7'] }), 'lab.test', 6)).addrs, [{ addr: '2001:db8::7', family: 6 }]);
  const none = await resolveUplink(fake({}, {}), 'nowhere.example', 6);
  t.same(none.addrs, []);
  t.equal(none.ttl, 30);
});

t.test('the resolver fills the mapping', async (t) => {
  const cfg = validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap voip.example.net 192.0.2.130\n', 'c'));
  const map = new Mapping(cfg);
  const lines: string[] = [];
  const r = new UplinkResolver(map, createLogger('plain', 'info', (l) => lines.push(l)), fake({ '_sip._udp.voip.example.net': [{ name: 'sbc.example.net', port: 5090, priority: 1, weight: 1 }] }, { 'sbc.example.net': ['2001:db8:2::7'] }));
  await r.start();
  r.stop();
  t.same(map.targetOfName('voip.example.net', null, 6), { addr: '2001:db8:2::7', family: 6, port: 5090 });
  t.match(lines.join(''), /uplink resolved name=voip.example.net addrs=2001:db8:2::7 port=5090/);
});

t.test('a map line over TLS or TCP looks up its own SRV service (RFC 3263 4.2: _sips._tcp, _sip._tcp)', async (t) => {
  const srv = {
    '_sip._udp.voip.example.net': [{ name: 'udp.example.net', port: 5060, priority: 1, weight: 1 }],
    '_sip._tcp.voip.example.net': [{ name: 'tcp.example.net', port: 5070, priority: 1, weight: 1 }],
    '_sips._tcp.voip.example.net': [{ name: 'tls.example.net', port: 5071, priority: 1, weight: 1 }],
  };
  const ips = { 'udp.example.net': ['2001:db8:2::1'], 'tcp.example.net': ['2001:db8:2::2'], 'tls.example.net': ['2001:db8:2::3'] };
  for (const [transport, addr, port] of [['', '2001:db8:2::1', 5060], [' udp', '2001:db8:2::1', 5060], [' tcp', '2001:db8:2::2', 5070], [' tls', '2001:db8:2::3', 5071]] as const) {
    const cfg = validate(parseConfig(`generic4 192.0.2.1\ngeneric6 2001:db8::1\ntcp yes\ntls-cert c\ntls-key k\nmap voip.example.net 192.0.2.130${transport}\n`, 'c'));
    const map = new Mapping(cfg);
    const r = new UplinkResolver(map, createLogger('plain', 'error'), fake(srv, ips));
    await r.start();
    r.stop();
    t.same(map.targetOfName('voip.example.net', null, 6), { addr, family: 6, port }, `map ...${transport || ' (no transport)'}: ${addr} port ${port}`);
    // RFC 5922 7.3: the TLS server proves the domain of the line, not the SRV target's name.
    t.same(map.namesAt(addr), ['voip.example.net'], 'its address names the line\'s domain');
  }
});
