// nat64 PREFIX/96 end to end (sipproxy64(8) ADDRESS MODEL, "IPv6-only networks: nat64"): the
// IPv6-only phones carol and dave use an IPv4-only provider (Kamailio on 198.51.100.20) and
// an IPv4-only phone bob (192.0.2.10) by the addresses DNS64 would give them inside
// 2001:db8:6464::/96, with no map line. etc/sipproxy64-faces routes the prefix to the host
// (AnyIP); one native socket on [::]:5060 serves every address of it. Both phones register
// through the prefix, bob directly; bob calls carol through the provider (to be called from
// IPv4, carol needs an IPv4 face: a port face on the generic address), dave calls bob through
// it, dave calls carol through it (out through the proxy and back), carol calls bob at his
// prefix address; RTP counted at both ends of each call.
// A connected UDP socket (it takes datagrams from its peer only) proves that the provider's
// answer comes from the very prefix address the request went to; a datagram to the prefix
// address of 127.0.0.1 is a counted drop. The proxy holds [::]:5060, so the phones here,
// on the proxy's own host, use other SIP ports.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../lib/netns.js';
import { e2e, ROOT, tail } from '../lib/world.js';

const PROVIDER = '2001:db8:6464::c633:6414'; // 198.51.100.20
const BOB = '2001:db8:6464::c000:20a'; //       192.0.2.10
const CONF = `generic4 127.0.0.1
generic6 2001:db8::1
media4 127.0.0.2
media6 2001:db8::2
nat64 2001:db8:6464::/96
map [2001:db8:1::20]:5062 127.0.0.1:5071
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;

/** Send one SIP request from a connected UDP socket in the namespace; print the first line of the answer, or "timeout". */
const ASK = `
const s = require('node:dgram').createSocket('udp6');
const [to, port, src] = process.argv.slice(1);
s.bind({ address: src, port: 0 }, () => s.connect(Number(port), to, () => {
  const req = 'OPTIONS sip:nobody@[' + to + '] SIP/2.0\\r\\nVia: SIP/2.0/UDP [' + src + ']:' + s.address().port + ';branch=z9hG4bKask' + Date.now() + ';rport\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:probe@[' + src + ']>;tag=p1\\r\\nTo: <sip:nobody@[' + to + ']>\\r\\nCall-ID: ask' + Date.now() + '\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n';
  s.on('message', (m) => { console.log(m.toString().split('\\r\\n')[0]); process.exit(0); });
  s.send(req);
  setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);
}));
`;

e2e('nat64', (w) => {
  t.test('IPv6-only phones reach an IPv4-only provider and phone through the nat64 prefix', async (t) => {
    for (const a of ['198.51.100.20', '192.0.2.10']) spawnSync('ip', ['-n', w.ns.name, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    const conf = join(w.dir, 'nat64.conf');
    writeFileSync(conf, CONF);
    const helper = spawnSync('ip', ['netns', 'exec', w.ns.name, join(ROOT, 'etc', 'sipproxy64-faces'), 'add', '-c', conf], { encoding: 'utf8' });
    t.equal(helper.status, 0, `sipproxy64-faces add: ${helper.stdout}${helper.stderr}`);
    t.match(helper.stdout, 'added local route 2001:db8:6464::/96 on lo', 'the prefix is one local route (AnyIP)');

    const host = await w.cli(['--check-config', '--host', '-c', conf]);
    t.equal(host.code, 0, `--check-config --host passes${tail(host)}`);
    t.match(host.stdout, /local\s+nat64 2001:db8:6464::\/96\s+ok: a local route/, 'it finds the prefix routed here');
    t.match(host.stdout, /bind\s+\[::\]:5060 \(nat64\)\s+ok/, 'and [::]:5060 free');
    await w.kamailio(['NAT4']);
    const proxy = w.startProxy(CONF);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.ok(w.ns.udpSockets().includes('[::]:5060'), 'one IPv6 SIP socket on [::]:5060 for the whole prefix');

    const ask = async (to: string): Promise<string> => (await w.ns.run(process.execPath, ['-e', ASK, to, '5060', '2001:db8:1::21'], 10000)).stdout.trim();
    t.match(await ask(PROVIDER), /^SIP\/2\.0 404/, 'the provider\'s answer reaches a connected socket: it comes from the prefix address the request went to');

    for (const [user, addr, port, ctl] of [['carol', '2001:db8:1::20', 5062, 31300], ['dave', '2001:db8:1::21', 5064, 31302]] as const) {
      const reg = await w.sipp('register.xml', addr, port, ctl, { user }, `[${PROVIDER}]:5060`);
      t.equal(reg.code, 0, `${user} registers at the IPv4-only provider through [${PROVIDER}]${tail(reg)}`);
    }
    const regB = await w.sipp('register.xml', '192.0.2.10', 5060, 31304, { user: 'bob' }, '198.51.100.20:5060');
    t.equal(regB.code, 0, `IPv4 phone bob registers at the provider directly${tail(regB)}`);
    t.match(w.kamailioLog, /REGISTER sip:carol@198\.51\.100\.20 contact <sip:carol@127\.0\.0\.1:5071>/, 'the provider sees carol at her IPv4 port face');
    // bob -> 198.51.100.20 -> carol's contact (her port face 127.0.0.1:5071) -> proxy -> carol
    await w.call(t, { name: 'bob1', addr: '192.0.2.10', sip: 5060, ctl: 31312, rtp: 40310 }, { name: 'carol1', addr: '2001:db8:1::20', sip: 5062, ctl: 31310, rtp: 40300 }, 'carol', '198.51.100.20:5060',
      ['IPv4 bob calls carol through the provider', 'carol answers']);
    // dave -> [prefix address of the provider] -> 198.51.100.20 -> bob's contact
    await w.call(t, { name: 'dave2', addr: '2001:db8:1::21', sip: 5064, ctl: 31322, rtp: 40330 }, { name: 'bob2', addr: '192.0.2.10', sip: 5060, ctl: 31320, rtp: 40320 }, 'bob', `[${PROVIDER}]:5060`,
      ['dave calls bob through the provider at its prefix address', 'bob answers']);
    // dave -> [prefix address of the provider] -> 198.51.100.20 -> carol's port face -> carol:
    // the call leaves through the proxy and comes back, one relay pair per leg (SPEC 6).
    await w.call(t, { name: 'dave4', addr: '2001:db8:1::21', sip: 5064, ctl: 31342, rtp: 40370 }, { name: 'carol4', addr: '2001:db8:1::20', sip: 5062, ctl: 31340, rtp: 40360 }, 'carol', `[${PROVIDER}]:5060`,
      ['IPv6 dave calls IPv6 carol through the IPv4-only provider', 'carol answers']);
    // carol -> [prefix address of bob] -> 192.0.2.10 (no registrar, no map line)
    await w.call(t, { name: 'carol3', addr: '2001:db8:1::20', sip: 5062, ctl: 31332, rtp: 40350 }, { name: 'bob3', addr: '192.0.2.10', sip: 5060, ctl: 31330, rtp: 40340 }, 'bob', `[${BOB}]:5060`,
      ['carol calls bob at his prefix address', 'bob answers at 192.0.2.10']);

    t.equal(await ask('2001:db8:6464::7f00:1'), 'timeout', 'the prefix address of 127.0.0.1 gets no answer');
    t.ok(await waitFor(async () => /sipproxy64_sip_drops_total\{reason="nat64-refused"\} [1-9]/.test(await w.http('/metrics')), 5000), 'and is a counted drop (nat64-refused)');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
