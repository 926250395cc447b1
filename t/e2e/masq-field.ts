// Masquerading in the field (issue 17), in the namespaces of t/lib/masqnet.ts: default-target
// and a held call, an upstream proxy (outbound-proxy), a dual-stack line with an IPv4 and an
// IPv6 provider at once, and keep-alives for a teleworker's phone behind a NAT of its own.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { CALL_MS, E2E, tail, World } from '../lib/world.js';
import { masqNet, sh } from '../lib/masqnet.js';

const net = masqNet('f');
if (net) {
  const { lan, rtr, pub, P, base, regFile, registrarConf, call } = net;
  t.test('default-target takes a call no registration matches; held, it outlives rtp-timeout (issue 17)', async (t) => {
    const proxy = rtr.startProxy(base + 'default-target sip:reception@192.0.2.11:5062\nrtp-hold-timeout 3600\n');
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    // carol calls nobody@ our public address: no phone registered that user through us.
    const uas = lan.sipp('uas-hold.xml', '192.0.2.11', 5062, 31300, { user: 'reception', mediaip: '192.0.2.11', rtpport: '40300' });
    await sleep(300);
    const uac = pub.sipp('uac-hold.xml', '198.51.100.30', 5060, 31302, { user: 'carol', callee: 'nobody', mediaip: '198.51.100.30', rtpport: '40310' }, '198.51.100.1:5060', 12000);
    const sessions = async (): Promise<Array<{ held: boolean }>> => JSON.parse((await rtr.http('/sessions')) || '[]');
    t.ok(await waitFor(async () => (await sessions()).some((x) => x.held), 8000, 200), 'the reception phone answered, and the call is on hold');
    await sleep(7000); // rtp-timeout 5 s and a sweep
    t.equal((await sessions()).length, 1, 'past rtp-timeout the held stream is still there');
    const [c, u] = await Promise.all([uac, uas]);
    t.equal(c.code, 0, `carol's call to an unregistered user is answered by the default target and ended by her BYE${tail(c)}`);
    t.equal(u.code, 0, `the reception phone (default-target) took the call, the hold and the BYE${tail(u)}`);
    t.match(proxy.log(), /sip out from=192\.0\.2\.1:5060 to=192\.0\.2\.11:5062 \S+ first="INVITE sip:reception@192\.0\.2\.11:5062/, 'the INVITE went to the default target');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('outbound-proxy: the LAN\'s calls to a domain go through its upstream proxy (issue 17)', async (t) => {
    const proxy = rtr.startProxy(base + 'outbound-proxy provider.example 198.51.100.30:5070\n');
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    // The "upstream proxy" is a SIPp UAS on 198.51.100.30:5070 that answers the call itself.
    await call(t, { w: pub, ip: '198.51.100.30', port: 5070, mp: 31400, name: 'upstream8', rtp: 40400 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.11', port: 5060, mp: 31402, name: 'bob8', rtp: 40410, vars: { callee: 'carol', domain: 'provider.example' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['the upstream proxy receives and answers the call', 'bob calls carol@provider.example']);
    const seen = spawnSync('sh', ['-c', `cat ${pub.dir}/uas*_messages.log`], { encoding: 'utf8' }).stdout;
    t.match(seen, /INVITE sip:carol@provider\.example[^\n]*\n(?:[^\n]*\n)*?Route: <sip:198\.51\.100\.30:5070;lr>/, 'with itself pushed as the top Route and the Request-URI unchanged');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('a dual-stack line: outbound once per family, an IPv4 and an IPv6 provider at once (issue 17)', async (t) => {
    const kam6 = await pub.kamailio([], mkdtempSync(join(pub.dir, 'kam6-')));
    const kam4 = await pub.kamailio(['NAT4']);
    t.teardown(() => {
      kam6.kill('SIGKILL');
      kam4.kill('SIGKILL');
    });
    const proxy = rtr.startProxy(base.replace('outbound 198.51.100.1', 'outbound 198.51.100.1\noutbound 2001:db8:1::1').replace(`registrations ${regFile}`, `registrations ${regFile}.dual`));
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    t.match(proxy.log(), /outbound=198\.51\.100\.1,2001:db8:1::1/, 'both public addresses');
    const r4 = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 31500, { user: 'alice', domain: '198.51.100.20' }, '192.0.2.1:5060');
    t.equal(r4.code, 0, `alice registers at the IPv4 provider${tail(r4)}`);
    const r6 = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 31502, { user: 'alice', domain: '[2001:db8:1::5]' }, '192.0.2.1:5060');
    t.equal(r6.code, 0, `and at the IPv6 provider${tail(r6)}`);
    t.match(proxy.log(), /sip out from=198\.51\.100\.1:5060 to=198\.51\.100\.20:5060 \S+ first="REGISTER/, 'the REGISTER to the IPv4 provider leaves from the public IPv4 address');
    t.match(proxy.log(), /sip out from=\[2001:db8:1::1\]:5060 to=\[2001:db8:1::5\]:5060 \S+ first="REGISTER/, 'the one to the IPv6 provider from the public IPv6 address');
    for (const [ip, port, mp, prov] of [['198.51.100.30', 5062, 31504, '198.51.100.20:5060'], ['2001:db8:1::20', 5062, 31506, '[2001:db8:1::5]:5060']] as const) {
      const reg = await pub.sipp('register.xml', ip, port, mp, { user: 'carol' }, prov);
      t.equal(reg.code, 0, `carol registers at ${prov} from ${ip}`);
    }
    // One LAN phone calls a party at each provider, each call out in its own family.
    await call(t, { w: pub, ip: '198.51.100.30', port: 5062, mp: 31510, name: 'carol9', rtp: 40500 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 31512, name: 'alice9', rtp: 40510, vars: { callee: 'carol', domain: '198.51.100.20' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers over IPv4', 'alice calls carol at the IPv4 provider']);
    await call(t, { w: pub, ip: '2001:db8:1::20', port: 5062, mp: 31520, name: 'carol10', rtp: 40520 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 31522, name: 'alice10', rtp: 40530, vars: { callee: 'carol', domain: '[2001:db8:1::5]' }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers over IPv6', 'alice calls carol at the IPv6 provider']);
    // And the incoming calls arrive on either.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31530, name: 'alice11', rtp: 40540 },
      { w: pub, scenario: 'uac.xml', ip: '2001:db8:1::20', port: 5060, mp: 31532, name: 'carol11', rtp: 40550, vars: { callee: 'alice' }, remote: '[2001:db8:1::5]:5060', pauseMs: CALL_MS },
      ['alice answers a call from the IPv6 provider', 'carol calls alice over IPv6']);
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31540, name: 'alice12', rtp: 40560 },
      { w: pub, scenario: 'uac.xml', ip: '198.51.100.30', port: 5060, mp: 31542, name: 'carol12', rtp: 40570, vars: { callee: 'alice' }, remote: '198.51.100.20:5060', pauseMs: CALL_MS },
      ['alice answers a call from the IPv4 provider', 'carol calls alice over IPv4']);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('keepalive: a teleworker\'s phone behind its own NAT stays reachable (issue 17)', async (t) => {
    // A home network behind the public side: 10.0.0.5 behind a router (the public namespace)
    // that translates it to 198.51.100.40 and forgets a UDP mapping after 6 s of silence.
    const home = new World('mhome');
    t.teardown(() => home.destroy());
    home.ns.setup([]);
    const H = home.ns.name;
    sh(`ip link add m-home netns ${P} type veth peer name m-phone netns ${H}`);
    sh(`ip -n ${H} addr add 10.0.0.5/24 dev m-phone && ip -n ${H} link set m-phone up && ip -n ${H} route add default via 10.0.0.1`);
    sh(`ip -n ${P} addr add 10.0.0.1/24 dev m-home && ip -n ${P} link set m-home up && ip -n ${P} addr add 198.51.100.40/24 dev m-pub && ip netns exec ${P} sysctl -qw net.ipv4.ip_forward=1`);
    sh(`ip netns exec ${P} nft -f - <<'EOF'
table ip home {
  chain post { type nat hook postrouting priority srcnat; oifname "m-pub" ip saddr 10.0.0.0/24 snat to 198.51.100.40; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "m-home" accept; }
}
EOF`);
    sh(`ip netns exec ${P} sysctl -qw net.netfilter.nf_conntrack_udp_timeout=6 net.netfilter.nf_conntrack_udp_timeout_stream=6`);
    t.equal(spawnSync('ip', ['netns', 'exec', P, 'sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout_stream'], { encoding: 'utf8' }).stdout.trim(), '6', 'the home router forgets a UDP mapping after 6 s');
    const proxy = rtr.startProxy(registrarConf + 'keepalive 2\n');
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const reg = await home.sipp('nat-register.xml', '10.0.0.5', 5060, 31600, { user: 'bob', domain: 'example.net' }, '198.51.100.1:5060', undefined, ['-au', 'bob', '-ap', 'bob-pw']);
    t.equal(reg.code, 0, `bob registers from home, through his NAT, at our registrar${tail(reg)}`);
    // He answers the keep-alives (SIPp -aa); nothing else passes his NAT.
    const phone = home.ns.start('sipp', ['-sf', join(E2E, 'scenarios', 'uas.xml'), '-i', '10.0.0.5', '-p', '5060', '-mp', '31602', '-m', '1', '-aa', '-nostdin', '-trace_msg', '-set', 'user', 'bob', '-set', 'mediaip', '10.0.0.5', '-set', 'rtpport', '40600', '-set', 'peer', '/bin/true', '-set', 'count', '0', '-set', 'out', '/dev/null'], { cwd: home.dir });
    await sleep(9000); // longer than his NAT keeps a silent mapping
    const seen = (): string => spawnSync('sh', ['-c', `cat ${home.dir}/uas*_messages.log 2>/dev/null`], { encoding: 'utf8' }).stdout;
    t.ok((seen().match(/OPTIONS sip:bob@10\.0\.0\.5/g) ?? []).length >= 3, 'keep-alives reach him through his NAT, every 2 s');
    t.match(await rtr.http('/metrics'), /sipproxy64_sip_drops_total\{reason="keepalive-answered"\} [2-9]/, 'and his answers come back and are taken');
    // 9 s after he registered, a call from the LAN still finds his NAT open.
    const caller = lan.sipp('nat-uac.xml', '192.0.2.10', 5060, 31604, { ...lan.media('alice13', '192.0.2.10', 40610), callee: 'bob', domain: 'example.net' }, '192.0.2.1:5060', 500, ['-timeout', '6']);
    t.ok(await waitFor(() => /INVITE sip:bob@10\.0\.0\.5:5060 SIP\/2\.0/.test(seen()), 8000, 200), 'the INVITE reaches his phone at home, through his NAT');
    await caller;
    // He goes away: after three unanswered rounds his binding is dropped.
    phone.kill('SIGKILL');
    t.ok(await waitFor(() => /keep-alive: a phone stopped answering; its binding is dropped aor=bob@example\.net/.test(proxy.log()), 15000, 200), 'a phone that stops answering loses its binding');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

}
