// A public address that changes (issue 17), in the namespaces of t/lib/masqnet.ts: the proxy
// follows `outbound if:m-wan` while alice is registered and a call is up. The ISP renumbers
// the router (a new address, the old one deprecated): the call keeps its media and its BYE
// reaches the old address; the registration survives, new calls in and out use the new
// address; when the old address leaves the host, its sockets close. Then the same through
// `outbound NAME` when the name's record changes. First, the kernel's word of a change with
// outbound-check at an hour. Last, `advertise LOCAL NAME`: the proxy
// behind a router (an nftables NAT in the router namespace) whose address the name follows.
import t from 'tap';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { waitFor, sleep } from '../lib/netns.js';
import { CALL_MS, tail } from '../lib/world.js';
import { masqNet, sh } from '../lib/masqnet.js';

const net = masqNet('c');
if (net) {
  const { lan, rtr, pub, R, registrarConf, call } = net;
  // The kernel's word (rtnetlink, src/native/addrwatch.c): with outbound-check at an hour,
  // only it can bring each change within the test's bounds. The addresses are put back after.
  t.test('outbound if:IFACE follows the kernel\'s word of an address change, not the next outbound-check', async (t) => {
    const proxy = rtr.startProxy(registrarConf.replace('outbound 198.51.100.1', 'outbound if:m-wan\noutbound-check 3600'));
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.notMatch(proxy.log(), /no word from the kernel/, 'the kernel\'s notifications are there');
    sh(`ip -n ${R} addr add 198.51.100.9/24 dev m-wan && ip -n ${R} addr change 198.51.100.1/24 dev m-wan preferred_lft 0`);
    t.ok(await waitFor(() => /public address changed: [^\n]*was=198\.51\.100\.1,2001:db8:1::1 now=198\.51\.100\.9,2001:db8:1::1/.test(proxy.log()), 8000, 100), 'the old address deprecated, a new one: followed at once');
    sh(`ip -n ${R} addr change 198.51.100.1/24 dev m-wan preferred_lft forever`);
    t.ok(await waitFor(() => /public address changed: [^\n]*was=198\.51\.100\.9,2001:db8:1::1 now=198\.51\.100\.1,2001:db8:1::1/.test(proxy.log()), 8000, 100), 'preferred again: back to it');
    sh(`ip -n ${R} addr del 198.51.100.9/24 dev m-wan`);
    t.ok(await waitFor(() => /a former public address is gone from this host; its sockets are closed addr=198\.51\.100\.9/.test(proxy.log()), 8000, 100), 'the other one removed: its sockets close at once');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('outbound if:IFACE: renumbered during a call, without a restart', async (t) => {
    sh(`ip netns exec ${R} sysctl -qw net.ipv4.conf.m-wan.promote_secondaries=1`); // the new address outlives the old primary
    const proxy = rtr.startProxy(registrarConf.replace('outbound 198.51.100.1', 'outbound if:m-wan\noutbound-check 1'));
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.match(proxy.log(), /outbound=198\.51\.100\.1,2001:db8:1::1/, 'the interface\'s addresses, one per family');
    const r = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 32000, { user: 'alice', domain: 'example.net' }, '192.0.2.1:5060', undefined, ['-au', 'alice', '-ap', 'alice-pw']);
    t.equal(r.code, 0, `alice registers with our registrar${tail(r)}`);

    // carol calls alice at the public address; 300 packets (6 s) each way, across the change.
    const uas = lan.sipp('uas.xml', '192.0.2.10', 5060, 32010, lan.media('alice1', '192.0.2.10', 40600, 300));
    await sleep(300);
    const uac = pub.sipp('uac.xml', '198.51.100.30', 5060, 32012, { ...pub.media('carol1', '198.51.100.30', 40610, 300), callee: 'alice' }, '198.51.100.1:5060', 9000);
    const flowing = async (): Promise<boolean> => ((JSON.parse((await rtr.http('/sessions')) || '[]') as unknown[]).length > 0);
    t.ok(await waitFor(flowing, 10000, 200), 'the call is up');
    await sleep(1500);
    sh(`ip -n ${R} addr add 198.51.100.2/24 dev m-wan && ip -n ${R} addr change 198.51.100.1/24 dev m-wan preferred_lft 0`);
    t.ok(await waitFor(() => /public address changed: new calls and registrations use the new one was=198\.51\.100\.1,2001:db8:1::1 now=198\.51\.100\.2,2001:db8:1::1 kept="?198\.51\.100\.1 while this host holds it/.test(proxy.log()), 8000, 100), 'the proxy notices the new address and keeps the old one');
    const [c, u] = await Promise.all([uac, uas]);
    t.equal(c.code, 0, `carol's call goes on and her BYE reaches the old address${tail(c)}`);
    t.equal(u.code, 0, `alice's side ends normally${tail(u)}`);
    for (const name of ['alice1', 'carol1']) {
      const w = name === 'alice1' ? lan : pub;
      const m = await w.peerResult(name);
      t.ok(m && m.sent === 300 && m.received >= 270, `${name}: the call keeps its media across the change: ${JSON.stringify(m)}`);
    }

    // The registration survived; a new call in reaches alice at the new address, its media there too.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 32020, name: 'alice2', rtp: 40620 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 32022, name: 'carol2', rtp: 40630, vars: { callee: 'alice' }, remote: '198.51.100.2:5060', pauseMs: CALL_MS },
      ['alice answers', 'carol calls alice@198.51.100.2 after the change']);
    t.match(JSON.stringify(await pub.peerResult('carol2')), /"dest":"198\.51\.100\.2:\d+"/, 'the new call\'s media is relayed on the new address');
    // A new call out leaves from the new address.
    await call(t, { w: pub, ip: '198.51.100.30', port: 5062, mp: 32030, name: 'carol3', rtp: 40640 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 32032, name: 'alice3', rtp: 40650, vars: { callee: 'carol', domain: '198.51.100.30:5062' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers', 'alice calls carol']);
    t.match(proxy.log(), /sip out from=198\.51\.100\.2:5060 to=198\.51\.100\.30:5062 \S+ first="INVITE sip:carol@198\.51\.100\.30:5062/, 'alice\'s INVITE leaves from the new address');
    t.match(JSON.stringify(await pub.peerResult('carol3')), /"dest":"198\.51\.100\.2:\d+"/, 'and its media too');

    // The ISP takes the old address away: its sockets close.
    t.ok(rtr.ns.udpSockets().includes('198.51.100.1:5060'), 'the old address is still served while the host holds it');
    sh(`ip -n ${R} addr del 198.51.100.1/24 dev m-wan`);
    t.ok(await waitFor(() => /a former public address is gone from this host; its sockets are closed addr=198\.51\.100\.1/.test(proxy.log()), 8000, 100), 'the proxy lets the old address go');
    t.notOk(rtr.ns.udpSockets().includes('198.51.100.1:5060'), 'its socket is closed');
    t.ok(rtr.ns.udpSockets().includes('198.51.100.2:5060'), 'the new one stays');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('outbound NAME: the name is looked up again and the proxy follows it', async (t) => {
    // ip netns exec puts /etc/netns/NS/hosts over /etc/hosts: the name lives there, and DNS
    // goes to 127.0.0.1 in the namespace, where nobody answers (nothing leaves the test).
    const etc = `/etc/netns/${R}`;
    mkdirSync(etc, { recursive: true });
    t.teardown(() => rmSync(etc, { recursive: true, force: true }));
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n198.51.100.2 gw.example.net\n');
    const proxy = rtr.startProxy(registrarConf.replace('outbound 198.51.100.1', 'outbound gw.example.net\noutbound-check 1'));
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.match(proxy.log(), /registrations restored/, 'alice\'s registration is back from the file');
    t.match(proxy.log(), /outbound=198\.51\.100\.2 /, 'the name\'s address');
    sh(`ip -n ${R} addr add 198.51.100.3/24 dev m-wan`);
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n198.51.100.3 gw.example.net\n'); // the dynamic DNS record changes
    t.ok(await waitFor(() => /public address changed: new calls and registrations use the new one was=198\.51\.100\.2 now=198\.51\.100\.3/.test(proxy.log()), 8000, 100), 'the proxy follows the name to the new address');
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 32040, name: 'alice4', rtp: 40660 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 32042, name: 'carol4', rtp: 40670, vars: { callee: 'alice' }, remote: '198.51.100.3:5060', pauseMs: CALL_MS },
      ['alice answers', 'carol calls alice at the name\'s new address']);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('advertise LOCAL NAME: behind a router whose address changes, the proxy writes the name\'s address', async (t) => {
    // The router in front: the world reaches 198.51.100.5 (later .6), forwarded to the proxy's
    // own 198.51.100.4; what the proxy sends leaves as the router's address.
    const etc = `/etc/netns/${R}`;
    mkdirSync(etc, { recursive: true });
    t.teardown(() => {
      rmSync(etc, { recursive: true, force: true });
      sh(`ip netns exec ${R} nft delete table ip home 2>/dev/null || true`);
    });
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n198.51.100.5 home.example.net\n');
    sh(`ip -n ${R} addr add 198.51.100.4/24 dev m-wan && ip -n ${R} addr add 198.51.100.5/32 dev m-wan`);
    const router = (pub: string) => sh(`ip netns exec ${R} nft -f - <<'EOF'
table ip home
delete table ip home
table ip home {
  chain pre { type nat hook prerouting priority dstnat; iifname "m-wan" ip daddr ${pub} dnat to 198.51.100.4; }
  chain post { type nat hook postrouting priority srcnat - 1; oifname "m-wan" ip saddr 198.51.100.4 snat to ${pub}; }
}
EOF`);
    router('198.51.100.5');
    const proxy = rtr.startProxy(registrarConf.replace('outbound 198.51.100.1', 'outbound 198.51.100.4\nadvertise 198.51.100.4 home.example.net\noutbound-check 1'));
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.match(proxy.log(), /advertised="?198\.51\.100\.4=home\.example\.net=198\.51\.100\.5/, 'the name is resolved at start');
    const r = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 32048, { user: 'alice', domain: 'example.net' }, '192.0.2.1:5060', undefined, ['-au', 'alice', '-ap', 'alice-pw']);
    t.equal(r.code, 0, `alice registers with our registrar${tail(r)}`);
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 32050, name: 'alice5', rtp: 40680 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 32052, name: 'carol5', rtp: 40690, vars: { callee: 'alice' }, remote: '198.51.100.5:5060', pauseMs: CALL_MS },
      ['alice answers', 'carol calls alice at the router\'s address']);
    t.match(JSON.stringify(await pub.peerResult('carol5')), /"dest":"198\.51\.100\.5:\d+"/, 'the SDP names the router\'s address');

    // alice calls carol, and the ISP gives the router a new address during the call; the
    // dynamic DNS record follows.
    const mark = proxy.log().length;
    const carolUp = pub.sipp('uas.xml', '198.51.100.30', 5062, 32054, pub.media('carol5b', '198.51.100.30', 40740));
    await sleep(300);
    const aliceUp = lan.sipp('nat-uac.xml', '192.0.2.10', 5060, 32056, { ...lan.media('alice5b', '192.0.2.10', 40750), callee: 'carol', domain: '198.51.100.30:5062' }, '192.0.2.1:5060', 8000);
    t.ok(await waitFor(() => /sip out from=192\.0\.2\.1:5060 to=192\.0\.2\.10:5060 [^\n]*first="SIP\/2\.0 200/.test(proxy.log().slice(mark)), 10000, 100), 'carol answers alice');
    sh(`ip -n ${R} addr del 198.51.100.5/32 dev m-wan && ip -n ${R} addr add 198.51.100.6/32 dev m-wan`);
    router('198.51.100.6');
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n198.51.100.6 home.example.net\n');
    t.ok(await waitFor(() => /advertised address changed: new calls and registrations use the new one name=home\.example\.net was=198\.51\.100\.5 now=198\.51\.100\.6/.test(proxy.log()), 8000, 100), 'the proxy follows the name');
    // Her BYE's route set names the former address: still ours, so it goes on to carol (from
    // the new one), not out to 198.51.100.5, which the ISP may give to someone else.
    const [aliceEnd, carolEnd] = await Promise.all([aliceUp, carolUp]);
    const changedAt = proxy.log().indexOf('advertised address changed');
    const byeAt = proxy.log().search(/sip in [^\n]*first="BYE sip:carol5b@198\.51\.100\.30:5062/);
    t.ok(changedAt >= 0 && byeAt > changedAt, 'alice hung up after the change');
    t.equal(aliceEnd.code, 0, `her BYE is answered${tail(aliceEnd)}`);
    t.equal(carolEnd.code, 0, `carol gets it${tail(carolEnd)}`);
    t.match(proxy.log(), /sip out from=198\.51\.100\.4:5060 to=198\.51\.100\.30:5062 [^\n]*first="BYE sip:carol5b@198\.51\.100\.30:5062/, 'to carol, from the address the router now sends as .6');
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 32060, name: 'alice6', rtp: 40700 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 32062, name: 'carol6', rtp: 40710, vars: { callee: 'alice' }, remote: '198.51.100.6:5060', pauseMs: CALL_MS },
      ['alice answers', 'carol calls alice at the new address']);
    t.match(JSON.stringify(await pub.peerResult('carol6')), /"dest":"198\.51\.100\.6:\d+"/, 'and its media goes there');
    await call(t, { w: pub, ip: '198.51.100.30', port: 5062, mp: 32070, name: 'carol7', rtp: 40720 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 32072, name: 'alice7', rtp: 40730, vars: { callee: 'carol', domain: '198.51.100.30:5062' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers', 'alice calls carol']);
    t.match(JSON.stringify(await lan.peerResult('alice7')), /"dest":"192\.0\.2\.1:\d+"/, 'alice\'s media goes to the proxy\'s LAN side');
    t.match(JSON.stringify(await pub.peerResult('carol7')), /"dest":"198\.51\.100\.6:\d+"/, 'carol\'s to the router\'s new address');
    t.match(await rtr.http('/metrics'), /sipproxy64_public_address_changes_total 1\b/, 'counted');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });
}
