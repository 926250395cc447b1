import t from 'tap';
import { formatHostPort, isSiteLocal, isSpecial, parseHostIp, parseHostPort, parseIp, sourceKey, uriHost } from '../../../src/net/addr.js';

t.test('parseIp validates with net.isIP before ipaddr.js', async (t) => {
  t.equal(parseIp('010.0.0.1'), null, 'leading zeros are not octal, they are invalid');
  t.same(parseIp('192.0.2.1'), { addr: '192.0.2.1', family: 4 });
  t.same(parseIp('2001:DB8:0:0:0:0:0:1'), { addr: '2001:db8::1', family: 6 }, 'RFC 5952 canonical form');
  t.same(parseIp('2001:db8:0:0:1:0:0:1'), { addr: '2001:db8::1:0:0:1', family: 6 }, 'first longest zero run');
  t.same(parseIp('::ffff:192.0.2.2')?.family, 6);
  t.equal(parseIp('[2001:db8::1]'), null, 'no brackets here');
  t.equal(parseIp('example.com'), null);
  t.equal(parseIp('2001:db8:::1'), null);
});

t.test('host forms', async (t) => {
  t.same(parseHostIp('[2001:db8::1]'), { addr: '2001:db8::1', family: 6 });
  t.equal(parseHostIp('2001:db8::1'), null, 'IPv6 in host text needs brackets');
  t.equal(parseHostIp('[192.0.2.1]'), null);
  t.same(parseHostPort('192.0.2.1:5060'), { addr: '192.0.2.1', family: 4, port: 5060 });
  t.same(parseHostPort('[2001:db8::1]:5070'), { addr: '2001:db8::1', family: 6, port: 5070 });
  t.same(parseHostPort('2001:db8::1', 5060), { addr: '2001:db8::1', family: 6, port: 5060 }, 'bare IPv6, default port');
  t.equal(parseHostPort('192.0.2.1'), null, 'port required without a default');
  t.equal(parseHostPort('192.0.2.1:0'), null);
  t.equal(parseHostPort('192.0.2.1:65536'), null);
  t.equal(parseHostPort('[2001:db8::1]5060'), null);
  t.equal(uriHost({ addr: '2001:db8::1', family: 6 }), '[2001:db8::1]');
  t.equal(formatHostPort({ addr: '192.0.2.1', family: 4, port: 5060 }), '192.0.2.1:5060');
});

t.test('isSpecial: addresses nothing is sent to unless a map line names them', async (t) => {
  for (const a of ['127.0.0.1', '127.255.0.9', '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.1.2.3', '255.255.255.255', '::', '::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:224.0.0.1']) t.ok(isSpecial(a), a);
  // As parseIp writes them (RFC 5952: hex groups), and IPv4-compatible (::/96) too.
  for (const a of ['::ffff:127.0.0.1', '::ffff:224.0.0.1', '::ffff:0.0.0.7', '::127.0.0.1', '::ffff:255.255.255.255']) t.ok(isSpecial(parseIp(a)!.addr), `${a} as ${parseIp(a)!.addr}`);
  for (const a of ['::ffff:192.0.2.1', '::192.0.2.1']) t.ok(isSpecial(parseIp(a)!.addr), `${a}: any IPv4 address inside IPv6 names no IPv6 host`);
  for (const a of ['64:ff9b::127.0.0.1', '::1:0:7f00:1']) t.notOk(isSpecial(parseIp(a)!.addr), `${a} as ${parseIp(a)!.addr}: not special`);
  for (const a of ['192.0.2.10', '198.51.100.1', '2001:db8::1', '10.0.0.1', 'fe80::1']) t.notOk(isSpecial(a), a);
});

t.test('sourceKey: an IPv6 host is its /64; an IPv4 host is its address, also when written in IPv6 (SPEC 11)', async (t) => {
  const key = (a: string): string => sourceKey(parseIp(a)!);
  t.equal(key('192.0.2.10'), '192.0.2.10');
  t.equal(key('2001:db8:5::1'), key('2001:db8:5::ffff:2'), 'two addresses of one /64: one source');
  t.not(key('2001:db8:5::1'), key('2001:db8:5:1::1'), 'the next /64: another');
  t.equal(key('::ffff:192.0.2.10'), '192.0.2.10', 'IPv4-mapped: the IPv4 host');
  t.not(key('::ffff:192.0.2.10'), key('::ffff:192.0.2.11'), 'not one /64 for every mapped host');
  t.equal(key('64:ff9b::192.0.2.10'), '192.0.2.10', 'through NAT64 (RFC 6052 well-known prefix): the IPv4 host');
  t.not(key('64:ff9b::192.0.2.10'), key('64:ff9b::192.0.2.11'));
});

t.test('no IPv6 zone: SIP and SDP addresses have none (SPEC 11: a stranger would choose the interface)', async (t) => {
  for (const a of ['fe80::1%eth0', 'fe80::1%25eth0', 'fe80::1%1', '2001:db8::1%lo']) t.equal(parseIp(a), null, a);
  t.equal(parseHostIp('[fe80::1%eth0]'), null);
  t.same(parseIp('fe80::1'), { addr: 'fe80::1', family: 6 }, 'without one, link-local is an address as before');
});

t.test('isSiteLocal: addresses only their own site reaches (a party behind a NAT writes one)', async (t) => {
  for (const a of ['10.0.0.5', '10.255.255.255', '172.16.0.1', '172.31.255.254', '192.168.1.20', '100.64.0.1', '100.127.255.254', '169.254.10.1', 'fd00::5', 'fc00::1', 'fdff:ffff::1', 'fe80::1', 'febf::1']) t.ok(isSiteLocal(parseIp(a)!), a);
  for (const a of ['192.0.2.1', '198.51.100.40', '172.15.0.1', '172.32.0.1', '192.169.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1', '2001:db8::1', 'fc0::1', 'fe0::1', 'fec0::1', 'fe7f::1', '::ffff:10.0.0.5']) t.notOk(isSiteLocal(parseIp(a)!), a);
});
