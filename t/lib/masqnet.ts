// The masquerading test network (sipproxy64(8) MASQUERADING), made by t/e2e/masq.ts and
// t/e2e/masq-field.ts each for itself, in three namespaces:
//   LAN     alice 192.0.2.10, bob 192.0.2.11 (SIPp phones), default route via the router
//   router  192.0.2.1 (LAN) and 198.51.100.1 (public), IPv4 forwarding with an nftables (or
//           iptables) masquerade, and sipproxy64 with inbound/outbound
//   public  Kamailio as a provider at 198.51.100.20 (IPv4) and 2001:db8:1::5 (IPv6), SIPp carol
//           at 198.51.100.30 and 2001:db8:1::20; the router is 2001:db8:1::1 there
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './netns.js';
import { cannotRun, tail, World } from './world.js';

export function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

const hasNft = spawnSync('sh', ['-c', 'command -v nft']).status === 0;
const hasIptables = spawnSync('sh', ['-c', 'command -v iptables']).status === 0;
/** Why the router's NAT cannot be made here (null: it can). */
export const masqMissing = (): string | null => (hasNft || hasIptables ? null : 'neither nft nor iptables is installed');
type Tap = { ok(v: unknown, msg: string): void; equal(a: unknown, b: unknown, msg: string): void };
export interface Phone { w: World; ip: string; port: number; mp: number; name: string; rtp: number }

/**
 * The router's NAT in namespace R (LAN link m-rlan, public link m-wan): the LAN
 * 192.0.2.0/24 leaves masqueraded; nothing from outside enters the LAN unasked.
 */
export function masquerade(R: string): void {
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
}

/** The three namespaces and their helpers, or null when they cannot be made here (a failure then). */
export function masqNet(tag: string) {
  if (cannotRun(masqMissing())) return null;
  const lan = new World(`${tag}lan`);
  const rtr = new World(`${tag}rtr`);
  const pub = new World(`${tag}pub`);
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
  masquerade(R);
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
  const checkMedia = async (t: Tap, pairs: Array<[World, string]>) => {
    for (const [w, name] of pairs) {
      const r = await w.peerResult(name);
      t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
    }
  };
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

  return { lan, rtr, pub, L, R, P, base, regFile, registrarConf, statusConf, checkMedia, call };
}
