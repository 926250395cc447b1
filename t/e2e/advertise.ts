// advertise LOCAL PUBLIC end to end (sipproxy64(8) ADDRESS MODEL, "Behind a 1:1 NAT"), in two
// namespaces made here:
//   out  an IPv4 caller at 203.0.113.10 (SIPp with RTP), on the Internet
//   vm   the proxy's host: 192.0.2.1 (generic4), .2 (media4), .120 (carol's face) on lo, its
//        uplink 203.0.113.1, and an nftables 1:1 NAT that the world sees as 198.51.100.1, .2,
//        .120; carol (IPv6, SIPp with RTP) at 2001:db8:1::20 on lo
// The caller calls sip:carol@198.51.100.120; the call completes with RTP both ways, and not
// one byte the caller receives names the VM's own addresses.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../lib/netns.js';
import { CALL_MS, cannotRun, tail, World } from '../lib/world.js';

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

const hasNft = spawnSync('sh', ['-c', 'command -v nft']).status === 0;
if (!cannotRun(hasNft ? null : 'nft is not installed')) {
  const out = new World('aout');
  const vm = new World('avm');
  t.teardown(() => {
    out.destroy();
    vm.destroy();
  });
  out.ns.setup([]);
  vm.ns.setup(['2001:db8::1', '2001:db8::2', '2001:db8:1::20']);
  const [O, V] = [out.ns.name, vm.ns.name];
  sh(`ip link add a-out netns ${O} type veth peer name a-vm netns ${V}`);
  sh(`ip -n ${O} addr add 203.0.113.10/24 dev a-out && ip -n ${O} link set a-out up && ip -n ${O} route add 198.51.100.0/24 via 203.0.113.1`);
  sh(`ip -n ${V} addr add 203.0.113.1/24 dev a-vm && ip -n ${V} link set a-vm up`);
  for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.120']) sh(`ip -n ${V} addr add ${a}/32 dev lo`);
  // The 1:1 NAT, as a cloud provider's edge does it: public in, private out.
  sh(`ip netns exec ${V} nft -f - <<'EOF'
table ip one2one {
  chain pre { type nat hook prerouting priority dstnat; ip daddr 198.51.100.1 dnat to 192.0.2.1; ip daddr 198.51.100.2 dnat to 192.0.2.2; ip daddr 198.51.100.120 dnat to 192.0.2.120; }
  chain post { type nat hook postrouting priority srcnat; oifname "a-vm" ip saddr 192.0.2.1 snat to 198.51.100.1; oifname "a-vm" ip saddr 192.0.2.2 snat to 198.51.100.2; oifname "a-vm" ip saddr 192.0.2.120 snat to 198.51.100.120; }
}
EOF`);

  t.test('a caller outside a 1:1 NAT sees only the public addresses', async (t) => {
    const p = vm.startProxy(`generic4 192.0.2.1
generic6 2001:db8::1
media4 192.0.2.2
media6 2001:db8::2
map 2001:db8:1::20 192.0.2.120
advertise 192.0.2.120 198.51.100.120
advertise 192.0.2.1 198.51.100.1
advertise 192.0.2.2 198.51.100.2
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`);
    t.ok(await vm.proxyUp(p), `proxy up${p.child.exitCode !== null ? p.log() : ''}`);
    const uas = vm.sipp('uas.xml', '2001:db8:1::20', 5060, 31010, vm.media('carol', '2001:db8:1::20', 40100));
    await sleep(300);
    const uac = await out.sipp('uac.xml', '203.0.113.10', 5060, 31012, { ...out.media('dave', '203.0.113.10', 40110), callee: 'carol' }, '198.51.100.120:5060', CALL_MS);
    const u = await uas;
    t.equal(uac.code, 0, `the caller's call completes${tail(uac)}`);
    t.equal(u.code, 0, `carol answered and got the BYE${tail(u)}`);
    for (const [w, name] of [[out, 'dave'], [vm, 'carol']] as const) {
      const r = await w.peerResult(name);
      t.ok(r && r.sent === 50 && r.received >= 45, `${name}'s RTP through the NAT and the relay: ${JSON.stringify(r)}`);
    }
    const seen = readdirSync(out.dir).filter((f) => f.endsWith('_messages.log')).map((f) => readFileSync(join(out.dir, f), 'latin1')).join('\n');
    t.match(seen, /Contact: <sip:carol@198\.51\.100\.120/, 'carol\'s Contact names her public face');
    t.match(seen, /c=IN IP4 198\.51\.100\.2/, 'the media address is the public one');
    t.match(seen, /Record-Route: .*<sip:198\.51\.100\.120:5060;lr;sp64=/, 'our Record-Route too (the caller is a generic party: its entry carries received=)');
    t.notMatch(seen, /192\.0\.2\./, 'no byte names the VM\'s own addresses');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });
}
