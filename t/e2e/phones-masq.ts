// Real softphones through masquerading (sipproxy64(8) MASQUERADING): baresip on a LAN behind
// a router that masquerades (nftables or iptables) and runs sipproxy64 with inbound/outbound;
// Kamailio as the provider on the public side, and a second baresip there, each phone in a
// namespace of its own (so that its RTP leaves from its own address):
//   alice 192.0.2.10 --- router 192.0.2.1 | 198.51.100.1 --- br0: Kamailio 198.51.100.20 --- carol 198.51.100.30
// alice uses the proxy as her outbound proxy and registers at the provider; each calls the
// other, and each hears the other's tone. Then the same with the public side in IPv6
// (carol 2001:db8:1::20, Kamailio 2001:db8:1::5, the router 2001:db8:1::1).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Baresip, baresipMissing, callAndHear, failed, phonesUp } from '../lib/baresip.js';
import { masquerade, masqMissing, sh } from '../lib/masqnet.js';
import { waitFor } from '../lib/netns.js';
import { cannotRun, World } from '../lib/world.js';

const ALICE_HZ = 440;
const CAROL_HZ = 1000;

if (!cannotRun(baresipMissing() ?? masqMissing())) {
  const lan = new World('pml');
  const rtr = new World('pmr');
  const pub = new World('pmp');
  const far = new World('pmc');
  t.teardown(() => {
    for (const w of [lan, rtr, pub, far]) w.destroy();
  });
  for (const w of [lan, rtr, pub, far]) w.ns.setup([]);
  const [L, R, P, K] = [lan.ns.name, rtr.ns.name, pub.ns.name, far.ns.name];
  sh(`ip link add p-phone netns ${L} type veth peer name m-rlan netns ${R}`);
  sh(`ip link add m-wan netns ${R} type veth peer name m-pub netns ${P}`);
  sh(`ip link add p-phone netns ${K} type veth peer name m-far netns ${P}`);
  sh(`ip -n ${L} addr add 192.0.2.10/24 dev p-phone && ip -n ${L} link set p-phone up && ip -n ${L} route add default via 192.0.2.1`);
  sh(`ip -n ${R} addr add 192.0.2.1/24 dev m-rlan && ip -n ${R} link set m-rlan up && ip -n ${R} addr add 198.51.100.1/24 dev m-wan && ip -n ${R} link set m-wan up`);
  sh(`ip netns exec ${R} sysctl -qw net.ipv4.ip_forward=1`);
  masquerade(R);
  // The public side: one segment (a bridge) for the router, the provider and carol.
  sh(`ip -n ${P} link add br0 type bridge && ip -n ${P} link set m-pub master br0 && ip -n ${P} link set m-far master br0 && ip -n ${P} addr add 198.51.100.20/24 dev br0 && for d in m-pub m-far br0; do ip -n ${P} link set $d up; done`);
  sh(`ip -n ${K} addr add 198.51.100.30/24 dev p-phone && ip -n ${K} link set p-phone up`);
  // And in IPv6: the router 2001:db8:1::1, Kamailio 2001:db8:1::5, carol 2001:db8:1::20.
  sh(`ip -n ${R} -6 addr add 2001:db8:1::1/64 dev m-wan nodad && ip -n ${P} -6 addr add 2001:db8:1::5/64 dev br0 nodad && ip -n ${K} -6 addr add 2001:db8:1::20/64 dev p-phone nodad`);

  /** One public side: the provider, the router's public address and carol in that family. */
  const sides = [
    { name: 'IPv4', defines: ['NAT4'], outbound: '198.51.100.1', provider: '198.51.100.20', carol: '198.51.100.30', rtp: '40020-40039' },
    { name: 'IPv6', defines: [], outbound: '2001:db8:1::1', provider: '[2001:db8:1::5]', carol: '2001:db8:1::20', rtp: '40040-40059' },
  ];
  for (const side of sides) t.test(`baresip behind the masquerading proxy calls the Internet and is called (${side.name} public side), heard both ways`, async (t) => {
    const kam = await pub.kamailio(side.defines);
    t.teardown(() => new Promise<void>((r) => (kam.exitCode !== null ? r() : (kam.once('exit', () => r()), kam.kill('SIGKILL')))));
    const proxy = rtr.startProxy(`inbound 192.0.2.1\noutbound ${side.outbound}\nrtp-ports 30000-30099\nrtp-timeout 5\n`);
    t.ok(await rtr.proxyUp(proxy), 'proxy started' + (proxy.child.exitCode === null ? '' : proxy.log().slice(-400)));
    const alice = new Baresip(lan, '192.0.2.10', `<sip:alice@${side.provider}>;outbound="sip:192.0.2.1;lr";regint=600;answermode=auto`, ALICE_HZ, '40000-40019');
    const carol = new Baresip(far, side.carol, `<sip:carol@${side.provider}>;regint=600;answermode=auto`, CAROL_HZ, side.rtp);
    t.teardown(() => Promise.all([alice.stop(), carol.stop()]));
    t.ok((await alice.ready()) && (await carol.ready()), 'both phones run');
    t.ok(await alice.registered(), `alice (IPv4 LAN) registers at the ${side.name} provider through the proxy`);
    t.ok(await carol.registered(), `carol (${side.name}) registers at the provider`);
    const esc = (x: string) => x.replace(/[.[\]]/g, '\\$&');
    const pubHost = side.outbound.includes(':') ? `[${side.outbound}]` : side.outbound;
    t.match(pub.kamailioLog, new RegExp(`REGISTER sip:alice@${esc(side.provider)} contact <sip:alice-\\w+@${esc(pubHost)}:5060;sp64n=192\\.0\\.2\\.10-5060-[0-9a-f]{12}>`), 'the provider sees the public address, the phone in ;sp64n=');
    await callAndHear(t, alice, carol, `sip:carol@${side.provider}`, [ALICE_HZ, CAROL_HZ], ['alice', 'carol']);
    await callAndHear(t, carol, alice, `sip:alice@${side.provider}`, [CAROL_HZ, ALICE_HZ], ['carol', 'alice']);
    t.ok(await waitFor(() => rtr.relaySockets().length === 0, 8000, 200), 'no relay socket left after the calls');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  // A teleworker: bob's baresip at home (10.0.0.5) behind a NAT of its own (in the public
  // namespace: translated to 198.51.100.40, nothing new comes in) registers over TCP at the
  // proxy's registrar. His Contact names 10.0.0.5, so he is called on the connection he
  // registered on (RFC 5626 5.3), which his registration, not tcp-idle (2 s), keeps open.
  t.test('baresip behind a NAT of its own registers over TCP at our registrar and is called after tcp-idle', async (t) => {
    const home = new World('pmh');
    t.teardown(() => home.destroy());
    home.ns.setup([]);
    const H = home.ns.name;
    sh(`ip link add p-phone netns ${H} type veth peer name m-home netns ${P}`);
    sh(`ip -n ${H} addr add 10.0.0.5/24 dev p-phone && ip -n ${H} link set p-phone up && ip -n ${H} route add default via 10.0.0.1`);
    sh(`ip -n ${P} addr add 10.0.0.1/24 dev m-home && ip -n ${P} link set m-home up && ip -n ${P} addr add 198.51.100.40/24 dev br0 && ip netns exec ${P} sysctl -qw net.ipv4.ip_forward=1`);
    sh(`ip netns exec ${P} nft -f - <<'EOF'
table ip home {
  chain post { type nat hook postrouting priority srcnat; oifname "br0" ip saddr 10.0.0.0/24 snat to 198.51.100.40; }
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "m-home" accept; }
}
EOF`);
    t.teardown(() => sh(`ip netns exec ${P} nft delete table ip home`));
    const passwd = join(rtr.dir, 'passwd');
    writeFileSync(passwd, 'alice alice-pw\nbob bob-pw\n');
    const proxy = rtr.startProxy(`inbound 192.0.2.1\noutbound 198.51.100.1\nrtp-ports 30000-30099\nrtp-timeout 5\nregistrar yes\ndomain 198.51.100.1\npasswd ${passwd}\ndigest-algorithms md5\ntcp yes\ntcp-idle 2\nregistrations ${join(rtr.dir, 'reg.json')}\nmetrics 127.0.0.1:9064\n`);
    t.ok(await rtr.proxyUp(proxy), 'proxy started' + (proxy.child.exitCode === null ? '' : proxy.log().slice(-400)));
    const alice = new Baresip(lan, '192.0.2.10', '<sip:alice@198.51.100.1>;auth_pass=alice-pw;outbound="sip:192.0.2.1;lr";regint=600;answermode=auto', ALICE_HZ, '40000-40019');
    const bob = new Baresip(home, '10.0.0.5', '<sip:bob@198.51.100.1;transport=tcp>;auth_pass=bob-pw;regint=600;answermode=auto', CAROL_HZ, '40060-40079');
    await phonesUp(t, [alice, bob], 'alice registers from the LAN, bob from home over TCP', ['UDP', 'TCP']);
    // Nothing on his connection for twice tcp-idle: his 600 s keep it open.
    await new Promise((r) => setTimeout(r, 4000));
    t.match(await rtr.http('/metrics'), /^sipproxy64_sip_connections_registered\{transport="tcp"\} 1$/m, 'his connection is kept by his registration');
    await callAndHear(t, alice, bob, 'sip:bob@198.51.100.1', [ALICE_HZ, CAROL_HZ], ['alice', 'bob']);
    t.match(proxy.log(), /out from=198\.51\.100\.1:5060 to=198\.51\.100\.40:(?!5060 )\d+ transport=tcp bytes=\d+ first="INVITE sip:bob[^@]*@10\.0\.0\.5:\d+;transport=tcp/, 'the INVITE went to him over TCP on his own connection, through his NAT');
    // His 200 OK's Contact names 10.0.0.5: alice's ACK and BYE to it go where it came from
    // (;sp64r=, RFC 3261 12.1.1), his own URI restored; before, they went to 10.0.0.5 and
    // were lost (the call was never established on his side).
    t.match(proxy.log(), /out from=198\.51\.100\.1:5060 to=198\.51\.100\.40:(?!5060 )\d+ transport=tcp bytes=\d+ first="ACK sip:bob[^@]*@10\.0\.0\.5:\d+;transport=tcp SIP/, 'alice\'s ACK went to his connection, his own URI restored');
    t.match(proxy.log(), /out from=198\.51\.100\.1:5060 to=198\.51\.100\.40:(?!5060 )\d+ transport=tcp bytes=\d+ first="BYE sip:bob[^@]*@10\.0\.0\.5:\d+;transport=tcp SIP/, 'and her BYE');
    // He calls her, and she hangs up: her BYE goes to the Contact of his INVITE the same way.
    const [a0, b0] = [alice.events.length, bob.events.length];
    bob.command('dial', 'sip:alice@198.51.100.1');
    t.ok(await alice.event('CALL_ESTABLISHED', 15000, a0), 'bob calls alice from home: she answers');
    t.ok(await bob.event('CALL_ESTABLISHED', 15000, b0), 'the call is up on his side');
    alice.command('hangup');
    const closed = await bob.event('CALL_CLOSED', 15000, b0);
    t.ok(closed, `alice hangs up: bob gets her BYE${closed ? '' : failed(alice, bob)}`);
    t.equal(proxy.log().match(/to=198\.51\.100\.40:\d+ transport=tcp bytes=\d+ first="BYE sip:bob[^@]*@10\.0\.0\.5:/g)?.length, 2, 'her second BYE went to his connection too');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });
}
