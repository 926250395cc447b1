// Masquerading towards a provider by name over TLS (sipproxy64(8) MASQUERADING, tls-ca), in the
// namespaces of t/lib/masqnet.ts with the IPv6 public side: LAN phones on UDP name the
// provider `provider.example:5061;transport=tls` (the name in the router namespace's hosts
// file). The proxy looks the name up for TLS (RFC 3263 4.2), checks Kamailio's certificate,
// which names provider.example and no address, against the name (RFC 5922 7.3), presents its
// own (Kamailio requires it), and keeps the name for the dialog's later requests, which go to
// the address in Kamailio's Record-Route. A name the certificate does not give is refused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { kamailioTlsCfg, makeCerts } from '../lib/certs.js';
import { waitFor } from '../lib/netns.js';
import { CALL_MS, cannotRun, tail } from '../lib/world.js';
import { masqNet } from '../lib/masqnet.js';

const missing = spawnSync('sh', ['-c', 'command -v openssl && test -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so']).status === 0 ? null : 'openssl or kamailio-tls-modules missing';
const net = missing && cannotRun(missing) ? null : masqNet('mt');
if (net) {
  const { lan, rtr, pub, R, base, regFile, call } = net;
  const d = rtr.dir;
  makeCerts(d, [['provider', 'DNS:provider.example'], ['proxy', 'IP:2001:db8:1::1,IP:192.0.2.1']]);
  kamailioTlsCfg(d, 'tls.cfg', 'provider');
  // ip netns exec puts /etc/netns/NS/hosts over /etc/hosts in the router's namespace; DNS goes
  // to 127.0.0.1 there, where nobody answers. other.example is the provider's address under a
  // name its certificate does not give (a forged DNS answer).
  const etc = `/etc/netns/${R}`;
  mkdirSync(etc, { recursive: true });
  t.teardown(() => rmSync(etc, { recursive: true, force: true }));
  writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost\n2001:db8:1::5 provider.example other.example\n');
  const conf = base.replace('outbound 198.51.100.1', 'outbound 2001:db8:1::1').replace(`registrations ${regFile}`, `registrations ${regFile}.tls`) +
    `tls-cert ${d}/proxy.crt\ntls-key ${d}/proxy.key\ntls-ca ${d}/ca.crt\n`;
  const domain = 'provider.example:5061;transport=tls';

  t.test('LAN phones reach an IPv6 provider by name over TLS, both ways', async (t) => {
    const kam = await pub.kamailio(['WITH_TLS', `TLSCFG="${d}/tls.cfg"`]);
    t.teardown(() => void kam.kill('SIGKILL'));
    t.ok(await waitFor(() => /LISTEN.*\[2001:db8:1::5\]:5061/.test(spawnSync('ip', ['netns', 'exec', pub.ns.name, 'ss', '-tln'], { encoding: 'utf8' }).stdout), 5000), 'Kamailio listens on TLS');
    const proxy = rtr.startProxy(conf);
    t.ok(await rtr.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const r = await lan.sipp('nat-register.xml', '192.0.2.10', 5060, 31400, { user: 'alice', domain }, '192.0.2.1:5060');
    t.equal(r.code, 0, `alice registers at provider.example over TLS through the proxy${tail(r)}${r.code ? proxy.log().slice(-800) : ''}`);
    t.match(pub.kamailioLog, /REGISTER sip:alice@provider\.example:5061;transport=tls contact <sip:alice@\[2001:db8:1::1\][^>]*;sp64n=192\.0\.2\.10-5060-[0-9a-f]{12}>;expires=300 from 2001:db8:1::1 over tls/, 'Kamailio got it over TLS from our public IPv6 address');
    const reg = await pub.sipp('register.xml', '2001:db8:1::20', 5062, 31402, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(reg.code, 0, 'carol registers directly');
    // The provider calls alice (at the Contact it holds); then alice calls carol by the name:
    // the INVITE goes over TLS to provider.example, the ACK and BYE along Kamailio's
    // Record-Route, an address, whose certificate must still name provider.example.
    await call(t, { w: lan, ip: '192.0.2.10', port: 5060, mp: 31410, name: 'aliceS1', rtp: 40300 },
      { w: pub, scenario: 'uac.xml', ip: '2001:db8:1::20', port: 5060, mp: 31412, name: 'carolS1', rtp: 40310, vars: { callee: 'alice' }, remote: '[2001:db8:1::5]:5060', pauseMs: CALL_MS },
      ['alice answers behind the NAT', 'carol calls alice through the provider']);
    await call(t, { w: pub, ip: '2001:db8:1::20', port: 5062, mp: 31420, name: 'carolS2', rtp: 40320 },
      { w: lan, scenario: 'nat-uac.xml', ip: '192.0.2.10', port: 5060, mp: 31422, name: 'aliceS2', rtp: 40330, vars: { callee: 'carol', domain }, remote: '192.0.2.1:5060', pauseMs: CALL_MS },
      ['carol answers', 'alice calls carol@provider.example over TLS']);
    t.match(proxy.log(), /sip out .*to=\[2001:db8:1::5\]:5061 transport=tls .*INVITE sip:carol@provider\.example/, 'the INVITE went over TLS to the name\'s address');
    t.match(proxy.log(), /sip out .*to=\[2001:db8:1::5\]:5061 transport=tls .*BYE /, 'the BYE too, along the Record-Route');
    t.notMatch(proxy.log(), /ERR_TLS/, 'no handshake was refused');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');

    // The same server under a name its certificate does not give: refused, the phone hears 503.
    const q = rtr.startProxy(conf);
    t.ok(await rtr.proxyUp(q), 'proxy restarted');
    const bad = await lan.sipp('nat-register.xml', '192.0.2.11', 5060, 31430, { user: 'bob', domain: 'other.example:5061;transport=tls' }, '192.0.2.1:5060');
    t.not(bad.code, 0, 'bob\'s registration at other.example fails');
    t.match(bad.stdout + bad.stderr, /503/, 'with 503 from the proxy');
    t.match(q.log(), /ERR_TLS_CERT_ALTNAME_INVALID.*other\.example/, 'the warning says the certificate does not name other.example');
    t.notMatch(pub.kamailioLog, /REGISTER sip:bob@/, 'Kamailio never saw it');
    q.child.kill('SIGTERM');
    t.equal(await q.exited, 0, 'SIGTERM exits 0');
  });
}
