// map REAL/LEN FACE/LEN end to end (sipproxy64(8) ADDRESS MODEL, "A prefix of parties"): an
// IPv4 LAN 127.0.1.0/28 appears on the IPv6 side as 2001:db8:65::/124, one line for all of it.
// etc/sipproxy64-faces adds the faces as an AnyIP route in the namespace; two IPv4 phones
// register at the IPv6-only Kamailio through the registrar's face, the IPv6 phone carol calls
// one of them by its registration, and the other calls carol; RTP is counted at both ends.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../lib/netns.js';
import { e2e, ROOT, tail } from '../lib/world.js';

const CONF = `generic4 127.0.0.1
generic6 2001:db8::1
media4 127.0.0.2
media6 2001:db8::2
map 127.0.1.0/28 2001:db8:65::/124
map 2001:db8:1::5 127.0.0.105
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;

// A line of 1024 hosts (more than 256: computed, not bound host by host): the IPv6 network
// 2001:db8:1::/118, the registrar and carol and dave in it, appears as 127.1.0.0/22; one
// native socket on 0.0.0.0:5060 serves every face (so the IPv4 phone erin here, on the
// proxy's own host, takes another SIP port, which her map line names).
const LARGE = `generic4 127.0.0.1
generic6 2001:db8::1
media4 127.0.0.2
media6 2001:db8::2
map 2001:db8:1::/118 127.1.0.0/22
map 127.0.0.10:5062 2001:db8:64::10
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;

e2e('prefix', (w) => {
  t.test('a prefix-mapped IPv4 LAN registers at an IPv6 registrar and calls both ways', async (t) => {
    const conf = join(w.dir, 'prefix.conf');
    writeFileSync(conf, CONF);
    const helper = spawnSync('ip', ['netns', 'exec', w.ns.name, join(ROOT, 'etc', 'sipproxy64-faces'), 'add', '-c', conf], { encoding: 'utf8' });
    t.equal(helper.status, 0, `sipproxy64-faces add: ${helper.stdout}${helper.stderr}`);
    t.match(helper.stdout, 'added local route 2001:db8:65::/124 on lo', 'the faces are one local route (AnyIP)');
    const list = spawnSync('ip', ['netns', 'exec', w.ns.name, join(ROOT, 'etc', 'sipproxy64-faces'), 'list', '-c', conf], { encoding: 'utf8' });
    t.match(list.stdout, '2001:db8:65::/124 local-route lo yes');

    await w.kamailio();
    const proxy = w.startProxy(CONF);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.ok(w.ns.udpSockets().includes('[2001:db8:65::2]:5060') && w.ns.udpSockets().includes('[2001:db8:65::f]:5060'), 'every face of the prefix has its SIP socket');

    for (const [user, addr, port] of [['alice', '127.0.1.1', 31100], ['bob', '127.0.1.2', 31102]] as const) {
      const reg = await w.sipp('register.xml', addr, 5060, port, { user }, '127.0.0.105:5060');
      t.equal(reg.code, 0, `${user} at ${addr} registers at the IPv6 registrar through its face${tail(reg)}`);
    }
    const regC = await w.sipp('register.xml', '2001:db8:1::20', 5062, 31104, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(regC.code, 0, 'IPv6 phone carol registers directly');

    // carol -> registrar -> bob's contact [2001:db8:65::2] -> proxy -> 127.0.1.2
    await w.call(t, { name: 'carol1', addr: '2001:db8:1::21', sip: 5060, ctl: 31112, rtp: 40110 }, { name: 'bob1', addr: '127.0.1.2', sip: 5060, ctl: 31110, rtp: 40100 }, 'bob', '[2001:db8:1::5]:5060',
      ['carol calls bob by his registration', 'bob answers at 127.0.1.2']);
    // alice (127.0.1.1) -> registrar's face -> carol
    await w.call(t, { name: 'alice2', addr: '127.0.1.1', sip: 5060, ctl: 31122, rtp: 40130 }, { name: 'carol2', addr: '2001:db8:1::20', sip: 5062, ctl: 31120, rtp: 40120 }, 'carol', '127.0.0.105:5060',
      ['alice calls carol', 'carol answers']);
    t.match(w.kamailioLog + proxy.log(), /2001:db8:65::[12]/, 'the registrar saw the phones at their prefix faces');
    t.ok(await waitFor(() => proxy.child.exitCode === null, 100), 'proxy still running');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });

  t.test('a prefix line of 1024 hosts: one socket on 0.0.0.0 serves its faces', async (t) => {
    const conf = join(w.dir, 'large.conf');
    writeFileSync(conf, LARGE);
    const helper = spawnSync('ip', ['netns', 'exec', w.ns.name, join(ROOT, 'etc', 'sipproxy64-faces'), 'add', '-c', conf], { encoding: 'utf8' });
    t.equal(helper.status, 0, `sipproxy64-faces add: ${helper.stdout}${helper.stderr}`);
    const host = await w.cli(['--check-config', '--host', '-c', conf]);
    t.match(host.stdout, /bind\s+0\.0\.0\.0:5060 \(map\)\s+ok/, `--check-config --host checks the wildcard socket${tail(host)}`);
    t.match(host.stdout, /2001:db8:1::\/118\s+127\.1\.0\.0\/22\s+\S+ \(1024 faces, on 0\.0\.0\.0:5060\)/, 'and prints the line as one row');
    const proxy = w.startProxy(LARGE);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const socks = w.ns.udpSockets();
    t.ok(socks.includes('0.0.0.0:5060') && !socks.includes('127.1.0.5:5060'), 'one IPv4 SIP socket for all 1024 faces');

    const reg = await w.sipp('register.xml', '127.0.0.10', 5062, 31400, { user: 'erin' }, '127.1.0.5:5060');
    t.equal(reg.code, 0, `erin registers at the IPv6 registrar through its face 127.1.0.5 (host 5 of the line)${tail(reg)}`);
    // carol -> registrar -> erin's contact [2001:db8:64::10] -> proxy -> 127.0.0.10:5062
    await w.call(t, { name: 'carol5', addr: '2001:db8:1::20', sip: 5062, ctl: 31412, rtp: 40410 }, { name: 'erin5', addr: '127.0.0.10', sip: 5062, ctl: 31410, rtp: 40400 }, 'erin', '[2001:db8:1::5]:5060',
      ['carol calls erin through the registrar', 'erin answers']);
    t.match(proxy.log(), /from=127\.1\.0\.5:5060 to=127\.0\.0\.10:5062/, 'what the registrar relays to erin leaves from its face 127.1.0.5, through the wildcard socket');
    // erin -> 127.1.0.33 (dave's face) -> dave [2001:db8:1::21]:5060
    await w.call(t, { name: 'erin6', addr: '127.0.0.10', sip: 5062, ctl: 31422, rtp: 40430 }, { name: 'dave6', addr: '2001:db8:1::21', sip: 5060, ctl: 31420, rtp: 40420 }, 'dave', '127.1.0.33:5060',
      ['erin calls dave at his face 127.1.0.33', 'dave answers']);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
