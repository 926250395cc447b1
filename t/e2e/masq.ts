// Masquerading end to end (sipproxy64(8) MASQUERADING), in three namespaces made here:
//   LAN     alice 192.0.2.10, bob 192.0.2.11 (SIPp phones), default route via the router
//   router  192.0.2.1 (LAN) and 198.51.100.1 (public), IPv4 forwarding with an nftables (or
//           iptables) masquerade, and sipproxy64 with inbound/outbound
//   public  Kamailio as the provider's registrar at 198.51.100.20, SIPp carol at 198.51.100.30;
//           later an IPv6 public side: router 2001:db8:1::1, Kamailio 2001:db8:1::5, carol ::20
// Outbound-proxy operation through Kamailio, then our own registrar with digest, a restart
// that keeps the registrations, and a wrong password refused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { CALL_MS, cannotRun, E2E, tail, World } from '../lib/world.js';

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

const hasNft = spawnSync('sh', ['-c', 'command -v nft']).status === 0;
const hasIptables = spawnSync('sh', ['-c', 'command -v iptables']).status === 0;
if (!cannotRun(hasNft || hasIptables ? null : "neither nft nor iptables is installed")) {
  const lan = new World('mlan');
  const rtr = new World('mrtr');
  const pub = new World('mpub');
  t.teardown(() => {
    lan.destroy();
    rtr.destroy();
    pub.destroy();
  });
  for (const w of [lan, rtr, pub]) w.ns.setup([]); // no addresses on lo: the links carry them
  const [L, R, P] = [lan.ns.name, rtr.ns.name, pub.ns.name];
  sh(`ip link add m-lan netns ${L} type veth peer name m-rlan netns ${R}`);
  sh(`ip link add m-wan netns ${R} type veth peer name m-pub netns ${P}`);
  sh(`ip -n ${L} addr add 192.0.2.10/24 dev m-lan && ip -n ${L} addr add 192.0.2.11/24 dev m-lan && ip -n ${L} link set m-lan up && ip -n ${L} route add default via 192.0.2.1`);
  sh(`ip -n ${R} addr add 192.0.2.1/24 dev m-rlan && ip -n ${R} link set m-rlan up && ip -n ${R} addr add 198.51.100.1/24 dev m-wan && ip -n ${R} link set m-wan up`);
  sh(`ip -n ${P} addr add 198.51.100.20/24 dev m-pub && ip -n ${P} addr add 198.51.100.30/24 dev m-pub && ip -n ${P} link set m-pub up && ip -n ${P} route add default via 198.51.100.1`);
  sh(`ip -n ${R} -6 addr add 2001:db8:1::1/64 dev m-wan nodad && ip -n ${P} -6 addr add 2001:db8:1::5/64 dev m-pub nodad && ip -n ${P} -6 addr add 2001:db8:1::20/64 dev m-pub nodad`);
  sh(`ip netns exec ${R} sysctl -qw net.ipv4.ip_forward=1`);
  // The router's NAT: the LAN leaves masqueraded; nothing from outside enters the LAN unasked.
  if (hasNft) {
    sh(`ip netns exec ${R} nft -f - <<'EOF'
table ip masq {
  chain post { type nat hook postrouting priority srcnat; oifname "m-wan" ip saddr 192.0.2.0/24 masquerade; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "m-rlan" accept; }
}
EOF`);
  } else {
    sh(`ip netns exec ${R} iptables -t nat -A POSTROUTING -o m-wan -s 192.0.2.0/24 -j MASQUERADE && ip netns exec ${R} iptables -P FORWARD DROP && ip netns exec ${R} iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT && ip netns exec ${R} iptables -A FORWARD -i m-rlan -j ACCEPT`);
  }
  const regFile = join(rtr.dir, 'registrations.json');
  const base = `inbound 192.0.2.1
outbound 198.51.100.1
rtp-ports 30000-30099
rtp-timeout 5
registrations ${regFile}
metrics 127.0.0.1:9064
`;
  writeFileSync(join(rtr.dir, 'passwd'), 'alice alice-pw\nbob bob-pw\n');
  // SIPp 3.6 answers only the first challenge and only MD5: offer MD5 first for it.
  const registrarConf = base + `registrar yes\ndomain example.net\npasswd ${join(rtr.dir, 'passwd')}\ndigest-algorithms md5,sha-256\n`;
  const statusConf = join(rtr.dir, 'status.conf');
  writeFileSync(statusConf, base);
  type Tap = { ok(v: unknown, msg: string): void; equal(a: unknown, b: unknown, msg: string): void };
  const checkMedia = async (t: Tap, pairs: Array<[World, string]>) => {
    for (const [w, name] of pairs) {
      const r = await w.peerResult(name);
      t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
    }
  };
  interface Phone { w: World; ip: string; port: number; mp: number; name: string; rtp: number }
  /** One call with RTP: `uas` answers, `uac` calls; says[0] is the answer's check, says[1] the call's. */
  const call = async (t: Tap, uas: Phone, uac: Phone & { scenario: string; vars: Record<string, string>; remote: string; pauseMs: number }, says: [string, string]) => {
    const answered = uas.w.sipp('uas.xml', uas.ip, uas.port, uas.mp, uas.w.media(uas.name, uas.ip, uas.rtp));
    await sleep(300);
    const c = await uac.w.sipp(uac.scenario, uac.ip, uac.port, uac.mp, { ...uac.w.media(uac.name, uac.ip, uac.rtp), ...uac.vars }, uac.remote, uac.pauseMs);
    const u = await answered;
    t.equal(c.code, 0, `${says[1]}${tail(c)}`);
    t.equal(u.code, 0, `${says[0]}${tail(u)}`);
    await checkMedia(t, [[uas.w, uas.name], [uac.w, uac.name]]);
  };

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
