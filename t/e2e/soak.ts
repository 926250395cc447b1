// Soak: many calls through the daemon with real RTP (SIPp plays a pcap, the callee echoes
// it), mixed with calls that end by CANCEL, by an error response, and by a lost BYE (the
// relay releases them after rtp-timeout). Early on the proxy stands still for 1.5 s, as on a
// loaded host: callers retransmit and the copies pass as the first did (RFC 3261 16.11). At
// the end no media session or relay port is left, and the process memory is within 10% of
// where it was after the first 1,000 calls.
// SOAK_CALLS (default 2000; `npm run soak`: 20000); SOAK_SIPP: more SIPp options.
// SIPp's sockets get the proxy's 2 MiB buffers: after the stall the proxy's answers come in
// one burst, and SIPp's default (64 KiB) lost some (a fresh CI run failed 9 calls so; with
// SOAK_SIPP='-buff_size 8192' it was seen every run; it passes so now). A UA loses them
// too, so the scenarios recover as RFC 3261 has them: the callee answers a retransmitted
// BYE, the caller retransmits its CANCEL and takes the 200 and the 487 in either order, a
// 486 or 487 is sent again until its ACK and a caller sends the ACK again for each copy.
// SIPp knows a copy by To, From, Call-ID and CSeq (-rtcheck loose): an INVITE that comes
// again after its final response was forwarded (a copy held in the stall) gets new relay
// ports, as the first offer's were released.
import t from 'tap';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { E2E, PROXY_CONF, e2e } from '../lib/world.js';

const CALLS = Number(process.env.SOAK_CALLS ?? 2000);
e2e('soak', (w) => {
  mkdirSync(join(w.dir, 'pcap'), { recursive: true });
  for (const f of readdirSync('/usr/share/sip-tester').filter((n) => n.endsWith('.pcap'))) symlinkSync(join('/usr/share/sip-tester', f), join(w.dir, 'pcap', f));
  const sc = (n: string) => join(E2E, 'scenarios', n);
  // Bounded, with room for a busy machine: 2000 calls take 21 s here, also beside six busy
  // loops. At 200 calls/s a starved SIPp fell behind its own timers (its UDP sends wait,
  // INVITEs are retransmitted before the answer); the callees answer retransmissions.
  const limit = 60 + CALLS / 20;
  const sipp = (args: string[]) => w.ns.run('sipp', [...args, '-nostdin', '-timeout', String(limit), '-timeout_error', '-trace_err', '-max_socket', '4000', '-buff_size', String(1 << 21), '-rtcheck', 'loose', ...(process.env.SOAK_SIPP ?? '').split(' ').filter(Boolean)], (limit + 30) * 1000, w.dir);
  // A pair for every call (up to 3000, 12,000 sockets): on a slow machine more calls overlap,
  // and this test is about leaks, not the pool's size (rtp-ports-exhausted has its own).
  const pairs = Math.min(CALLS, 3000);

  t.test(`${CALLS} calls`, { timeout: (limit + 120) * 1000 }, async (t) => {
    const conf = PROXY_CONF.replace('rtp-ports 30000-30099', `rtp-ports 30000-${30000 + 2 * pairs - 1}`).replace('rtp-timeout 5', 'rtp-timeout 3') +
      'map 2001:db8:1::20 127.0.0.120\nmap 2001:db8:1::21 127.0.0.121\nmap 2001:db8:1::22 127.0.0.122\nmap 2001:db8:1::23 127.0.0.123\n';
    const p = w.startProxy(conf, []);
    t.ok(await w.proxyUp(p), 'proxy up');
    const n = { media: Math.round(CALLS * 0.7), lostbye: Math.round(CALLS * 0.1), busy: Math.round(CALLS * 0.1) };
    const cancel = CALLS - n.media - n.lostbye - n.busy;
    const rate = 100; // calls/s in all
    // Callees: echoing (media), ringing until cancelled, busy, and one that forgets after ACK.
    const callees = [
      sipp(['-sf', sc('soak-uas-media.xml'), '-rtp_echo', '-i', '2001:db8:1::20', '-p', '5060', '-mp', '32000', '-m', String(n.media)]),
      sipp(['-sf', sc('soak-uas-slow.xml'), '-i', '2001:db8:1::21', '-p', '5060', '-mp', '32100', '-m', String(cancel)]),
      sipp(['-sf', sc('soak-uas-busy.xml'), '-i', '2001:db8:1::22', '-p', '5060', '-mp', '32200', '-m', String(n.busy)]),
      sipp(['-sf', sc('soak-uas-nobye.xml'), '-rtp_echo', '-i', '2001:db8:1::23', '-p', '5060', '-mp', '32300', '-m', String(n.lostbye)]),
    ];
    await sleep(500);
    const caller = (file: string, port: number, to: string, count: number) =>
      sipp(['-sf', sc(file), '-i', '127.0.0.10', '-p', String(port), '-mp', String(port * 10 - 16000), '-r', String(Math.max(1, Math.round((rate * count) / CALLS))), '-m', String(count), to]);
    const t0 = Date.now();
    const runs = [
      caller('soak-media.xml', 5070, '127.0.0.120:5060', n.media),
      caller('soak-cancel.xml', 5072, '127.0.0.121:5060', cancel),
      caller('soak-busy.xml', 5074, '127.0.0.122:5060', n.busy),
      caller('soak-lostbye.xml', 5076, '127.0.0.123:5060', n.lostbye),
    ];
    // The stall: every call begun in it is retransmitted, and callees get copies of INVITEs
    // and CANCELs (a fresh CI run once failed so, with SIPp's callees then aborting calls).
    await sleep(400);
    process.kill(p.child.pid!, 'SIGSTOP');
    await sleep(1500);
    process.kill(p.child.pid!, 'SIGCONT');
    // Memory after the first 1,000 calls.
    await sleep((1000 / rate) * 1000 - 900);
    const rss1 = w.rssKb(p.child.pid!);
    const results = await Promise.all(runs);
    // The callees finish their calls too: a message the proxy lost on the way in (an ACK, a
    // CANCEL) fails a callee's call where its caller may not notice.
    const ends = await Promise.all(callees);
    const names = ['with media and BYE', 'cancelled', 'busy (486)', 'BYE lost'];
    const uas = ['echoing', 'ringing until cancelled', 'busy', 'forgetting after ACK'];
    // On a failure, what the proxy refused or dropped and what SIPp logged say why, in the
    // failing assertion's own message (CI's summary shows those, not comments). SIPp logs a
    // recv timeout that jumps on too (a caller's linger ending, the ringing callee's 487 sent
    // again): those are left out.
    let why = '';
    if ([...results, ...ends].some((r) => r.code !== 0)) {
      why = '\n' + (await w.http('/metrics')).split('\n').filter((l) => /^sipproxy64_(sip|rtp)_(refusals|drops)_total/.test(l)).join('\n');
      for (const f of readdirSync(w.dir).filter((n) => n.endsWith('_errors.log'))) why += `\n${f}:\n${readFileSync(join(w.dir, f), 'latin1').split('\n').filter((l) => /^\d{4}-|Aborting|unexpected|timeout|retrans/i.test(l) && !l.includes('jumping to label')).slice(0, 12).join('\n')}`;
    }
    results.forEach((r, i) => t.equal(r.code, 0, `calls ${names[i]} all complete${r.code ? r.stdout.slice(-600) + why : ''}`));
    ends.forEach((r, i) => t.equal(r.code, 0, `callee ${uas[i]}: all calls complete${r.code ? r.stdout.slice(-600) + why : ''}`));
    t.comment(`${CALLS} calls in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Lost BYEs: released by rtp-timeout (3 s); warm sockets unbound after a few more.
    t.ok(await waitFor(() => w.relaySockets().length === 0, 15000, 250), 'no relay port left bound');
    const m = await w.http('/metrics');
    t.match(m, /sipproxy64_media_sessions 0\n/, 'no media session left');
    t.match(m, /sipproxy64_rtp_port_pairs_in_use 0\n/, 'no port pair in use');
    t.match(m, /sipproxy64_internal_errors_total 0\n/, 'no rule failed');
    const invites = [...m.matchAll(/sipproxy64_sip_messages_in_total\{method="INVITE",family="ipv4"\} (\d+)/g)].reduce((a, x) => a + Number(x[1]), 0);
    t.ok(invites > CALLS, `the stall made callers retransmit (${invites} INVITEs in for ${CALLS} calls)`);
    const pk = /sipproxy64_rtp_packets_total\{family="ipv4"\} (\d+)/.exec(m);
    t.ok(pk && Number(pk[1]) >= n.media, `media relayed (${pk?.[1]} packets to IPv4)`);
    await sleep(2000);
    const rss2 = w.rssKb(p.child.pid!);
    t.ok(rss2 <= rss1 * 1.1, `memory ${rss2} kB at the end, ${rss1} kB after the first 1,000 calls (within 10%)`);
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });
}, { missing: (existsSync('/usr/share/sip-tester/dtmf_2833_1.pcap') ? null : 'sip-tester pcaps missing'), extra: ['2001:db8:1::22', '2001:db8:1::23'] });
