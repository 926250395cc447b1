// map REAL FACE:PORT end to end (sipproxy64(8) ADDRESS MODEL, "Port faces"): one IPv4
// address, the generic 127.0.0.1, serves every IPv6 party on a SIP port each: the IPv6-only
// Kamailio registrar on 5070, carol on 5071, dave on 5072. The IPv4 phone alice registers
// through 127.0.0.1:5070, calls carol and dave at 127.0.0.1:5071 and :5072, and dave calls
// her back through the registrar; RTP is counted at both ends of every call.
import t from 'tap';
import { sleep } from '../lib/netns.js';
import { CALL_MS, e2e, tail } from '../lib/world.js';

const CONF = `generic4 127.0.0.1
generic6 2001:db8::1
media4 127.0.0.2
media6 2001:db8::2
map 127.0.0.10 2001:db8:64::10
map 2001:db8:1::5 127.0.0.1:5070
map 2001:db8:1::20 127.0.0.1:5071
map 2001:db8:1::21 127.0.0.1:5072
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;

e2e('portface', (w) => {
  t.test('two IPv6 phones and a registrar share one IPv4 address', async (t) => {
    await w.kamailio();
    const proxy = w.startProxy(CONF);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    for (const p of ['127.0.0.1:5070', '127.0.0.1:5071', '127.0.0.1:5072']) t.ok(w.ns.udpSockets().includes(p), `a SIP socket on the port face ${p}`);

    const reg = await w.sipp('register.xml', '127.0.0.10', 5060, 31200, { user: 'alice' }, '127.0.0.1:5070');
    t.equal(reg.code, 0, `alice registers at the IPv6 registrar through its port face 127.0.0.1:5070${tail(reg)}`);

    for (const [callee, v6, port, n] of [['carol', '2001:db8:1::20', 5071, 1], ['dave', '2001:db8:1::21', 5072, 2]] as const) {
      const uas = w.sipp('uas.xml', v6, 5060, 31210 + 2 * n, w.media(`${callee}${n}`, v6, 40200 + 20 * n));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31220 + 2 * n, { ...w.media(`alice${n}`, '127.0.0.10', 40210 + 20 * n), callee }, `127.0.0.1:${port}`, CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `alice calls ${callee} at sip:${callee}@127.0.0.1:${port}${tail(uac)}`);
      t.equal(u.code, 0, `${callee} answers at [${v6}]${tail(u)}`);
      for (const name of [`alice${n}`, `${callee}${n}`]) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
      }
    }
    // dave -> registrar -> alice's contact (her face) -> proxy -> 127.0.0.10; dave appears as 127.0.0.1:5072.
    {
      const uas = w.sipp('uas.xml', '127.0.0.10', 5060, 31230, w.media('alice3', '127.0.0.10', 40260));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '2001:db8:1::21', 5060, 31232, { ...w.media('dave3', '2001:db8:1::21', 40270), callee: 'alice' }, '[2001:db8:1::5]:5060', CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `dave calls alice through the registrar${tail(uac)}`);
      t.equal(u.code, 0, `alice answers${tail(u)}`);
      for (const name of ['alice3', 'dave3']) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
      }
    }
    t.match(proxy.log(), /from=127\.0\.0\.1:5072 to=127\.0\.0\.10:5060/, 'what dave sends alice leaves from his port face');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
