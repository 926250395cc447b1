// Masquerading end to end (sipproxy64(8) MASQUERADING), in the namespaces of t/lib/masqnet.ts:
// outbound-proxy operation through Kamailio on an IPv4 and an IPv6 public side, then our own
// registrar with digest, a restart that keeps the registrations, and a wrong password refused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { waitFor } from '../lib/netns.js';
import { CALL_MS, tail } from '../lib/world.js';
import { masqNet } from '../lib/masqnet.js';

const net = masqNet('m');
if (net) {
  const { lan, rtr, pub, base, regFile, registrarConf, statusConf, call } = net;
  t.test('outbound-proxy operation: phones registered at a provider behind the NAT', async (t) => {
    const kam = await pub.kamailio(['NAT4']);
    t.teardown(() => void kam.kill('SIGKILL'));
    const proxy = rtr.startProxy(base);
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.match(proxy.log(), /inbound=192\.0\.2\.1\/24/, 'the LAN prefix is read from the interface');
    for (const [user, ip] of [['alice', '192.0.2.10'], ['bob', '192.0.2.11']]) {
      const r = await lan.sipp('nat-register.xml', ip, 5060, 31000, { user, domain: '198.51.100.20' }, '192.0.2.1:5060');
      t.equal(r.code, 0, `${user} registers at the provider through the proxy${tail(r)}`);
    }
    t.match(pub.kamailioLog, /REGISTER sip:alice@198\.51\.100\.20 contact <sip:alice@198\.51\.100\.1:5060;sp64n=192\.0\.2\.10-5060-[0-9a-f]{12}>/, 'the provider sees our public address, the phone in ;sp64n=');
    const reg = await pub.sipp('register.xml', '198.51.100.30', 5062, 31002, { user: 'carol' }, '198.51.100.20:5060');
    t.equal(reg.code, 0, 'carol registers at the provider directly');

    // 1. The Internet calls a LAN phone.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31010, name: 'alice1', rtp: 40000 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 31012, name: 'carol1', rtp: 40010, vars: { callee: 'alice' }, remote: '198.51.100.20:5060', pauseMs: CALL_MS },
      ['alice answers behind the NAT', 'carol calls alice through the provider']);
    // 2. A LAN phone calls the Internet.
    await call(t, { w: pub, ip: '198.51.100.30', port: 5062, mp: 31020, name: 'carol2', rtp: 40020 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.11', port: 5060, mp: 31022, name: 'bob2', rtp: 40030, vars: { callee: 'carol', domain: '198.51.100.20' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers', 'bob calls carol out through the NAT']);
    // 3. Hairpin through the provider: bob calls alice at the provider, the call comes back.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31030, name: 'alice3', rtp: 40040 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.11', port: 5060, mp: 31032, name: 'bob3', rtp: 40050, vars: { callee: 'alice', domain: '198.51.100.20' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['alice answers the hairpin call', 'bob calls alice through the provider']);
    const st = await rtr.cli(['status', '-c', statusConf]);
    t.equal(st.code, 0, `status runs${st.stderr}`);
    t.match(st.stdout, /outbound\s+alice\s+sip:alice@192\.0\.2\.10:5060\s+192\.0\.2\.10:5060\s+\d+s/, 'status lists the phones registered through the proxy');
    t.ok(await waitFor(() => rtr.relaySockets().length === 0, 8000, 200), 'no relay socket left after the calls');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
    kam.kill('SIGKILL');
    await new Promise((r) => kam.once('exit', r));
  });

  t.test('IPv6 public side: IPv4 LAN phones at an IPv6 provider', async (t) => {
    const kam = await pub.kamailio();
    t.teardown(() => void kam.kill('SIGKILL'));
    const conf6 = base.replace('outbound 198.51.100.1', 'outbound 2001:db8:1::1').replace(`registrations ${regFile}`, `registrations ${regFile}.v6`);
    const proxy = rtr.startProxy(conf6);
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const r = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 31200, { user: 'alice', domain: '[2001:db8:1::5]' }, '192.0.2.1:5060');
    t.equal(r.code, 0, `alice (IPv4) registers at the IPv6 provider${tail(r)}`);
    t.match(pub.kamailioLog, /REGISTER sip:alice@\[2001:db8:1::5\] contact <sip:alice@\[2001:db8:1::1\]:5060;sp64n=192\.0\.2\.10-5060-[0-9a-f]{12}>/, 'her contact is the public IPv6 address');
    const reg = await pub.sipp('register.xml', '2001:db8:1::20', 5062, 31202, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(reg.code, 0, 'carol (IPv6) registers directly');
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31210, name: 'alice6', rtp: 40100 },
      { w: pub, scenario: 'uac.xml', ip: '2001:db8:1::20', port: 5060, mp: 31212, name: 'carol6', rtp: 40110, vars: { callee: 'alice' }, remote: '[2001:db8:1::5]:5060', pauseMs: CALL_MS },
      ['alice answers over IPv4', 'carol calls alice over IPv6']);
    await call(t, { w: pub, ip: '2001:db8:1::20', port: 5062, mp: 31220, name: 'carol7', rtp: 40120 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 31222, name: 'alice7', rtp: 40130, vars: { callee: 'carol', domain: '[2001:db8:1::5]' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers', 'alice calls carol, out over IPv6']);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
    kam.kill('SIGKILL');
    await new Promise((r) => kam.once('exit', r));
  });

  t.test('registrar operation: digest, hairpin on the LAN, restart keeps registrations', async (t) => {
    let proxy = rtr.startProxy(registrarConf);
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const bad = await lan.sipp('nat-register-refused.xml', '192.0.2.10', 5060, 31100, { user: 'alice', domain: 'example.net' }, '192.0.2.1:5060', undefined, ['-au', 'alice', '-ap', 'wrong']);
    t.equal(bad.code, 0, `a wrong password is refused with 401${tail(bad)}`);
    t.notMatch(proxy.log(), /wrong|alice-pw/, 'passwords never reach the log');
    for (const [user, ip] of [['alice', '192.0.2.10'], ['bob', '192.0.2.11']]) {
      const r = await lan.sipp('nat-register.xml', ip, 5060, 31102, { user, domain: 'example.net' }, '192.0.2.1:5060', undefined, ['-au', user, '-ap', `${user}-pw`]);
      t.equal(r.code, 0, `${user} registers with digest credentials${tail(r)}`);
    }
    // Hairpin on the LAN: the call goes straight to alice's contact; media flows phone to phone.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31110, name: 'alice4', rtp: 40060 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.11', port: 5060, mp: 31112, name: 'bob4', rtp: 40070, vars: { callee: 'alice', domain: 'example.net' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['alice answers', 'bob calls alice@example.net']);
    t.ok(await waitFor(() => spawnSync('cat', [regFile]).stdout.toString().includes('alice@example.net'), 3000), 'registrations saved to the file');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'stopped');
    proxy = rtr.startProxy(registrarConf);
    t.ok(await rtr.proxyUp(proxy), 'restarted');
    t.match(proxy.log(), /registrations restored/, 'registrations restored from the file');
    // The Internet calls alice at our public address: found by the restored registration.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31120, name: 'alice5', rtp: 40080 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 31122, name: 'carol5', rtp: 40090, vars: { callee: 'alice' }, remote: '198.51.100.1:5060', pauseMs: CALL_MS },
      ['alice answers', 'carol calls alice@198.51.100.1 after the restart']);
    const st = await rtr.cli(['status', '-c', statusConf]);
    t.match(st.stdout, /registrar\s+alice@example\.net\s+sip:alice@192\.0\.2\.10:5060/, 'status lists the registrar bindings');
    t.match(st.stdout, /registrar\s+bob@example\.net\s+sip:bob@192\.0\.2\.11:5060/, 'both of them');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });
}
