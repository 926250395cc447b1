// media-engine rtpengine (issue 18) over real UDP in a namespace: Debian's rtpengine-daemon in
// userspace as the media engine. An IPv4 SIPp phone calls an IPv6 one through sipproxy64; the
// RTP is counted at both ends and went through rtpengine's addresses, the BYE deletes the
// call there; with two engines, one stopped mid-test, new calls go to the other; two
// instances with one secret hand a call over (`secret FILE`), with two secrets they do not;
// a stranger's offers within rtp-quota at the engine, for as long as the engine holds them;
// a call that comes back through the proxy (Kamailio as the IPv6 registrar) is two calls there.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { rtpengine, rtpengineMissing } from '../lib/rtpengine.js';
import { CALL_MS, e2e, PROXY_CONF, tail, World, TWO_PARTIES } from '../lib/world.js';

const CONF = TWO_PARTIES + 'metrics 127.0.0.1:9064\n';

/** Ask an engine about a call, from inside the namespace (our ng client is the test's tool here). */
async function query(w: World, n: number, callId: string): Promise<string> {
  const code = `import('${process.cwd()}/dist/src/daemon/ng.js').then(async ({ NgClient }) => { const c = new NgClient([{ addr: '127.0.0.1', family: 4, port: ${2220 + n} }]); const r = await c.request('q', { command: 'query', 'call-id': ${JSON.stringify(callId)} }); c.close(); process.stdout.write(String(r?.result) + ' ' + String(r?.['error-reason'] ?? '')); })`;
  return (await w.ns.run(process.execPath, ['-e', code], 10000)).stdout;
}

e2e('rtpe', (w) => {
  t.test('an IPv4 phone calls an IPv6 phone, media through rtpengine; BYE deletes the call there', async (t) => {
    await rtpengine(w, 3);
    const proxy = w.startProxy(CONF + 'media-engine rtpengine 127.0.0.1:2223\n');
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060, 31000, w.media('carol1', '2001:db8:1::20', 40000));
    await sleep(300);
    const uacP = w.sipp('uac.xml', '127.0.0.10', 5060, 31002, { ...w.media('alice1', '127.0.0.10', 40010), callee: 'carol' }, '127.0.0.120:5060', 6000);
    t.ok(await waitFor(() => /media offer|sip out .*first="SIP\/2\.0 200 OK"/.test(proxy.log()) && /first="SIP\/2\.0 200 OK"/.test(proxy.log()), 8000, 100), 'the call is answered');
    const callId = /Call-ID: (\S+)/.exec(spawnSync('sh', ['-c', `cat ${w.dir}/uac*_messages.log`], { encoding: 'utf8' }).stdout)?.[1] ?? '';
    t.match(await query(w, 3, callId), /^ok/, 'rtpengine holds the call while it is up');
    const engines = JSON.parse(await w.http('/engines')) as Array<{ engine: string; up: boolean; requests: Record<string, number> }>;
    t.match(engines, [{ engine: '127.0.0.1:2223', up: true, requests: { 'offer ok': Number, 'answer ok': Number } }], '/engines: the engine, up, our offer and answer');
    const [uac, u] = [await uacP, await uas];
    t.equal(uac.code, 0, `alice (IPv4) calls carol (IPv6)${tail(uac)}`);
    t.equal(u.code, 0, `carol answers and gets the BYE${tail(u)}`);
    const a = await w.peerResult('alice1');
    const c = await w.peerResult('carol1');
    t.ok(a && a.familyOk && a.sent === 50 && a.received >= 45, `alice's RTP, IPv4, through rtpengine: ${JSON.stringify(a)}`);
    t.ok(c && c.familyOk && c.sent === 50 && c.received >= 45, `carol's RTP, IPv6, through rtpengine: ${JSON.stringify(c)}`);
    t.match(JSON.stringify(a), /"dest":"127\.0\.0\.3:32\d\d\d"/, 'alice sends to rtpengine\'s IPv4 address');
    t.match(JSON.stringify(c), /"dest":"2001:db8::3:32\d\d\d"/, 'carol to its IPv6 address');
    t.same(w.relaySockets().filter((l) => /:300\d\d\s/.test(l)), [], 'RTPproxy64 bound nothing of its rtp-ports (30000-30099)');
    t.ok(await waitFor(async () => /^error/.test(await query(w, 3, callId)), 5000, 200), 'after the BYE rtpengine no longer knows the call');
    const metrics = await w.http('/metrics');
    t.match(metrics, /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2223",command="delete",result="ok"\} 1/, 'the delete is counted');
    t.match(metrics, /sipproxy64_rtpengine_up\{engine="127\.0\.0\.1:2223"\} 1/);
    const st = await w.cli(['status', '--metrics', '127.0.0.1:9064']);
    t.match(st.stdout, /rtpengine 127\.0\.0\.1:2223\s+up/, 'status shows the engine');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('two engines: one stopped, new calls go to the other', async (t) => {
    const e4 = await rtpengine(w, 4);
    await rtpengine(w, 5);
    const proxy = w.startProxy(CONF + 'media-engine rtpengine 127.0.0.1:2224 127.0.0.1:2225\n');
    t.ok(await w.proxyUp(proxy), 'proxy started');
    e4.kill('SIGKILL');
    for (let i = 0; i < 3; i++) {
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060, 31010 + i * 2, w.media(`carol2${i}`, '2001:db8:1::20', 40020 + i * 20));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31011 + i * 2, { ...w.media(`alice2${i}`, '127.0.0.10', 40030 + i * 20), callee: 'carol' }, '127.0.0.120:5060', CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `call ${i + 1} completes${tail(uac)}`);
      t.equal(u.code, 0, `and is answered${tail(u)}`);
      const a = await w.peerResult(`alice2${i}`);
      t.ok(a && a.received >= 45, `its media flows: ${JSON.stringify(a)}`);
      t.match(JSON.stringify(a), /"dest":"127\.0\.0\.5:/, 'through the engine that runs');
    }
    t.ok(await waitFor(async () => /sipproxy64_rtpengine_up\{engine="127\.0\.0\.1:2224"\} 0/.test(await w.http('/metrics')), 15000, 500), 'the stopped engine shows down');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  // Two instances behind one address (a rolling restart, or a standby taking the address over):
  // the 200 OK of a call set up through the first reaches the second, which must accept the
  // branch the first signed; then the re-INVITE and BYE go through it, media in rtpengine.
  const callerTraces = (): string[] => readdirSync(w.dir).filter((f) => /^uac-hold_\d+_messages\.log$/.test(f));
  const secrets = (n: string): string => {
    const f = join(w.dir, `secret-${n}`);
    writeFileSync(f, `# made by: openssl rand -hex 32\n${n.repeat(64)}\n`, { mode: 0o600 });
    return f;
  };
  for (const same of [true, false]) t.test(`two instances, ${same ? 'the same secret: one takes over a call the other set up' : 'different secrets: the second refuses what the first signed'}`, async (t) => {
    await rtpengine(w, same ? 6 : 7);
    const conf = CONF + `media-engine rtpengine 127.0.0.1:${same ? 2226 : 2227}\n`;
    const first = w.startProxy(conf + `secret ${secrets('a')}\n`);
    t.ok(await w.proxyUp(first), 'the first instance started');
    const callee = w.sipp('uas-late-hold.xml', '2001:db8:1::20', 5060, 31040, { user: 'carol', mediaip: '2001:db8:1::20', rtpport: '40100' });
    await sleep(300);
    const before = new Set(callerTraces());
    const caller = w.sipp('uac-hold.xml', '127.0.0.10', 5060, 31042, { user: 'alice', callee: 'carol', mediaip: '127.0.0.10', rtpport: '40110' }, '127.0.0.120:5060', 1000);
    t.ok(await waitFor(() => /first="SIP\/2\.0 180 Ringing"/.test(first.log()), 8000, 50), 'the call rings through the first instance');
    // Alice must have heard it ring before the first instance goes: else she sends her INVITE
    // again, the second instance forwards it under its own branch, and carol answers that copy.
    const heard = (): boolean => callerTraces().filter((f) => !before.has(f)).some((f) => /received[\s\S]{0,200}?SIP\/2\.0 180/.test(readFileSync(join(w.dir, f), 'latin1')));
    t.ok(await waitFor(heard, 8000, 50), 'alice heard it ring');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = w.startProxy(conf + `secret ${secrets(same ? 'a' : 'b')}\n`);
    t.ok(await w.proxyUp(second), 'the second instance took over the addresses');
    if (same) {
      const [c, u] = await Promise.all([caller, callee]);
      t.equal(c.code, 0, `alice gets the 200 OK through the second instance, holds the call and hangs up${tail(c)}`);
      t.equal(u.code, 0, `carol's answer, the re-INVITE and the BYE passed the second instance${tail(u)}`);
      t.match(second.log(), /sip out from=127\.0\.0\.120:5060 to=127\.0\.0\.10:5060 \S+ first="SIP\/2\.0 200 OK"/, 'the 200 OK the first instance\'s branch asked for went on');
      t.match(second.log(), /first="BYE sip:carol@\[2001:db8:1::20\]:5060/, 'and the BYE');
    } else {
      t.ok(await waitFor(async () => /sipproxy64_sip_drops_total\{reason="forged-response"\} [1-9]/.test(await w.http('/metrics')), 15000, 250), `the 200 OK is dropped as forged-response: the branch is not this instance's\nfirst:${first.log().slice(-800)}\nsecond:${second.log().slice(-1200)}`);
      w.ns.run('pkill', ['-f', 'sipp'], 5000).catch(() => {});
      await Promise.all([caller, callee]);
    }
    second.child.kill('SIGTERM');
    t.equal(await second.exited, 0, 'SIGTERM exits 0');
  });

  // SPEC 11: a stranger's offers make the engine hold ports within rtp-quota, and those never
  // answered are deleted there after rtp-timeout (rtpengine's own timeout is 60 s; its RTP,
  // if the stranger sent some, would keep them for ever).
  t.test('a stranger\'s offers: rtp-quota at the engine too; unanswered ones deleted there after rtp-timeout', async (t) => {
    await rtpengine(w, 8);
    const proxy = w.startProxy(CONF + 'media-engine rtpengine 127.0.0.1:2228\nrtp-quota 2\nrtp-timeout 1\n');
    t.ok(await w.proxyUp(proxy), 'proxy started');
    const invite = (i: number): string => {
      const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.66\r\ns=-\r\nc=IN IP4 127.0.0.66\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n';
      return `INVITE sip:carol@127.0.0.120 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.66:5060;branch=z9hG4bKquota${i}\r\nMax-Forwards: 70\r\nFrom: <sip:x@127.0.0.66>;tag=q${i}\r\nTo: <sip:carol@127.0.0.120>\r\nCall-ID: quota${i}@127.0.0.66\r\nCSeq: 1 INVITE\r\nContact: <sip:x@127.0.0.66>\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const r = await w.ns.run(process.execPath, [join(process.cwd(), 't/e2e/attacker.mjs'), JSON.stringify({ from: '127.0.0.66', port: 5060, listen: [], send: [1, 2, 3].map((i) => ({ to: '127.0.0.120', port: 5060, data: invite(i), count: 1, delayMs: 300 })), waitMs: 1500 })], 30000);
    t.equal(r.code, 0, `the stranger ran${r.stderr}`);
    const got = JSON.parse(r.stdout) as { answers: string[] };
    t.same(got.answers.filter((a) => !/^SIP\/2\.0 100 /.test(a)), ['SIP/2.0 503 Service Unavailable (media quota of this source)'], 'its third offer got 503 rtp-source-quota');
    t.match(await query(w, 8, 'quota3@127.0.0.66'), /^error/, 'the engine never heard of it');
    t.match(await w.http('/metrics'), /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2228",command="offer",result="ok"\} 2\n/, 'the first two were offered to the engine, and it took them');
    t.ok(await waitFor(async () => (await Promise.all([1, 2].map((i) => query(w, 8, `quota${i}@127.0.0.66`)))).every((q) => /^error/.test(q)), 30000, 500), 'after rtp-timeout (1 s) and a sweep (10 s) the engine holds neither');
    t.match(await w.http('/metrics'), /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2228",command="delete",result="ok"\} 2/, 'two deletes, both taken');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  // SPEC 11: a stranger's answered call goes on counting against rtp-quota for as long as the
  // engine holds it (the proxy asks it at each rtp-timeout), not only for rtp-timeout.
  t.test('a stranger\'s answered call counts against rtp-quota while the engine holds it', async (t) => {
    await rtpengine(w, 9);
    const proxy = w.startProxy(CONF + 'media-engine rtpengine 127.0.0.1:2229\nrtp-quota 1\nrtp-timeout 1\n');
    t.ok(await w.proxyUp(proxy), 'proxy started');
    const uas = w.sipp('uas.xml', '127.0.0.10', 5060, 31040, w.media('alice9', '127.0.0.10', 40100));
    await sleep(300);
    const stranger = w.sipp('uac.xml', '2001:db8:66::66', 5060, 31042, { ...w.media('stranger9', '2001:db8:66::66', 40110), callee: 'alice' }, '[2001:db8:64::10]:5060', 16000);
    const queried = /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2229",command="query",result="ok"\} [1-9]/;
    t.ok(await waitFor(async () => queried.test(await w.http('/metrics')), 25000, 500), 'after rtp-timeout (1 s) a sweep (10 s) asked the engine, which holds the call');
    const body = 'v=0\r\no=- 1 1 IN IP6 2001:db8:66::66\r\ns=-\r\nc=IN IP6 2001:db8:66::66\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n';
    const invite = `INVITE sip:alice@[2001:db8:64::10] SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8:66::66]:5070;branch=z9hG4bKheld1\r\nMax-Forwards: 70\r\nFrom: <sip:x@[2001:db8:66::66]>;tag=h1\r\nTo: <sip:alice@[2001:db8:64::10]>\r\nCall-ID: held1@2001:db8:66::66\r\nCSeq: 1 INVITE\r\nContact: <sip:x@[2001:db8:66::66]:5070>\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const r = await w.ns.run(process.execPath, [join(process.cwd(), 't/e2e/attacker.mjs'), JSON.stringify({ from: '2001:db8:66::66', port: 5070, listen: [], send: [{ to: '2001:db8:64::10', port: 5060, data: invite, count: 1 }], waitMs: 1500 })], 30000);
    t.equal(r.code, 0, `the stranger ran${r.stderr}`);
    t.same((JSON.parse(r.stdout) as { answers: string[] }).answers.filter((a) => !/^SIP\/2\.0 100 /.test(a)), ['SIP/2.0 503 Service Unavailable (media quota of this source)'], 'so the stranger\'s second offer, while its first call is up, gets 503 rtp-source-quota');
    const [s, u] = [await stranger, await uas];
    t.equal(s.code, 0, `the stranger's call itself completes${tail(s)}`);
    t.equal(u.code, 0, `alice answered it${tail(u)}`);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('two IPv4 phones through the IPv6 registrar: the call comes back, another call at the engine (SPEC 6)', async (t) => {
    await w.kamailio();
    await rtpengine(w, 12);
    const proxy = w.startProxy(PROXY_CONF + 'map 127.0.0.11 2001:db8:64::11\nmedia-engine rtpengine 127.0.0.1:2232\n');
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-400)}`);
    for (const [user, addr, ctl] of [['alice', '127.0.0.10', 31200], ['bob', '127.0.0.11', 31202]] as const) {
      const reg = await w.sipp('register.xml', addr, 5060, ctl, { user }, '127.0.0.105:5060');
      t.equal(reg.code, 0, `IPv4 phone ${user} registers at the IPv6 registrar through its face`);
    }
    // Before, the INVITE that came back was the caller's second offer under its tag, from
    // the registrar: 403 media-not-yours, and the call failed.
    await w.call(t, { name: 'alice12', addr: '127.0.0.10', sip: 5060, ctl: 31204, rtp: 40270 }, { name: 'bob12', addr: '127.0.0.11', sip: 5060, ctl: 31206, rtp: 40260 }, 'bob', '127.0.0.105:5060',
      ['IPv4 alice calls IPv4 bob through the IPv6 registrar, media through rtpengine', 'bob answers']);
    const metrics = await w.http('/metrics');
    t.match(metrics, /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2232",command="offer",result="ok"\} 2/, 'two offers: one call at the engine for each passage');
    t.match(metrics, /sipproxy64_rtpengine_requests_total\{engine="127\.0\.0\.1:2232",command="delete",result="ok"\} 2/, 'the BYE deleted each on its way');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });
}, { missing: rtpengineMissing(), extra: ['2001:db8:64::11', '2001:db8::12', '2001:db8::3', '2001:db8::4', '2001:db8::5', '2001:db8::6', '2001:db8::7', '2001:db8::8', '2001:db8::9', '2001:db8:66::66'] });
