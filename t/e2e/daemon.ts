// The daemon's life: start-up failures, HUP hand-over with a live call, SIGTERM, JSON logs.
import t from 'tap';
import { waitFor, sleep } from '../lib/netns.js';
import { PROXY_CONF, ROOT, tail, e2e } from '../lib/world.js';

const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

/**
 * Script text for a child in the namespace, where a UDP socket `s` is bound at
 * 127.0.0.10:5090: `n` INVITEs from alice, each with one audio stream, to the registrar's
 * face, 20 ms apart (Call-IDs and branches `tag`0, `tag`1, ...).
 */
function offers(tag: string, n: number): string {
  const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
  const invite = (i: string): string => `INVITE sip:reg@127.0.0.105 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10:5090;branch=z9hG4bK${tag}${i};rport\r\nMax-Forwards: 70\r\n` +
    `From: <sip:a@127.0.0.10>;tag=${i}\r\nTo: <sip:reg@127.0.0.105>\r\nCall-ID: ${tag}${i}\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.10:5090>\r\n` +
    `Content-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return `for (let i = 0; i < ${n}; i++) {
    s.send(${JSON.stringify(invite('@I@'))}.replaceAll('@I@', String(i)), 5060, '127.0.0.105');
    await new Promise((r) => setTimeout(r, 20));
  }`;
}

e2e('daemon', (w) => {

  t.test('a face that cannot be bound stops start-up with exit 2 naming it', async (t) => {
    const p = w.startProxy(PROXY_CONF + 'map 127.0.0.11 2001:db8:77::11\n');
    t.equal(await p.exited, 2);
    t.match(p.log(), 'cannot bind SIP socket [2001:db8:77::11]:5060: EADDRNOTAVAIL');
  });

  t.test('a low open-file limit caps the streams with 503 instead of failed binds', async (t) => {
    // 200 files: 50 kept for SIP, 150 for 37 pairs (four sockets each) of the 50 in rtp-ports.
    const p = w.startProxy(PROXY_CONF, ['-v'], ['prlimit', '--nofile=200:200']);
    t.ok(await w.proxyUp(p), `proxy up${p.child.exitCode !== null ? p.log() : ''}`);
    t.match(p.log(), /open-file limit serves fewer streams .*openFiles=200 .*streams=37 rtpPorts=50 needed=1224/, 'a warning says what to raise');
    t.match(await w.http('/metrics'), /sipproxy64_rtp_port_pairs_allowed 37\n/);
    // 38 offers from a mapped phone (no stranger quota applies): 37 go on, the 38th gets 503.
    const script = `
      const s = require('dgram').createSocket('udp4'); const got = [];
      s.on('message', (m) => got.push(m.toString('latin1').split('\\r\\n')[0]));
      s.bind(5090, '127.0.0.10', async () => {
        ${offers('fd', 38)}
        setTimeout(() => { process.stdout.write(JSON.stringify(got)); s.close(); }, 500);
      });`;
    const r = await w.ns.run(process.execPath, ['-e', script], 20000);
    const answers = JSON.parse(r.stdout || '[]') as string[];
    t.same(answers, ['SIP/2.0 503 Service Unavailable (no media relay sockets)'], `the 38th offer only: ${r.stderr}`);
    const m = await w.http('/metrics');
    t.match(m, /sipproxy64_rtp_port_pairs_in_use 37\n/, '37 streams bound');
    t.match(m, /sipproxy64_sip_refusals_total\{reason="503 rtp-fd-limit"\} 1\n/, 'counted');
    t.notMatch(m, /rtp_drops_total\{reason="rtp-(port-in-use|socket-error)"\}/, 'no bind failed');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
    // A soft limit below the hard one is raised at start: then every pair fits.
    const q = w.startProxy(PROXY_CONF, ['-v'], ['prlimit', '--nofile=200:4000']);
    t.ok(await w.proxyUp(q), 'proxy up');
    t.match(q.log(), /sipproxy64 started .*streams=50 /, 'all 50 pairs of rtp-ports');
    t.notMatch(q.log(), 'open-file limit');
    t.match(await w.http('/metrics'), /sipproxy64_rtp_port_pairs_allowed 50\n/);
    q.child.kill('SIGTERM');
    t.equal(await q.exited, 0);
  });

  t.test('SIP TCP connections get only the files the relay leaves: a flood of them takes no stream\'s sockets', async (t) => {
    // 400 files: the relay may hold all 50 pairs of rtp-ports (200 sockets); TCP gets what is
    // left less 64 spare. A stranger opens more connections than that, holds them, and the
    // 50 offers that follow all get their pairs.
    const p = w.startProxy(PROXY_CONF + 'tcp yes\nmedia-threads 2\n', ['-v'], ['prlimit', '--nofile=400:400']); // two threads: the same files on any machine
    t.ok(await w.proxyUp(p), `proxy up${p.child.exitCode !== null ? p.log() : ''}`);
    const cap = Number(/leaves fewer SIP TCP and TLS connections .*connections=(\d+) /.exec(p.log())?.[1] ?? -1);
    t.ok(cap > 0 && cap < 200, `a warning gives the cap: ${cap}`);
    const script = `
      const net = require('net'), dgram = require('dgram');
      const socks = []; let closed = 0;
      const open = (src) => new Promise((r) => {
        const c = net.connect({ host: '127.0.0.1', port: 5060, localAddress: src }, () => r());
        c.on('error', () => r()); c.on('close', () => closed++); socks.push(c);
      });
      (async () => {
        for (let i = 0; i < 200; i++) await open('127.0.0.' + (20 + (i % 4))); // four sources, under 64 each
        await new Promise((r) => setTimeout(r, 1000));
        const refused = closed;
        const s = dgram.createSocket('udp4'); const got = [];
        s.on('message', (m) => got.push(m.toString('latin1').split('\\r\\n')[0]));
        s.bind(5090, '127.0.0.10', async () => {
          ${offers('cn', 50)}
          setTimeout(() => { process.stdout.write(JSON.stringify({ refused, held: socks.length - closed, got })); s.close(); socks.forEach((c) => c.destroy()); }, 500);
        });
      })();`;
    const r = await w.ns.run(process.execPath, ['-e', script], 30000);
    const out = JSON.parse(r.stdout || '{}') as { refused: number; held: number; got: string[] };
    t.equal(out.held, cap, `the proxy holds ${cap} connections ${r.stderr}`);
    t.equal(out.refused, 200 - cap, 'and closed the rest at once');
    const m = await w.http('/metrics');
    t.equal(metric(m, 'sipproxy64_sip_drops_total{reason="tcp-too-many-connections"}'), 200 - cap, 'each a counted drop');
    t.same(out.got, [], 'the 50 offers all went on: no 503');
    t.match(m, /sipproxy64_rtp_port_pairs_in_use 50\n/, 'all 50 pairs bound');
    t.notMatch(m, /rtp_drops_total\{reason="rtp-(port-in-use|socket-error)"\}/, 'no bind failed');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });

  t.test('--check-config --host: what this host cannot serve', async (t) => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const bad = join(w.dir, 'host-bad.conf');
    // A Teredo party, a face this host does not have, and a SIP port someone else holds.
    writeFileSync(bad, PROXY_CONF + 'map 2001:0:4136:e378::5 127.0.0.107\nmap 127.0.0.108 2001:db8:99::8\n');
    const holder = w.ns.start(process.execPath, ['-e', "require('dgram').createSocket('udp4').bind(5060, '127.0.0.105', () => console.log('bound'))"]);
    t.teardown(() => holder.kill());
    let held = '';
    holder.stdout?.on('data', (d: Buffer) => (held += d.toString()));
    t.ok(await waitFor(() => held.includes('bound'), 5000), 'a stranger holds 127.0.0.105:5060');
    const r = await w.cli(['--check-config', '--host', '-c', bad]);
    t.equal(r.code, 2, 'errors: exit 2');
    t.match(r.stdout, /^local\s+face 2001:db8:99::8\s+error: not an address or local route of this host$/m);
    t.match(r.stdout, /^local\s+face 2001:db8:64::10\s+ok$/m, 'a face on lo is local');
    t.match(r.stdout, /^local\s+face 127\.0\.0\.105\s+ok$/m, 'so is 127/8 (a local route)');
    t.match(r.stdout, /^bind\s+127\.0\.0\.105:5060\s+error: EADDRINUSE$/m);
    t.match(r.stdout, /^bind\s+\[2001:db8:64::10\]:5060\s+ok$/m);
    t.match(r.stdout, /^address\s+map 2001:0:4136:e378::5 .*warning: Teredo: does not belong in SIP$/m);
    t.match(r.stdout, /^rtp-ports\s+30000-30099\s+ok/m);
    t.match(r.stdout, /^2 errors, 1 warnings$/m);
    holder.kill();
    // Only warnings: rtp-ports inside the ephemeral range; exit 0.
    const warn = join(w.dir, 'host-warn.conf');
    writeFileSync(warn, PROXY_CONF.replace('rtp-ports 30000-30099', 'rtp-ports 40000-40099'));
    const r2 = await w.cli(['--check-config', '--host', '-c', warn]);
    t.equal(r2.code, 0, `warnings only: exit 0${r2.stderr}`);
    t.match(r2.stdout, /^rtp-ports\s+40000-40099\s+warning: overlaps the ephemeral range/m);
    t.match(r2.stdout, /^0 errors, 1 warnings$/m);
  });

  t.test('without the addon: sip-io and media-datapath auto use Node, sip-io native refuses to start, --check-config --host says the same', async (t) => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    // SIPPROXY64_NATIVE names the build to load: here a file that is no addon.
    const broken = join(w.dir, 'broken.node');
    writeFileSync(broken, 'not an addon');
    const env = ['env', `SIPPROXY64_NATIVE=${broken}`];
    const p = w.startProxy(PROXY_CONF, ['-v'], env);
    t.ok(await w.proxyUp(p), `proxy up${p.child.exitCode !== null ? p.log() : ''}`);
    t.match(p.log(), /warn the native addon does not load: SIP over UDP through Node's dgram \(sip-io js\)/, 'said once for SIP');
    t.match(p.log(), /warn the native media datapath does not load/, 'and once for media');
    t.match(p.log(), /sipproxy64 started .* sip-io=js .* datapath=js /, 'both on Node');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
    const q = w.startProxy(PROXY_CONF + 'sip-io native\n', ['-v'], env);
    t.equal(await q.exited, 2, 'sip-io native without the addon: exit 2');
    t.match(q.log(), /sip-io native: /, 'naming why');
    // nat64's wildcard socket is the addon's whatever sip-io says (SipUdp.startAny, requireNative).
    const n = w.startProxy(PROXY_CONF + 'sip-io js\nnat64 2001:db8:6464::/96\n', ['-v'], env);
    t.equal(await n.exited, 2, 'nat64 without the addon: exit 2');
    t.match(n.log(), /nat64 2001:db8:6464::\/96 needs the native addon/, 'naming the directive that needs it');
    // --check-config --host makes the same choice (chooseNative): auto warns, native is an error.
    const conf = join(w.dir, 'broken-host.conf');
    const check = async (text: string) => {
      writeFileSync(conf, text);
      return w.ns.run('env', [`SIPPROXY64_NATIVE=${broken}`, process.execPath, join(ROOT, 'dist', 'src', 'cli', 'main.js'), '--check-config', '--host', '-c', conf], 10000);
    };
    const auto = await check(PROXY_CONF);
    t.equal(auto.code, 0, `auto: warnings only${auto.stderr}`);
    t.match(auto.stdout, /^sip-io\s+sip-io auto\s+warning: the native addon does not load \(auto uses Node's dgram\)/m);
    t.match(auto.stdout, /^datapath\s+media-datapath auto\s+warning: the native addon does not load \(auto relays on the event loop\)/m);
    const native = await check(PROXY_CONF + 'sip-io native\nmedia-datapath native\n');
    t.not(native.code, 0, 'native: errors');
    t.match(native.stdout, /^sip-io\s+sip-io native\s+error: the native addon does not load/m);
    t.match(native.stdout, /^datapath\s+media-datapath native\s+error: the native addon does not load/m);
    const js = await check(PROXY_CONF + 'sip-io js\nmedia-datapath js\n');
    t.notMatch(js.stdout, /^(sip-io|datapath) /m, 'js: the addon is not asked for');
  });

  t.test('JSON log lines', async (t) => {
    const p = w.startProxy(PROXY_CONF, ['--log-format', 'json']);
    t.ok(await w.proxyUp(p));
    p.child.kill('SIGINT');
    t.equal(await p.exited, 0, 'SIGINT exits 0');
    const lines = p.log().trim().split('\n');
    t.ok(lines.length >= 2);
    for (const l of lines) t.doesNotThrow(() => JSON.parse(l), l);
    t.equal(JSON.parse(lines[0]).msg, 'sipproxy64 started');
  });

  t.test('SIGHUP: SIP closes at once, a new instance takes over, media goes on until the call ends', async (t) => {
    const a = w.startProxy();
    t.ok(await w.proxyUp(a), 'first instance up');
    // dave (IPv6, generic) calls alice for ~4 s of media; alice hangs up.
    const uas = w.sipp('uas-bye.xml', '127.0.0.10', 5060, 31110, w.media('aliceH', '127.0.0.10', 40100, 175), undefined, 4000);
    await sleep(300);
    const uac = w.sipp('uac-wait-bye.xml', '2001:db8::99', 5060, 31112, { ...w.media('daveH', '2001:db8::99', 40110, 175), callee: 'alice' }, '[2001:db8:64::10]:5060');
    t.ok(await waitFor(() => w.relaySockets().length > 0, 5000), 'call up, relay bound');
    a.child.kill('SIGHUP');
    t.ok(await waitFor(() => a.log().includes('SIP closed'), 3000), 'first instance closed SIP');
    const b = w.startProxy();
    t.ok(await w.proxyUp(b), 'second instance binds the same SIP addresses at once');
    t.equal(b.child.exitCode, null);
    const [u, c] = await Promise.all([uas, uac]);
    t.equal(u.code, 0, `the call completes: BYE through the new instance${tail(u)}`);
    t.equal(c.code, 0, `the caller gets the BYE${tail(c)}`);
    for (const name of ['aliceH', 'daveH']) {
      const r = await w.peerResult(name);
      t.ok(r && r.received >= 165, `${name}: media kept flowing through the old instance: ${JSON.stringify(r)}`);
    }
    t.equal(await a.exited, 0, 'the old instance exits once its media has ended (rtp-timeout)');
    t.match(a.log(), /drained; exiting/);
    b.child.kill('SIGTERM');
    t.equal(await b.exited, 0);
  });
});
