// map REAL/LEN FACE/LEN end to end (sipproxy64(8) ADDRESS MODEL, "A prefix of parties"): an
// IPv4 LAN 127.0.1.0/28 appears on the IPv6 side as 2001:db8:65::/124, one line for all of it.
// etc/sipproxy64-faces adds the faces as an AnyIP route in the namespace; two IPv4 phones
// register at the IPv6-only Kamailio through the registrar's face, the IPv6 phone carol calls
// one of them by its registration, and the other calls carol; RTP is counted at both ends.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitFor } from '../lib/netns.js';
import { CALL_MS, e2e, ROOT, tail } from '../lib/world.js';

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
    {
      const uas = w.sipp('uas.xml', '127.0.1.2', 5060, 31110, w.media('bob1', '127.0.1.2', 40100));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '2001:db8:1::21', 5060, 31112, { ...w.media('carol1', '2001:db8:1::21', 40110), callee: 'bob' }, '[2001:db8:1::5]:5060', CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `carol calls bob by his registration${tail(uac)}`);
      t.equal(u.code, 0, `bob answers at 127.0.1.2${tail(u)}`);
      for (const name of ['bob1', 'carol1']) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
      }
    }
    // alice (127.0.1.1) -> registrar's face -> carol
    {
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5062, 31120, w.media('carol2', '2001:db8:1::20', 40120));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '127.0.1.1', 5060, 31122, { ...w.media('alice2', '127.0.1.1', 40130), callee: 'carol' }, '127.0.0.105:5060', CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `alice calls carol${tail(uac)}`);
      t.equal(u.code, 0, `carol answers${tail(u)}`);
      for (const name of ['alice2', 'carol2']) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
      }
    }
    t.match(w.kamailioLog + proxy.log(), /2001:db8:65::[12]/, 'the registrar saw the phones at their prefix faces');
    t.ok(await waitFor(() => proxy.child.exitCode === null, 100), 'proxy still running');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
