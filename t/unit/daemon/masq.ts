import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, validate } from '../../../src/config/config.js';
import { engineOf } from '../../lib/engine.js';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { MAX_LOOKUPS, NameResolver, RegistrationStore, resolveOutbound } from '../../../src/daemon/masq.js';
import { DnsApi } from '../../../src/daemon/resolver.js';
import { staticDns } from '../../lib/dns.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { tempDir } from '../../lib/tmp.js';

const cfgText = 'inbound 192.0.2.1/24\noutbound 198.51.100.1\nrtp-ports 30000-30099\n';
const dns = (ips: Record<string, string[]>) => staticDns(ips, ips);
const register = (host: string) =>
  `REGISTER sip:${host} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx\r\nFrom: <sip:a@${host}>;tag=1\r\nTo: <sip:a@${host}>\r\nCall-ID: r@x\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@192.0.2.10>\r\nContent-Length: 0\r\n\r\n`;

t.test('a LAN phone names its provider by host name: resolved once, then the request goes', async (t) => {
  const { engine: e, masq } = engineOf(cfgText);
  const sent: Action[] = [];
  const r = new NameResolver(masq!.names, (a) => sent.push(...a), (why) => e.countDrop(why), dns({ 'sip.provider.example': ['198.51.100.20'] }));
  const src = parseHostPort('192.0.2.10:5060')!;
  const local = parseHostPort('192.0.2.1:5060')!;
  const first = e.handle(register('sip.provider.example'), src, local);
  t.equal(first[0].type, 'resolve');
  // Two requests while the name is being resolved: one lookup, both go out after it.
  r.resolve(first[0] as Extract<Action, { type: 'resolve' }>);
  r.resolve(e.handle(register('sip.provider.example'), src, local)[0] as Extract<Action, { type: 'resolve' }>);
  await new Promise((res) => setTimeout(res, 20));
  t.equal(sent.length, 2);
  t.same(sent.map((a) => (a.type === 'send' ? a.to.addr : a.type)), ['198.51.100.20', '198.51.100.20']);
  // A name that does not resolve: 503, and remembered for a while.
  const bad = e.handle(register('nowhere.example'), src, local)[0] as Extract<Action, { type: 'resolve' }>;
  r.resolve(bad);
  await new Promise((res) => setTimeout(res, 20));
  t.match(sent[2].type === 'send' ? sent[2].data : '', /^SIP\/2.0 503 Service Unavailable \(cannot resolve nowhere.example\)/);
  t.equal(e.handle(register('nowhere.example'), src, local)[0].type, 'send', 'answered from the cache, no new lookup');
});

t.test('at most 64 names are resolved at once: a LAN naming hosts by the thousand waits (SPEC 11)', async (t) => {
  const { engine: e, masq } = engineOf(cfgText);
  const sent: Action[] = [];
  let asked = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const slow: DnsApi = { ...dns({}), resolveIp: async () => (asked++, await gate, [{ address: '198.51.100.30', ttl: 60 }]) };
  const r = new NameResolver(masq!.names, (a) => sent.push(...a), (why) => e.countDrop(why), slow);
  const src = parseHostPort('192.0.2.10:5060')!;
  const local = parseHostPort('192.0.2.1:5060')!;
  for (let i = 0; i < MAX_LOOKUPS + 6; i++) r.resolve(e.handle(register(`h${i}.example`), src, local)[0] as Extract<Action, { type: 'resolve' }>);
  await new Promise((res) => setTimeout(res, 20));
  t.equal(asked, MAX_LOOKUPS, `${MAX_LOOKUPS} lookups in flight, no more`);
  t.equal(e.counters.get('drop:resolve-queue-full'), 6, 'the other six: counted drops');
  release();
  await new Promise((res) => setTimeout(res, 20));
  t.equal(sent.length, MAX_LOOKUPS, 'each waiting request goes once its name resolves');
  r.resolve(e.handle(register('h99.example'), src, local)[0] as Extract<Action, { type: 'resolve' }>);
  await new Promise((res) => setTimeout(res, 20));
  t.equal(sent.length, MAX_LOOKUPS + 1, 'and a new name is taken again');
});

t.test('registrations are saved atomically and restored', async (t) => {
  const dir = tempDir(t, 'sp64masq-');
  const file = join(dir, 'sub', 'registrations.json');
  const { masq } = engineOf(cfgText);
  const log = createLogger('plain', 'error');
  const store = new RegistrationStore(masq!.registrar, file, log);
  store.start();
  masq!.registrar.learn({ headers: [] } as never, [{ user: 'alice', phone: parseHostPort('192.0.2.10:5060')!, expires: 600 }], 'c', 1);
  store.stop();
  t.ok(existsSync(file), 'saved, its directory made');
  t.notOk(existsSync(file + '.tmp'));
  t.match(readFileSync(file, 'utf8'), /"outbound":\[\{"aor":"alice"/);
  const again = engineOf(cfgText, { now: () => 1000 }).masq!;
  new RegistrationStore(again.registrar, file, log).start();
  t.equal(again.registrar.learnedOf('alice')?.contact, 'sip:alice@192.0.2.10:5060', 'restored after a restart');
});

t.test('outbound by host name', async (t) => {
  const cfg = validate(parseConfig('inbound 192.0.2.1/24\noutbound gw.example.net\n', 'f'));
  await resolveOutbound(cfg, dns({ 'gw.example.net': ['198.51.100.1'] }));
  t.equal(cfg.outbound?.addr, '198.51.100.1');
  const bad = validate(parseConfig('inbound 192.0.2.1/24\noutbound none.example.net\n', 'f'));
  await t.rejects(resolveOutbound(bad, dns({})), /outbound none.example.net: cannot resolve/);
});

t.test('a name is looked up for the transport its URI asks for: its own SRV service (RFC 3263 4.2)', async (t) => {
  const { engine: e, masq } = engineOf(cfgText + 'tcp yes\ntls-cert c.pem\ntls-key k.pem\n');
  const srv: Record<string, Array<{ name: string; port: number; priority: number; weight: number }>> = {
    '_sip._udp.provider.example': [{ name: 'udp.provider.example', port: 5060, priority: 1, weight: 1 }],
    '_sip._tcp.provider.example': [{ name: 'tcp.provider.example', port: 5070, priority: 1, weight: 1 }],
    '_sips._tcp.provider.example': [{ name: 'tls.provider.example', port: 5071, priority: 1, weight: 1 }],
  };
  const api: DnsApi = {
    ...dns({ 'udp.provider.example': ['198.51.100.30'], 'tcp.provider.example': ['198.51.100.31'], 'tls.provider.example': ['198.51.100.32'] }),
    resolveSrv: async (n) => {
      if (srv[n]) return srv[n];
      throw new Error('ENODATA');
    },
  };
  const sent: Action[] = [];
  const r = new NameResolver(masq!.names, (a) => sent.push(...a), (why) => e.countDrop(why), api);
  const src = parseHostPort('192.0.2.10:5060')!;
  const local = parseHostPort('192.0.2.1:5060')!;
  for (const ruri of ['sip:provider.example', 'sips:provider.example', 'sip:provider.example;transport=tcp', 'sip:provider.example;transport=tls']) {
    const first = e.handle(register('provider.example').replace('REGISTER sip:provider.example ', `REGISTER ${ruri} `), src, local);
    t.equal(first[0].type, 'resolve', `${ruri}: its name is looked up first`);
    r.resolve(first[0] as Extract<Action, { type: 'resolve' }>);
  }
  t.ok(await new Promise((res) => { const t0 = Date.now(); const f = () => (sent.length >= 4 || Date.now() - t0 > 2000 ? res(sent.length === 4) : setTimeout(f, 5)); f(); }), 'all four went on');
  // In the order their lookups ended (the second tls request waited on the first's lookup).
  t.same(sent.map((a) => (a.type === 'send' ? `${a.transport} ${a.to.addr}:${a.to.port}` : a.type)).sort(),
    ['tcp 198.51.100.31:5070', 'tls 198.51.100.32:5071', 'tls 198.51.100.32:5071', 'udp 198.51.100.30:5060'], '_sip._udp, _sip._tcp, and _sips._tcp for both TLS URIs');
  // RFC 5922 7.3: the TLS server proves the domain the phone named, not the SRV target.
  t.same(masq!.names.namesAt('198.51.100.32'), ['provider.example']);
});
