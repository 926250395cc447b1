// HEP traces and the call log (issue 19) over real UDP in a namespace: sngrep (Debian's, a HEP decoder someone
// else wrote) listens as the collector while an IPv4 phone calls an IPv6 one; what it
// decoded is read back by tshark: each message in and out, with its addresses and ports.
// Then `rewrite --pcap` replays tcpdump's captures of calls over UDP and TCP.
// (tshark 4.0 has no HEP dissector of its own; sngrep 1.6 writes IPv6 packets with 0.0.0.0
// addresses, so those are checked by port, method and Call-ID.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { CALL_MS, e2e, tail, TWO_PARTIES } from '../lib/world.js';

const has = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const CONF = TWO_PARTIES + 'hep 127.0.0.1:9060 2001\n';

e2e('hep', (w) => {
  // sip-io native: through the addon's socket, sent with each read's answers; js: Node's dgram.
  for (const io of ['native', 'js']) t.test(`every SIP message in and out reaches the collector as HEPv3 (sip-io ${io})`, async (t) => {
    const out = join(w.dir, `hep-${io}.pcap`);
    const sngrep = w.ns.start('sngrep', ['-N', '-q', '-F', '-L', 'udp:127.0.0.1:9060', '-O', out]);
    t.teardown(() => sngrep.kill('SIGKILL'));
    t.ok(await waitFor(() => w.ns.udpSockets().includes('127.0.0.1:9060 '), 8000, 100), 'sngrep listens for HEP');
    const proxy = w.startProxy(CONF + `sip-io ${io}\nmetrics 127.0.0.1:9064\n`);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-300)}`);
    t.match(proxy.log(), new RegExp(`hep="?127\\.0\\.0\\.1:9060 ${io}`), `the mirror sends through ${io}`);
    // Its socket is connected to the collector, so the kernel drops what anyone else sends it (SPEC 11).
    const mirrorSock = w.ns.udpSockets().split('\n').find((l) => /^ESTAB\s.*\s127\.0\.0\.1:9060\s.*sipproxy64/.test(l));
    t.ok(mirrorSock, `the mirror's socket is connected to the collector: ${mirrorSock}`);
    const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060, 31000, w.media('carol', '2001:db8:1::20', 40000));
    await sleep(300);
    const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31002, { ...w.media('alice', '127.0.0.10', 40010), callee: 'carol' }, '127.0.0.120:5060', CALL_MS);
    const u = await uas;
    t.equal(uac.code, 0, `alice calls carol${tail(uac)}`);
    t.equal(u.code, 0, `carol answers${tail(u)}`);
    const metrics = await w.http('/metrics');
    const hep = (r: string): number => Number(new RegExp(`^sipproxy64_hep_datagrams_total\\{result="${r}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? -1);
    t.ok(hep('sent') >= 10 && hep('failed') === 0, `sipproxy64_hep_datagrams_total: ${hep('sent')} sent, ${hep('failed')} failed`);
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    await sleep(300);
    sngrep.kill('SIGINT'); // it writes its capture as it ends
    await waitFor(() => sngrep.exitCode !== null || sngrep.signalCode !== null, 5000, 100);
    const r = spawnSync('tshark', ['-r', out, '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.CSeq.method'], { encoding: 'utf8' });
    t.equal(r.status, 0, `tshark reads what sngrep decoded ${r.status === 0 ? '' : r.stderr.slice(-300)}`);
    const rows = r.stdout.trim().split('\n');
    const v4 = '127.0.0.10|5060|127.0.0.120|5060|';
    for (const want of [`${v4}INVITE||INVITE`, `${v4}ACK||ACK`, `${v4}BYE||BYE`, '127.0.0.120|5060|127.0.0.10|5060||200|INVITE', '127.0.0.120|5060|127.0.0.10|5060||200|BYE']) {
      t.ok(rows.includes(want), `IPv4 side, as the proxy saw it: ${want}`);
    }
    for (const m of ['INVITE', 'ACK', 'BYE']) t.ok(rows.some((x) => x.endsWith(`|5060|${m}||${m}`) && !x.startsWith('127.')), `the IPv6 side too: ${m} to carol`);
    t.ok(rows.length >= 10 && rows.every((x) => /\|(INVITE|ACK|BYE)?\|\d*\|(INVITE|ACK|BYE)$/.test(x)), `each message in and out, all of them SIP (a 180, a retransmission may add some): ${JSON.stringify(rows)}`);
  });

  t.test('call-log: a JSON line per call as it ends, reopened on USR1 after a rename', async (t) => {
    const file = join(w.dir, 'calls.jsonl');
    const proxy = w.startProxy(TWO_PARTIES + `call-log ${file}\n`);
    t.ok(await w.proxyUp(proxy), 'proxy started');
    const call = async (n: number): Promise<void> => {
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060, 31200 + n * 20, w.media(`carol${n}`, '2001:db8:1::20', 40020 + n * 20));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31210 + n * 20, { ...w.media(`alice${n}`, '127.0.0.10', 40030 + n * 20), callee: 'carol' }, '127.0.0.120:5060', CALL_MS);
      t.equal(uac.code, 0, `call ${n}${tail(uac)}`);
      t.equal((await uas).code, 0, `answered`);
    };
    await call(1);
    t.ok(await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'), 5000, 100), 'a line when the call ended');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    t.equal(lines.length, 1, 'one line for one call');
    const c = JSON.parse(lines[0]);
    t.match(c, { callId: /^1-\d+@127\.0\.0\.10$/, offer: /^20\d\d-/, answer: /^20\d\d-/, end: /^20\d\d-/, ended: { why: 'bye', by: '127.0.0.10:5060' }, offerer: '127.0.0.10' }, 'the call: its times, ended by alice\'s BYE');
    t.ok(c.duration >= CALL_MS / 1000 - 1 && c.duration < 30, `its duration from the answer: ${c.duration} s`);
    t.match(c.streams, [{ index: 0, ipv4: { party: '127.0.0.10:40050', relay: /^127\.0\.0\.1:3\d{4}$/, sent: { packets: Number, lost: 0, foreign: 0 } }, ipv6: { party: '[2001:db8:1::20]:40040', relay: /^\[2001:db8::1\]:3\d{4}$/, sent: { lost: 0 } }, verdict: String }], 'its stream: each party, the relay port it used, what it sent');
    t.ok(c.streams[0].ipv4.sent.packets >= 50 && c.streams[0].ipv6.sent.packets >= 50, 'the 50 counted packets of each party (and the probes)');
    // logrotate without copytruncate: rename, then USR1.
    renameSync(file, `${file}.1`);
    proxy.child.kill('SIGUSR1');
    t.ok(await waitFor(() => /SIGUSR1: reopening the call log/.test(proxy.log()), 5000, 50), 'USR1 taken');
    await call(2);
    t.ok(await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').length === 2, 5000, 100), 'the next call is in a new file');
    t.equal(readFileSync(`${file}.1`, 'utf8').trim().split('\n').length, 1, 'the rotated one keeps its line');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  t.test('rewrite --pcap replays tcpdump\'s captures (Ethernet and Linux cooked, UDP and TCP) as the daemon ran them', async (t) => {
    const secret = join(w.dir, 'secret');
    writeFileSync(secret, `${'c'.repeat(64)}\n`, { mode: 0o600 });
    const conf = join(w.dir, 'replay.conf');
    // The daemon's own secret for rewrite too: then its branches are the daemon's, byte for byte.
    writeFileSync(conf, TWO_PARTIES + `tcp yes\nsecret ${secret}\n`);
    const lo = join(w.dir, 'lo.pcap'), any = join(w.dir, 'any.pcap');
    const dumps = [w.ns.start('tcpdump', ['-i', 'lo', '-U', '-w', lo, 'port 5060']), w.ns.start('tcpdump', ['-i', 'any', '-U', '-w', any, 'port 5060'])];
    let said = '';
    for (const d of dumps) d.stderr?.on('data', (b: Buffer) => (said += b.toString()));
    t.teardown(() => dumps.forEach((d) => d.kill('SIGKILL')));
    t.ok(await waitFor(() => (said.match(/listening on/g) ?? []).length === 2, 8000, 100), 'tcpdump listens on lo and on any');
    const proxy = w.startProxy(readFileSync(conf, 'utf8'));
    t.ok(await w.proxyUp(proxy), 'proxy started');
    for (const [n, extra] of [[5, []], [6, ['-t', 't1']]] as const) {
      // Carol listens before alice calls: over TCP nobody retransmits the INVITE (the proxy is
      // stateless). Her last call's socket must be gone first (its RTP peer holds it a while).
      const carolUp = (): boolean => w.ns.udpSockets().includes('[2001:db8:1::20]:5060 ');
      await waitFor(() => !carolUp(), 8000, 50);
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060, 31300 + n * 20, w.media(`carol${n}`, '2001:db8:1::20', 40100 + n * 20));
      await waitFor(carolUp, 8000, 50);
      await sleep(200);
      const uac = await w.sipp('uac.xml', '127.0.0.10', 5070 + n, 31310 + n * 20, { ...w.media(`alice${n}`, '127.0.0.10', 40110 + n * 20), callee: 'carol' }, '127.0.0.120:5060', 1000, [...extra]);
      t.equal(uac.code, 0, `alice calls carol over ${extra.length ? 'TCP' : 'UDP'}${tail(uac)}`);
      t.equal((await uas).code, 0, 'carol answers');
    }
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    await sleep(300);
    for (const d of dumps) d.kill('SIGINT');
    await waitFor(() => dumps.every((d) => d.exitCode !== null || d.signalCode !== null), 5000, 100);
    const out = join(w.dir, 'replayed.pcap');
    const r = await w.cli(['rewrite', '-c', conf, '--pcap', lo, '--write', out]);
    t.equal(r.code, 0, `rewrite --pcap runs ${r.stderr.slice(-300)}`);
    t.match(r.stdout, /# packet \d+ \S+ 127\.0\.0\.10:5075 -> 127\.0\.0\.120:5060 udp\nsend \[2001:db8:64::10\]:5060 \[2001:db8:1::20\]:5060\nINVITE sip:carol@\[2001:db8:1::20\]:5060 SIP\/2\.0\r\n/, 'the UDP INVITE as it came, and what the proxy makes of it');
    t.match(r.stdout, /# packet \d+ \S+ 127\.0\.0\.10:\d+ -> 127\.0\.0\.120:5060 tcp\nsend \[2001:db8:64::10\]:5060 \[2001:db8:1::20\]:5060\nINVITE sip:carol@/, 'and the one that came over TCP');
    // What rewrite makes of the captured INVITE is what the daemon sent (captured too).
    const sent = (r.stdout.split('\n# packet ').find((b) => / 127\.0\.0\.10:5075 -> 127\.0\.0\.120:5060 udp\nsend /.test(b) && /\nINVITE /.test(b)) ?? '').split('\n').slice(2).join('\n');
    const live = spawnSync('tshark', ['-r', lo, '-Y', 'sip.Method == "INVITE" && ipv6.dst == 2001:db8:1::20 && udp.srcport == 5060', '-T', 'fields', '-e', 'sip.Via'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    t.ok(live && sent.includes(live.split(',')[0]), `the replayed INVITE has the daemon's own Via branch (shared secret): ${live}`);
    const dec = spawnSync('tshark', ['-r', out, '-T', 'fields', '-E', 'separator=|', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'sip.Method'], { encoding: 'utf8' }).stdout;
    t.match(dec, /2001:db8:64::10\|2001:db8:1::20\|INVITE/, '--write: tshark reads the replayed INVITE, to carol over IPv6');
    const cooked = await w.cli(['rewrite', '-c', conf, '--pcap', any]);
    t.equal(cooked.code, 0, 'the Linux cooked capture (-i any) replays too');
    t.match(cooked.stdout, /127\.0\.0\.10:5075 -> 127\.0\.0\.120:5060 udp\nsend \[2001:db8:64::10\]:5060 \[2001:db8:1::20\]:5060\nINVITE /);
  });
}, { missing: has('sngrep') && has('tshark') && has('tcpdump') ? null : 'sngrep, tshark and tcpdump are not installed (apt-get install sngrep tshark tcpdump)' });
