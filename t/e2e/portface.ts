// map REAL FACE:PORT end to end (sipproxy64(8) ADDRESS MODEL, "Port faces"): one IPv4
// address, the generic 127.0.0.1, serves every IPv6 party on a SIP port each: the IPv6-only
// Kamailio registrar on 5070, carol on 5071, dave on 5072. The IPv4 phone alice registers
// through 127.0.0.1:5070, calls carol and dave at 127.0.0.1:5071 and :5072, and dave calls
// her back through the registrar; RTP is counted at both ends of every call.
import t from 'tap';
import { e2e, tail } from '../lib/world.js';

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
      await w.call(t, { name: `alice${n}`, addr: '127.0.0.10', sip: 5060, ctl: 31220 + 2 * n, rtp: 40210 + 20 * n }, { name: `${callee}${n}`, addr: v6, sip: 5060, ctl: 31210 + 2 * n, rtp: 40200 + 20 * n }, callee, `127.0.0.1:${port}`,
        [`alice calls ${callee} at sip:${callee}@127.0.0.1:${port}`, `${callee} answers at [${v6}]`]);
    }
    // dave -> registrar -> alice's contact (her face) -> proxy -> 127.0.0.10; dave appears as 127.0.0.1:5072.
    await w.call(t, { name: 'dave3', addr: '2001:db8:1::21', sip: 5060, ctl: 31232, rtp: 40270 }, { name: 'alice3', addr: '127.0.0.10', sip: 5060, ctl: 31230, rtp: 40260 }, 'alice', '[2001:db8:1::5]:5060',
      ['dave calls alice through the registrar', 'alice answers']);
    t.match(proxy.log(), /from=127\.0\.0\.1:5072 to=127\.0\.0\.10:5060/, 'what dave sends alice leaves from his port face');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
