import t from 'tap';
import { createHmac } from 'node:crypto';
import { Nat } from '../../../src/masq/nat.js';
import { NameCache } from '../../../src/masq/names.js';
import { parseHostPort, parseIp } from '../../../src/net/addr.js';
import { parseUri } from '../../../src/sip/uri.js';

const mac = (v: string) => createHmac('sha256', 'k').update(v).digest('hex').slice(0, 12);
const nat = new Nat(parseIp('192.0.2.1')!, 24, parseIp('198.51.100.1')!, 5060, [mac]);

t.test('the LAN and its tokens', async (t) => {
  t.ok(nat.isLan(parseIp('192.0.2.200')!));
  t.notOk(nat.isLan(parseIp('192.0.3.1')!), 'outside the prefix');
  t.notOk(nat.isLan(parseIp('2001:db8::1')!), 'another family');
  t.equal(nat.realmOf('192.0.2.1'), 'lan');
  t.equal(nat.realmOf('198.51.100.1'), 'wan');
  t.equal(nat.realmOf('192.0.2.9'), null);
  const tok = nat.token(parseHostPort('192.0.2.10:5062')!);
  t.match(tok, /^192\.0\.2\.10-5062-[0-9a-f]{12}$/);
  t.same(nat.untoken(tok), parseHostPort('192.0.2.10:5062'));
  t.equal(nat.untoken(tok.replace(/.$/, (c) => (c === '0' ? '1' : '0'))), null, 'a forged MAC is refused');
  t.equal(nat.untoken(tok.replace('5062', '5063')), null, 'another port under the same MAC is refused');
  const outside = `203.0.113.5-5060-${mac('203.0.113.5-5060')}`;
  t.equal(nat.untoken(outside), null, 'a MACed address outside the LAN never becomes a target');
  for (const junk of ['', '-', '192.0.2.10', '192.0.2.10-99999-000000000000', 'x-1-2']) t.equal(nat.untoken(junk), null, `junk "${junk}"`);
  const uri = `sip:alice@198.51.100.1:5060;sp64n=${tok};lr`;
  t.same(nat.tokenOf(uri, parseUri(uri, 0, uri.length)!), parseHostPort('192.0.2.10:5062'));
  const v6 = new Nat(parseIp('2001:db8:1::1')!, null, parseIp('198.51.100.1')!, 5060, [mac]);
  const tok6 = v6.token(parseHostPort('[2001:db8:1::20]:5060')!);
  t.same(v6.untoken(tok6), parseHostPort('[2001:db8:1::20]:5060'), 'IPv6 LANs (default /64)');
});

t.test('name cache', async (t) => {
  let now = 0;
  const c = new NameCache(() => now, 2);
  t.equal(c.get('a.example', 4), undefined);
  c.set('a.example', 4, { addr: parseIp('198.51.100.20')! }, 10);
  c.set('b.example', 4, null, 10);
  t.same(c.get('a.example', 4), { addr: parseIp('198.51.100.20')! });
  t.equal(c.get('a.example', 6), undefined, 'per family');
  t.equal(c.get('b.example', 4), null, 'a failure is remembered');
  c.set('c.example', 4, null, 10);
  t.equal(c.get('a.example', 4), undefined, 'bounded: the oldest goes');
  now = 11_000;
  t.equal(c.get('b.example', 4), undefined, 'expired');
  // RFC 5922 7.3: the names an address was resolved from, for its TLS server to prove.
  t.same(c.namesAt('198.51.100.20'), ['a.example'], 'kept past its TTL and past the cache of names (a dialog goes on to the address)');
  t.same(c.namesAt('198.51.100.21'), [], 'none for an address no name gave');
  for (const n of ['b', 'c', 'd', 'e', 'f', 'b']) c.set(`${n}.example`, 4, { addr: parseIp('198.51.100.20')! }, 10);
  t.same(c.namesAt('198.51.100.20'), ['b.example', 'f.example', 'e.example', 'd.example'], 'the newest first, four at most, each once');
  c.set('g.example', 4, { addr: parseIp('198.51.100.21')! }, 10);
  c.set('h.example', 4, { addr: parseIp('198.51.100.22')! }, 10);
  t.same(c.namesAt('198.51.100.20'), [], 'bounded: the oldest address goes');
  t.same(c.namesAt('198.51.100.22'), ['h.example']);
});
