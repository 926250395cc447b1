// End to end over real UDP in a namespace: Kamailio as IPv6-only registrar, SIPp phones,
// sipproxy64 between them, real RTP counted at both ends.
import t from 'tap';
import { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALL_MS, E2E, PROXY_CONF, tail, e2e } from '../lib/world.js';
import { waitFor, sleep } from '../lib/netns.js';


e2e('calls', (w) => {

  // The same calls on each media datapath and SIP socket (issue 15): the native addon's
  // threads and sockets, and the event loop with Node's dgram (the fallback without it).
  let kamailio: ChildProcess | null = null;
  for (const datapath of ['native', 'js'] as const) t.test(`calls through Kamailio and sipproxy64, media-datapath ${datapath}, sip-io ${datapath}`, async (t) => {
    kamailio ??= await w.kamailio();
    const proxy = w.startProxy(PROXY_CONF + `map 127.0.0.11 2001:db8:64::11\nmedia-datapath ${datapath}\nmedia-threads 2\nsip-io ${datapath}\n`);
    t.ok(await w.proxyUp(proxy), 'proxy started');
    t.equal(proxy.child.exitCode, null, 'proxy running');
    t.match(proxy.log(), new RegExp(`sipproxy64 started .* sip-io=${datapath} `), `SIP over UDP through ${datapath === 'native' ? 'the addon\'s sockets' : 'Node\'s dgram'}`);

    const reg = await w.sipp('register.xml', '127.0.0.10', 5060, 31000, { user: 'alice' }, '127.0.0.105:5060');
    t.equal(reg.code, 0, 'IPv4 phone alice registers at the IPv6 registrar through its face');
    const regC = await w.sipp('register.xml', '2001:db8:1::20', 5062, 31002, { user: 'carol' }, '[2001:db8:1::5]:5060');
    t.equal(regC.code, 0, 'IPv6 phone carol registers directly');

    // 1. IPv6 caller -> registrar -> proxy -> IPv4 phone.
    {
      // 300 packets each way (6 s): the stream has media, and so outlives rtp-timeout, while
      // the status command and the sessions endpoint are asked (two process starts, seconds
      // on a busy machine).
      const uas = w.sipp('uas.xml', '127.0.0.10', 5060, 31010, w.media('alice1', '127.0.0.10', 40000, 300));
      await sleep(300);
      const uacP = w.sipp('uac.xml', '2001:db8:1::21', 5060, 31012, { ...w.media('carol1', '2001:db8:1::21', 40010, 300), callee: 'alice' }, '[2001:db8:1::5]:5060', 9000);
      t.ok(await waitFor(() => w.relaySockets().length > 0, 5000), 'relay bound');
      await sleep(400);
      // The endpoint first (one HTTP request), then the command (a process start): both
      // while the one-second call still has media, on a busy machine too.
      const stP = w.cli(['status', '--metrics', '127.0.0.1:9064']); // a process start: seconds on a busy machine
      const sessions = JSON.parse(await w.http("/sessions")) as Array<Record<string, unknown>>;
      t.equal(sessions.length, 1, '/sessions lists the stream as JSON');
      // While the command starts (seconds on a busy machine), and so while the media flows.
      let verdict = '';
      const bothWays = await waitFor(async () => {
        const v = (JSON.parse(await w.http('/sessions')) as Array<{ verdictKind: string; verdict: string }>)[0];
        verdict = v ? `${v.verdictKind}: ${v.verdict}` : 'no stream';
        return v?.verdictKind === 'ok';
      }, 4000, 200);
      t.ok(bothWays, `with media both ways the verdict is ok (last: ${verdict})`);
      const st = await stP;
      t.equal(st.code, 0, `sipproxy64 status ${st.stderr}`);
      t.match(st.stdout, /CALL-ID\s+#\s+PORT\s+IPV4 PARTY\s+IPV6 PARTY\s+PKTS>V4\s+PKTS>V6\s+AGE\s+IDLE/);
      t.match(st.stdout, /\s0\s+3000\d\s+127\.0\.0\.10:40000\s+\[2001:db8:1::21\]:40010\s+[1-9]\d*\s+[1-9]\d*/, 'the call, its parties, packets both ways');
      t.match(st.stdout, '1 media stream');
      t.match(st.stdout, /\nVERDICTS\n\S+ #0: (ok|waiting for media.*)\n/, 'its verdict');
      t.match(sessions, [{ from4: { lost: 0, foreign: 0 }, from6: { lost: 0, foreign: 0 } }], '/sessions: the quality of what each side sends, nothing lost');
      const uac = await uacP;
      const u = await uas;
      t.equal(uac.code, 0, `IPv6 caller completes INVITE/200/ACK/BYE${tail(uac)}`);
      t.equal(u.code, 0, `IPv4 phone answers and gets the BYE${tail(u)}`);
      for (const name of ['alice1', 'carol1']) {
        const r = await w.peerResult(name);
        t.ok(r, `${name} RTP peer ran`);
        if (!r) continue;
        t.ok(r.familyOk, `${name} received SDP in its own family`);
        t.equal(r.sent, 300, `${name} sent 300 packets`);
        t.ok(r.received >= 270, `${name} received ${r.received} of 300 packets through the relay`);
      }
    }

    // 2. IPv4 phone -> proxy -> registrar -> IPv6 phone.
    {
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5062, 31020, w.media('carol2', '2001:db8:1::20', 40020));
      await sleep(300);
      const uac = await w.sipp('uac.xml', '127.0.0.10', 5060, 31022, { ...w.media('alice2', '127.0.0.10', 40030), callee: 'carol' }, '127.0.0.105:5060', CALL_MS);
      const u = await uas;
      t.equal(uac.code, 0, `IPv4 caller completes the call${tail(uac)}`);
      t.equal(u.code, 0, `IPv6 phone answers${tail(u)}`);
      for (const name of ['alice2', 'carol2']) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.received >= 45, `${name}: ${JSON.stringify(r)}`);
      }
    }

    // 3. A generic IPv6 party (no map line) calls alice at her face; alice hangs up and
    //    her in-dialog BYE finds dave through received= on our Record-Route.
    {
      const uas = w.sipp('uas-bye.xml', '127.0.0.10', 5060, 31030, w.media('alice3', '127.0.0.10', 40040), undefined, CALL_MS);
      await sleep(300);
      const uac = await w.sipp('uac-wait-bye.xml', '2001:db8::99', 5060, 31032, { ...w.media('dave3', '2001:db8::99', 40050), callee: 'alice' }, '[2001:db8:64::10]:5060');
      const u = await uas;
      t.equal(u.code, 0, `alice's BYE completes${tail(u)}`);
      t.equal(uac.code, 0, `dave receives the BYE and answers it${tail(uac)}`);
      for (const name of ['alice3', 'dave3']) {
        const r = await w.peerResult(name);
        t.ok(r && r.familyOk && r.received >= 45, `${name}: ${JSON.stringify(r)}`);
      }
    }

    // 5. Two IPv4 phones through the IPv6 registrar: the call leaves through the proxy and
    //    comes back; each leg has its own relay pair, and the relay hands packets from one to
    //    the other (SPEC 6). bob's BYE releases both.
    {
      const regB = await w.sipp('register.xml', '127.0.0.11', 5060, 31050, { user: 'bob' }, '127.0.0.105:5060');
      t.equal(regB.code, 0, 'IPv4 phone bob registers through the registrar\'s face');
      await w.call(t, { name: 'alice5', addr: '127.0.0.10', sip: 5060, ctl: 31052, rtp: 40070 }, { name: 'bob5', addr: '127.0.0.11', sip: 5060, ctl: 31054, rtp: 40060 }, 'bob', '127.0.0.105:5060',
        ['IPv4 alice calls IPv4 bob through the IPv6 registrar', 'bob answers']);
    }

    // 4. Not an open relay: a stranger asks for an unmapped destination.
    const refused = await w.sipp('refused.xml', '127.0.0.50', 5070, 31040, { callee: 'victim@127.0.0.77' }, '127.0.0.1:5060');
    t.equal(refused.code, 0, 'a request from an unknown source to an unmapped destination gets 403');

    // After BYE, no relay port is left: the sessions end at once, and their sockets are
    // unbound once they have stayed warm for reuse a few seconds (src/media/relay.ts).
    t.match(await w.http('/metrics'), /sipproxy64_rtp_port_pairs_in_use 0/, 'no relay port in use after the calls');
    t.ok(await waitFor(() => w.relaySockets().length === 0, 8000, 200), 'no relay socket left bound');
    t.equal(proxy.child.exitCode, null, 'proxy still running');
    const metrics = await w.http('/metrics');
    t.match(metrics, /sipproxy64_sip_messages_in_total\{method="INVITE",family="ipv6"\} [1-9]/, 'messages in by method and family');
    t.match(metrics, /sipproxy64_sip_messages_out_total\{method="INVITE",family="ipv4"\} [1-9]/, 'messages out by method and family');
    t.match(metrics, /sipproxy64_sip_refusals_total\{reason="403 not-a-relay"\} 1/, 'the refusal, by reason');
    t.match(metrics, /sipproxy64_rtp_packets_total\{family="ipv4"\} [1-9]\d\d/, 'relayed packets by family');
    t.match(metrics, /sipproxy64_rtp_bytes_total\{family="ipv6"\} [1-9]\d{4}/, 'relayed bytes by family');
    t.match(metrics, /sipproxy64_media_sessions 0/, 'no session left');
    t.match(metrics, /sipproxy64_rtp_port_pairs 50/, 'port pool size');
    // Native: with io_uring (media-io auto, on a kernel that allows it, as this one does).
    t.match(metrics, datapath === 'native' ? /sipproxy64_rtp_datapath\{datapath="native",threads="2",io="io_uring"\} 1/ : /sipproxy64_rtp_datapath\{datapath="js",threads="1",io=""\} 1/, `the ${datapath} datapath relayed them`);
    t.match(metrics, /sipproxy64_sip_parse_errors_total 0/);
    t.match(proxy.log(), /sip in .*INVITE/, '-v logs each message in');
    t.match(proxy.log(), /sip out /, '-v logs each message out');
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });

  // A second node of dave's side ends his call to alice: its BYE comes from 2001:db8::98, an
  // address no SIP of the call came from, so it does not end the media by itself (SPEC 11);
  // alice's 200 OK to it does (RFC 3261 15.1.2), before rtp-timeout could: the RTP peers
  // send for 6 s, and the streams are gone when the node has its answer.
  t.test('a BYE from another node of a party ends the media with the answer to it', async (t) => {
    const calls = join(w.dir, 'node-bye-calls.jsonl');
    const proxy = w.startProxy(PROXY_CONF + `call-log ${calls}\n`);
    t.ok(await w.proxyUp(proxy), 'proxy started');
    const byeout = join(w.dir, 'node-bye.json');
    const uas = w.sipp('uas.xml', '127.0.0.10', 5060, 31060, w.media('alice6', '127.0.0.10', 40080, 300));
    await sleep(300);
    const uac = w.sipp('uac-node-bye.xml', '2001:db8::99', 5060, 31062, { ...w.media('dave6', '2001:db8::99', 40090, 300), callee: 'alice', bye: join(E2E, 'bye-node.mjs'), node: '2001:db8::98', nodeport: '5070', byeout }, '[2001:db8:64::10]:5060');
    t.ok(await waitFor(() => existsSync(byeout), 20000, 100), 'the node\'s BYE is answered or gives up');
    const status = existsSync(byeout) ? (JSON.parse(readFileSync(byeout, 'utf8')) as { status: number }).status : -1;
    t.equal(status, 200, 'alice answers the node\'s BYE 200 OK through the proxy');
    t.match(await w.http('/metrics'), /sipproxy64_media_sessions 0\n/, 'her answer has released the streams while the RTP peers still send');
    const [u, c] = [await uas, await uac];
    t.equal(u.code, 0, `alice gets the node's BYE and answers it${tail(u)}`);
    t.equal(c.code, 0, `dave's call is answered${tail(c)}`);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
    const line = readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ended: { why: string; by: string } });
    t.same(line.map((l) => l.ended), [{ why: 'bye', by: '[2001:db8::98]:5070' }], 'the call log: ended by the node\'s BYE');
  });
}, { extra: ['2001:db8:64::11', '2001:db8::98'] });
