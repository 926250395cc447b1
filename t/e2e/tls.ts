// SIP over TLS towards an IPv6-only Kamailio (TCP and TLS listeners, test certificates made
// here with openssl): the IPv4 phone registers and calls over UDP; the proxy reaches the
// registrar over TLS (`map [2001:db8:1::5]:5061 127.0.0.105 tls`), in-dialog requests too.
// Then by name (`map registrar.example:5061 127.0.0.105 tls`, the name in the namespace's
// hosts file) with a certificate that names registrar.example and no address: the server
// proves the name (RFC 5922 7.3), and a name its certificate does not name is refused.
// Kamailio requires the proxy's certificate (tls-cert) both times: mutual TLS.
import t, { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { kamailioTlsCfg, makeCerts } from '../lib/certs.js';
import { waitFor, sleep } from '../lib/netns.js';
import { CALL_MS, PROXY_CONF, e2e } from '../lib/world.js';

e2e('tls', (w) => {
  const d = w.dir;
  makeCerts(d, [['kam', 'IP:2001:db8:1::5'], ['kamname', 'DNS:registrar.example'], ['proxy', 'IP:127.0.0.105,IP:2001:db8:64::10,IP:127.0.0.1,IP:2001:db8::1']]);
  kamailioTlsCfg(d, 'tls.cfg', 'kam');
  kamailioTlsCfg(d, 'tls-name.cfg', 'kamname');
  /**
   * The namespace's hosts file gives 2001:db8:1::5 these names, for one test: ip netns exec
   * puts /etc/netns/NS/hosts over /etc/hosts; DNS goes to 127.0.0.1 in the namespace, where
   * nobody answers (nothing leaves the test).
   */
  const hosts = (t: Test, names: string): void => {
    const etc = `/etc/netns/${w.ns.name}`;
    mkdirSync(etc, { recursive: true });
    t.teardown(() => rmSync(etc, { recursive: true, force: true }));
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    writeFileSync(`${etc}/hosts`, `127.0.0.1 localhost\n2001:db8:1::5 ${names}\n`);
  };

  t.test('register and call through TLS to Kamailio over IPv6', async (t) => {
    const kam = await w.kamailio(['WITH_TLS', `TLSCFG="${d}/tls.cfg"`]);
    t.teardown(() => new Promise<void>((r) => (kam.exitCode !== null ? r() : (kam.once('exit', () => r()), kam.kill('SIGTERM')))));
    t.ok(await waitFor(() => w.ns.udpSockets() !== '' && /LISTEN.*\[2001:db8:1::5\]:5061[\s\S]*LISTEN.*\[2001:db8:1::5\]:5060|LISTEN.*\[2001:db8:1::5\]:5060[\s\S]*LISTEN.*\[2001:db8:1::5\]:5061/.test(spawnSync('ip', ['netns', 'exec', w.ns.name, 'ss', '-tln'], { encoding: 'utf8' }).stdout), 5000), 'Kamailio listens on TLS and TCP over IPv6');
    const conf = PROXY_CONF.replace('map 2001:db8:1::5 127.0.0.105', 'map [2001:db8:1::5]:5061 127.0.0.105 tls') +
      `tls-cert ${d}/proxy.crt\ntls-key ${d}/proxy.key\ntls-ca ${d}/ca.crt\n`;
    const p = w.startProxy(conf);
    t.ok(await w.proxyUp(p), 'proxy up');
    t.match(p.log(), 'tls="port 5061"');
    const reg = await w.sipp('register.xml', '127.0.0.10', 5060, 31300, { user: 'alice' }, '127.0.0.105:5060');
    t.equal(reg.code, 0, 'the IPv4 phone registers over UDP; the proxy carries it over TLS');
    t.match(w.kamailioLog, /REGISTER sip:alice@\[2001:db8:1::5\]:5061 contact <sip:alice@\[2001:db8:64::10\]:5060>;expires=300 from 2001:db8:64::10 over tls/, 'Kamailio got it over TLS from the phone\'s face');
    const regC = await w.sipp('register.xml', '2001:db8:1::20', 5062, 31302, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(regC.code, 0);
    const uas = w.sipp('uas.xml', '2001:db8:1::20', 5062, 31310, w.media('carolT', '2001:db8:1::20', 40200));
    await sleep(300);
    const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31312, { ...w.media('aliceT', '127.0.0.10', 40210), callee: 'carol' }, '127.0.0.105:5060', CALL_MS);
    t.equal(uac.code, 0, `the call completes: INVITE over TLS, ACK and BYE over TLS through the route set${uac.code ? uac.stdout.slice(-1500) : ''}`);
    t.equal((await uas).code, 0);
    for (const n of ['aliceT', 'carolT']) {
      const r = await w.peerResult(n);
      t.ok(r && r.familyOk && r.received >= 45, `${n}: ${JSON.stringify(r)}`);
    }
    t.match(p.log(), /sip out .*to=\[2001:db8:1::5\]:5061 transport=tls .*INVITE/, 'the INVITE went over TLS');
    // SPEC 11: TCP connections to the TLS port that never start a handshake hold a place of
    // the source's 64 (the 65th is closed at once) and are closed after 5 s.
    const hs = await w.ns.run(process.execPath, ['-e', `
      const net = require('net'); const socks = []; let closed = 0; const t0 = Date.now(); let early = 0;
      const open = () => new Promise((r) => { const s = net.connect(5061, '127.0.0.1', () => r()); s.on('close', () => { closed++; if (Date.now() - t0 < 2000) early++; }); s.on('error', () => {}); socks.push(s); });
      (async () => { for (let i = 0; i < 65; i++) await open();
        const gone = () => { if (closed < 65) return setTimeout(gone, 100); process.stdout.write(JSON.stringify({ early, closed, ms: Date.now() - t0 })); process.exit(0); };
        gone(); setTimeout(() => { process.stdout.write(JSON.stringify({ early, closed })); process.exit(0); }, 12000); })();`], 15000);
    const res = JSON.parse(hs.stdout || '{}') as { early?: number; closed?: number; ms?: number };
    t.equal(res.early, 1, 'the 65th silent connection is closed at once');
    t.equal(res.closed, 65, `the other 64 are closed by the handshake timeout (${res.ms} ms)`);
    t.ok((res.ms ?? 0) >= 4500, 'not before the timeout');
    t.match(await w.http('/metrics'), /sipproxy64_sip_drops_total\{reason="tcp-too-many-from-source"\} 1/, 'the refusal is counted');
    t.match(await w.http('/metrics'), /sipproxy64_sip_drops_total\{reason="tls-handshake-failed"\} 65/, 'the 64 timeouts and the refused one are counted as failed handshakes');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });

  t.test('a registrar by name over TLS: its certificate proves the name, not the address (RFC 5922 7.3)', async (t) => {
    // other.example is the same server under a name its certificate does not name (a forged DNS answer).
    hosts(t, 'registrar.example other.example');
    const kam = await w.kamailio(['WITH_TLS', `TLSCFG="${d}/tls-name.cfg"`]);
    t.teardown(() => new Promise<void>((r) => (kam.exitCode !== null ? r() : (kam.once('exit', () => r()), kam.kill('SIGTERM')))));
    const tlsConf = `tls-cert ${d}/proxy.crt\ntls-key ${d}/proxy.key\ntls-ca ${d}/ca.crt\n`;
    const byName = (name: string) => PROXY_CONF.replace('map 2001:db8:1::5 127.0.0.105', `map ${name}:5061 127.0.0.105 tls`) + tlsConf;
    const p = w.startProxy(byName('registrar.example'));
    t.ok(await w.proxyUp(p), `proxy up${p.log().slice(-400)}`);
    t.ok(await waitFor(() => /uplink resolved name=registrar\.example addrs=2001:db8:1::5/.test(p.log()), 10000, 50), 'the name resolves from the hosts file');
    const reg = await w.sipp('register.xml', '127.0.0.10', 5060, 31320, { user: 'alice' }, '127.0.0.105:5060');
    t.equal(reg.code, 0, `the IPv4 phone registers; the proxy reaches registrar.example over TLS${reg.code ? reg.stdout.slice(-800) + p.log().slice(-800) : ''}`);
    t.match(w.kamailioLog, /REGISTER sip:alice@registrar\.example:5061 contact <sip:alice@\[2001:db8:64::10\]:5060>;expires=300 from 2001:db8:64::10 over tls/, 'Kamailio got it over TLS, the Request-URI naming the registrar');
    const regC = await w.sipp('register.xml', '2001:db8:1::20', 5062, 31322, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(regC.code, 0);
    const uas = w.sipp('uas.xml', '2001:db8:1::20', 5062, 31324, w.media('carolN', '2001:db8:1::20', 40220));
    await sleep(300);
    const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31326, { ...w.media('aliceN', '127.0.0.10', 40230), callee: 'carol' }, '127.0.0.105:5060', CALL_MS);
    t.equal(uac.code, 0, `the call completes through the registrar by name${uac.code ? uac.stdout.slice(-1500) : ''}`);
    t.equal((await uas).code, 0);
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
    // The same server under a name its certificate does not name: refused, and the phone hears 503.
    const q = w.startProxy(byName('other.example'));
    t.ok(await w.proxyUp(q), 'proxy up');
    t.ok(await waitFor(() => /uplink resolved name=other\.example/.test(q.log()), 10000, 50), 'the other name resolves to the same address');
    const bad = await w.sipp('register.xml', '127.0.0.10', 5060, 31328, { user: 'alice' }, '127.0.0.105:5060');
    t.not(bad.code, 0, 'the registration fails');
    t.match(bad.stdout + bad.stderr, /503/, 'with 503 from the proxy');
    t.match(q.log(), /SIP TLS next hop unreachable.*to=\[2001:db8:1::5\]:5061.*ERR_TLS_CERT_ALTNAME_INVALID.*other\.example/, 'the warning says the certificate does not name other.example');
    q.child.kill('SIGTERM');
    t.equal(await q.exited, 0);
  });

  t.test('whoever connects from the registrar\'s address and port hears none of its requests (RFC 5922 7.3; SPEC 11)', async (t) => {
    // No Kamailio: an impostor opens a TLS connection to the proxy from [2001:db8:1::5]:5061,
    // where registrar.example's server would be (a party on the path can). The proxy must
    // not send the registrar's REGISTER on it: it opens its own, which nobody answers (503).
    hosts(t, 'registrar.example');
    const p = w.startProxy(PROXY_CONF.replace('map 2001:db8:1::5 127.0.0.105', 'map registrar.example:5061 127.0.0.105 tls') + `tls-cert ${d}/proxy.crt\ntls-key ${d}/proxy.key\ntls-ca ${d}/ca.crt\n`);
    t.ok(await w.proxyUp(p), 'proxy up');
    t.ok(await waitFor(() => /uplink resolved name=registrar\.example addrs=2001:db8:1::5/.test(p.log()), 10000, 50), 'the name resolves from the hosts file');
    const impostor = w.ns.start(process.execPath, ['-e', `
      const net = require('net'), tls = require('tls'); let heard = '';
      const raw = net.connect({ host: '2001:db8::1', port: 5061, localAddress: '2001:db8:1::5', localPort: 5061 });
      const s = tls.connect({ socket: raw, rejectUnauthorized: false }, () => process.stdout.write('up\\n'));
      s.on('data', (d) => (heard += d.toString('latin1'))); s.on('error', (e) => process.stdout.write('error ' + e.message + '\\n'));
      const end = () => { process.stdout.write(JSON.stringify({ heard }) + '\\n'); process.exit(0); };
      process.on('SIGTERM', end); setTimeout(end, 60000);`]);
    let out = '';
    impostor.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    const ended = new Promise<void>((r) => impostor.once('exit', () => r()));
    t.ok(await waitFor(() => out.includes('up\n') || out.includes('error'), 10000, 50), `the impostor is connected from [2001:db8:1::5]:5061 ${out}`);
    const reg = await w.sipp('register.xml', '127.0.0.10', 5060, 31330, { user: 'alice' }, '127.0.0.105:5060');
    t.not(reg.code, 0, 'the registration fails');
    t.match(reg.stdout + reg.stderr, /503/, 'with 503 from the proxy: its own connection to the registrar is refused');
    t.match(p.log(), /SIP TLS next hop unreachable.*to=\[2001:db8:1::5\]:5061.*ECONNREFUSED/, 'the warning names the registrar');
    impostor.kill('SIGTERM');
    await ended;
    t.match(out, /\{"heard":""\}/, 'the impostor heard nothing');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });
}, { missing: (spawnSync('sh', ['-c', 'command -v openssl && test -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so']).status === 0 ? null : 'openssl or kamailio-tls-modules missing') });
