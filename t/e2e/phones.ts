// Real softphones end to end: baresip as IPv4-only and IPv6-only phones, each in a namespace
// of its own on a bridge of the core (so that its RTP leaves from its own address), with
// Kamailio as the IPv6-only registrar and sipproxy64 between them. Each phone plays a tone and
// records what it decodes: the call is heard both ways, at the other phone's pitch. The same
// calls on each media datapath (native, js) and through rtpengine (media-engine, on
// 192.0.2.3 and 2001:db8::3); a call held and resumed; SRTP and DTLS-SRTP with the
// registrar forking; a blind transfer.
//   br4: alice 192.0.2.10         core: sipproxy64 (192.0.2.1/.2/.105, 2001:db8::1/::2,
//   br6: carol 2001:db8:1::20,          2001:db8:64::10), Kamailio [2001:db8:1::5]
//        bob 2001:db8:1::21
import t from 'tap';
import { ChildProcess } from 'node:child_process';
import { Baresip, baresipMissing, bothHear, callAndHear, failed, phonesUp, pitch } from '../lib/baresip.js';
import { sh } from '../lib/masqnet.js';
import { waitFor } from '../lib/netns.js';
import { rtpengine, rtpengineMissing } from '../lib/rtpengine.js';
import { cannotRun, Proxy, World } from '../lib/world.js';

const CONF = `generic4 192.0.2.1
generic6 2001:db8::1
media4 192.0.2.2
media6 2001:db8::2
map 192.0.2.10 2001:db8:64::10
map 192.0.2.11 2001:db8:64::11
map 2001:db8:1::5 192.0.2.105
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;
const ALICE_HZ = 440;
const CAROL_HZ = 1000;
const BOB_HZ = 700;
const SOFT_HZ = 550;

if (!cannotRun(baresipMissing())) {
  let kamailio: ChildProcess | null = null; // one registrar for the file: its bindings outlive each phone
  const core = new World('phc');
  const a = new World('pha');
  const c = new World('phk');
  const b = new World('phb');
  const d = new World('phd');
  t.teardown(() => {
    for (const w of [core, a, c, b, d]) w.destroy();
  });
  for (const w of [core, a, c, b, d]) w.ns.setup([]);
  const C = core.ns.name;
  // The core's two segments, a bridge each. The IPv4 side: the proxy's generic and media
  // addresses, rtpengine's and the registrar's face; the IPv6 side: the proxy's addresses,
  // rtpengine's, alice's face and Kamailio.
  sh(`ip -n ${C} link add br4 type bridge && ip -n ${C} link add br6 type bridge && ip -n ${C} link set br4 up && ip -n ${C} link set br6 up`);
  sh(`for x in 192.0.2.1/24 192.0.2.2/32 192.0.2.3/32 192.0.2.105/32; do ip -n ${C} addr add $x dev br4; done`);
  sh(`for x in 2001:db8:1::1/64 2001:db8:1::5/128 2001:db8::1/128 2001:db8::2/128 2001:db8::3/128 2001:db8:64::10/128 2001:db8:64::11/128; do ip -n ${C} -6 addr add $x dev br6 nodad; done`);
  /** A phone's namespace on a segment of the core, at `ip`, its default route via the core. */
  const attach = (w: World, port: string, ip: string) => {
    const v6 = ip.includes(':');
    sh(`ip link add ${port} netns ${C} type veth peer name p-phone netns ${w.ns.name} && ip -n ${C} link set ${port} master ${v6 ? 'br6' : 'br4'} && ip -n ${C} link set ${port} up`);
    sh(`ip -n ${w.ns.name} ${v6 ? '-6 ' : ''}addr add ${ip}/${v6 ? '64 nodad' : '24'} dev p-phone && ip -n ${w.ns.name} link set p-phone up && ip -n ${w.ns.name} ${v6 ? '-6 ' : ''}route add default via ${v6 ? '2001:db8:1::1' : '192.0.2.1'}`);
  };
  attach(a, 'p-a', '192.0.2.10');
  attach(c, 'p-c', '2001:db8:1::20');
  attach(b, 'p-b', '2001:db8:1::21');
  attach(d, 'p-d', '192.0.2.11');

  type Tap = Pick<typeof t, 'ok' | 'equal' | 'match' | 'teardown'>;
  /** The registrar (one for the file) and a proxy on `conf` that logs each message (-v). */
  const proxyUp = async (t: Tap, conf = CONF): Promise<Proxy> => {
    kamailio ??= await core.kamailio();
    const proxy = core.startProxy(conf, ['-v']);
    t.ok(await core.proxyUp(proxy), `proxy started${proxy.child.exitCode === null ? '' : `: ${proxy.log().slice(-500)}`}`);
    return proxy;
  };
  const proxyDown = async (t: Tap, proxy: Proxy): Promise<void> => {
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  };

  /** alice calls carol, puts her on hold (a re-INVITE, sendonly) and takes her back: heard again. */
  /** alice calls carol; one of them (`carolHolds`: the IPv6 callee) holds and resumes. */
  async function holdResume(t: Tap, alice: Baresip, carol: Baresip, carolHolds = false): Promise<void> {
    const [a0, c0] = [alice.events.length, carol.events.length];
    alice.command('dial', 'sip:carol@192.0.2.105');
    t.ok(await alice.event('CALL_ESTABLISHED', 15000, a0), 'alice calls carol again');
    t.ok(await bothHear([alice, carol], 1), 'both hear each other');
    const [holder, other, names] = carolHolds ? [carol, alice, ['carol', 'alice']] : [alice, carol, ['alice', 'carol']];
    for (const [step, param] of [['hold', 'sendonly'], ['resume', 'sendrecv']]) {
      const c1 = other.events.length;
      holder.command(step);
      const offer = await other.event('CALL_REMOTE_SDP', 15000, c1);
      t.equal(offer?.param, 'offer', `${names[0]}'s ${step} (${param}) reaches ${names[1]} as a re-INVITE with an offer`);
    }
    // baresip 1.0.0 restarts its player at the resume, and with ALSA's null device it then
    // decodes no more into its recording: count what the relay passes each way instead.
    const packets = async () => {
      const s = (JSON.parse(await core.http('/sessions')) as Array<{ from4?: { packets: number }; from6?: { packets: number } }>)[0];
      return [s?.from4?.packets ?? 0, s?.from6?.packets ?? 0];
    };
    const before = await packets();
    let now = before;
    const again = await waitFor(async () => {
      now = await packets();
      return now[0] >= before[0] + 50 && now[1] >= before[1] + 50;
    }, 15000, 250);
    t.ok(again, `after the resume the relay passes media both ways again: from alice ${before[0]} -> ${now[0]}, from carol ${before[1]} -> ${now[1]} packets`);
    alice.command('hangup');
    t.ok(await carol.event('CALL_CLOSED', 15000, c0), 'carol gets the BYE');
    pitch(t, alice.takeHeard(), CAROL_HZ, 'alice', 1);
    pitch(t, carol.takeHeard(), ALICE_HZ, 'carol', 1);
  }

  t.test('baresip phones: IPv4 and IPv6 call each other through the registrar, heard both ways', async (t) => {
    kamailio ??= await core.kamailio();
    const alice = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105>;regint=600;answermode=auto', ALICE_HZ, '40000-40019');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    t.teardown(() => Promise.all([alice.stop(), carol.stop()]));
    const engine = rtpengineMissing();
    if (!engine) await rtpengine(core, 3, '192.0.2.3', '2001:db8::3');
    for (const media of ['native', 'js', 'rtpengine']) {
      if (media === 'rtpengine' && engine) {
        t.fail(`media-engine rtpengine cannot be tried: ${engine}`);
        continue;
      }
      const proxy = core.startProxy(CONF + (media === 'rtpengine' ? 'media-engine rtpengine 127.0.0.1:2223\n' : `media-datapath ${media}\n`));
      t.ok(await core.proxyUp(proxy), `proxy started, ${media === 'rtpengine' ? 'media-engine' : 'media-datapath'} ${media}`);
      if (media !== 'rtpengine') t.match(proxy.log(), new RegExp(`datapath="?${media}`), `the ${media} datapath relays`);
      if (media === 'native') {
        const run = (await alice.ready()) && (await carol.ready());
        t.ok(run, 'both phones run' + (run ? '' : failed(alice, carol)));
        const reg = [await alice.registered(), await carol.registered()];
        t.ok(reg[0], 'alice (IPv4) registers at the IPv6 registrar through its face' + (reg[0] ? '' : failed(alice)));
        t.ok(reg[1], 'carol (IPv6) registers directly' + (reg[1] ? '' : failed(carol)));
      }
      await callAndHear(t, alice, carol, 'sip:carol@192.0.2.105', [ALICE_HZ, CAROL_HZ], ['alice', 'carol']);
      await callAndHear(t, carol, alice, 'sip:alice@[2001:db8:1::5]', [CAROL_HZ, ALICE_HZ], ['carol', 'alice']);
      if (media === 'native') {
        await holdResume(t, alice, carol);
        await holdResume(t, alice, carol, true); // the re-INVITEs from the IPv6 side
      }
      if (media === 'rtpengine') {
        t.match(alice.log, /receiving from 192\.0\.2\.3:32\d\d\d/, 'alice got her media from rtpengine\'s IPv4 address');
        t.match(carol.log, /receiving from \[?2001:db8::3\]?:32\d\d\d/, 'carol got hers from its IPv6 address');
      }
      t.ok(await waitFor(() => core.relaySockets().length === 0, 8000, 200), 'no relay socket left after the calls');
      await proxyDown(t, proxy);
    }
  });

  // Encrypted media passes the relay untouched: SRTP keyed in the SDP (RFC 4568, its
  // a=crypto lines pass through) and DTLS-SRTP (RFC 5763/5764, the handshake goes through
  // the relay). Each phone hears the other only if the keys and the packets arrived whole.
  // Each new phone registers a new Contact while the registrar keeps the old one: it forks
  // each call to alice in parallel, both branches through us, and the old one answers 404
  // (RFC 3261 16.7). That branch's end must not end the call's media.
  t.test('baresip phones: SRTP and DTLS-SRTP calls across the families, the registrar forking, heard both ways', async (t) => {
    const proxy = await proxyUp(t);
    for (const enc of ['srtp-mand', 'dtls_srtp']) {
      const alice = new Baresip(a, '192.0.2.10', `<sip:alice@192.0.2.105>;regint=600;answermode=auto;mediaenc=${enc}`, ALICE_HZ, '40000-40019');
      const carol = new Baresip(c, '2001:db8:1::20', `<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto;mediaenc=${enc}`, CAROL_HZ, '40020-40039');
      await phonesUp(t, [alice, carol], `both phones run and register, mediaenc=${enc}`);
      await callAndHear(t, alice, carol, 'sip:carol@192.0.2.105', [ALICE_HZ, CAROL_HZ], ['alice', 'carol']);
      const forked = proxy.log().split('\n').filter((l) => l.includes('first="SIP/2.0 404 Not Found"')).length;
      await callAndHear(t, carol, alice, 'sip:alice@[2001:db8:1::5]', [CAROL_HZ, ALICE_HZ], ['carol', 'alice']);
      t.ok(proxy.log().split('\n').filter((l) => l.includes('first="SIP/2.0 404 Not Found"')).length > forked, 'the registrar forked the call to alice, and her old binding\'s branch ended in 404');
      await Promise.all([alice.stop(), carol.stop()]);
    }
    await proxyDown(t, proxy);
  });

  // A blind transfer across the families (RFC 3515): carol (IPv6) sends alice (IPv4) a REFER
  // to bob (IPv6); its Refer-To reaches alice written for her side, her INVITE to it goes out
  // through the proxy, and alice and bob hear each other.
  t.test('baresip phones: a blind transfer (REFER) of an IPv4 phone to another IPv6 phone', async (t) => {
    const proxy = await proxyUp(t);
    const alice = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105>;regint=600;answermode=auto', ALICE_HZ, '40000-40019');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    const bob = new Baresip(b, '2001:db8:1::21', '<sip:bob@[2001:db8:1::5]>;regint=600;answermode=auto', BOB_HZ, '40040-40059');
    await phonesUp(t, [alice, carol, bob], 'the three phones run and register');
    const [a0, c0, b0] = [alice.events.length, carol.events.length, bob.events.length];
    alice.command('dial', 'sip:carol@192.0.2.105');
    t.ok(await carol.event('CALL_ESTABLISHED', 15000, c0), 'alice calls carol');
    t.ok(await bothHear([alice, carol], 1), 'they hear each other');
    carol.command('transfer', 'sip:bob@[2001:db8:1::5]');
    const up = await bob.event('CALL_ESTABLISHED', 15000, b0);
    t.ok(up, 'carol transfers alice to bob: alice calls bob' + (up ? '' : failed(alice, carol, bob) + proxy.log().slice(-1500)));
    t.match(proxy.log(), /in from=\[2001:db8:1::5\]:5060 to=\[2001:db8:64::10\]:5060 bytes=\d+ first="REFER /, 'the REFER came through the proxy');
    t.ok(await carol.event('CALL_CLOSED', 15000, c0), 'carol\'s call ends');
    t.ok(await bothHear([alice, bob], 2), 'alice and bob hear each other');
    alice.command('hangup');
    t.ok(await bob.event('CALL_CLOSED', 15000, b0), 'alice hangs up, bob gets the BYE');
    t.ok(await alice.event('CALL_CLOSED', 15000, a0), 'alice\'s calls are over');
    pitch(t, alice.takeHeard(), BOB_HZ, 'alice');
    pitch(t, bob.takeHeard(), ALICE_HZ, 'bob');
    carol.takeHeard();
    await proxyDown(t, proxy);
  });

  // Two phones of one user (RFC 3261 16.7): the registrar rings both, both through the proxy.
  // The desk phone answers early (183 with SDP: it sets the callee's side); then the
  // softphone answers. The call's media must follow the dialog that answered: carol hears the
  // softphone, not the desk phone, and the softphone hears carol.
  t.test('baresip phones: a call forked to two IPv4 phones, one with early media, the other answers', async (t) => {
    const proxy = await proxyUp(t);
    const desk = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105>;regint=600;answermode=early', ALICE_HZ, '40000-40019');
    const soft = new Baresip(d, '192.0.2.11', '<sip:alice@192.0.2.105>;regint=600;answermode=manual', SOFT_HZ, '40060-40079');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    await phonesUp(t, [desk, soft, carol], 'alice\'s two phones and carol run and register');
    const [c0, s0] = [carol.events.length, soft.events.length];
    carol.command('dial', 'sip:alice@[2001:db8:1::5]');
    t.ok(await soft.event('CALL_INCOMING', 15000, s0), 'the softphone rings');
    // (baresip 1.0.0 answers early with SDP but sends no audio: the 183 sets the side alone)
    const early = await carol.event('CALL_PROGRESS', 15000, c0);
    t.ok(early, 'the desk phone answers early: a 183 with SDP reaches carol' + (early ? '' : failed(desk, carol)));
    t.match(proxy.log(), /in from=192\.0\.2\.10:5060 to=192\.0\.2\.105:5060 bytes=\d+ first="SIP\/2\.0 183 /, 'it came through the proxy');
    const before = carol.recording();
    soft.command('accept');
    t.ok(await carol.event('CALL_ESTABLISHED', 15000, c0), 'the softphone answers: the call is up');
    const both = await waitFor(() => (carol.hearing(before)?.seconds ?? 0) >= 2 && (soft.hearing()?.seconds ?? 0) >= 2, 15000, 200);
    t.ok(both, 'carol and the softphone hear each other' + (both ? '' : failed(soft, carol) + (await core.http('/sessions'))));
    const h = carol.hearing(before);
    t.ok(h && Math.abs(h.hz - SOFT_HZ) <= SOFT_HZ * 0.05, `what carol hears after the answer is the softphone's tone: ${h?.hz} Hz, it sends ${SOFT_HZ} Hz (the desk phone ${ALICE_HZ} Hz)`);
    carol.command('hangup');
    t.ok(await soft.event('CALL_CLOSED', 15000, s0), 'carol hangs up, the softphone gets the BYE');
    pitch(t, soft.takeHeard(), CAROL_HZ, 'the softphone');
    for (const p of [desk, carol]) p.takeHeard();
    await proxyDown(t, proxy);
  });

  // SIP over TCP from a real phone (RFC 3261 18): alice registers and calls over TCP; the
  // IPv6 registrar speaks UDP only (tcp yes: the proxy changes transport on the way), and
  // carol's call comes back to her over TCP through it.
  t.test('baresip phones: an IPv4 phone on TCP behind a firewall registers, calls and is called through a UDP-only registrar', async (t) => {
    // tcp-idle 2: her registration, not tcp-idle, keeps her connection open (RFC 5626 5.3).
    const proxy = await proxyUp(t, CONF + 'tcp yes\ntcp-idle 2\n');
    const alice = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105;transport=tcp>;regint=600;answermode=auto', ALICE_HZ, '40000-40019');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    await phonesUp(t, [alice, carol], 'alice registers over TCP, carol over UDP', ['TCP']);
    await callAndHear(t, alice, carol, 'sip:carol@192.0.2.105', [ALICE_HZ, CAROL_HZ], ['alice', 'carol']);
    t.match(proxy.log(), /in from=192\.0\.2\.10:\d+ to=192\.0\.2\.105:5060 transport=tcp bytes=\d+ first="INVITE /, 'alice\'s INVITE came over TCP');
    t.match(proxy.log(), /out from=\[2001:db8:64::10\]:5060 to=\[2001:db8:1::5\]:5060 bytes=\d+ first="INVITE /, 'and went on over UDP');
    // RFC 3261 19.1.5: her Contact's transport=tcp went to the registrar as ;sp64t=tcp-PORT,
    // so the UDP-only registrar reaches her face over UDP and the proxy reaches her over TCP,
    // on the connection she registered on (RFC 5626 5.3): her firewall takes no new one.
    const fw = `ip netns exec ${a.ns.name} nft`;
    sh(`${fw} add table inet phonefw && ${fw} 'add chain inet phonefw in { type filter hook input priority 0; }' && ${fw} add rule inet phonefw in tcp dport 5060 ct state new drop`);
    t.teardown(() => sh(`${fw} delete table inet phonefw`));
    // Her connection carries nothing for twice tcp-idle: her 200 OK's 600 s keep it open.
    await new Promise((r) => setTimeout(r, 4000));
    t.match(await core.http('/metrics'), /^sipproxy64_sip_connections_registered\{transport="tcp"\} 1$/m, 'her connection is the one a registration keeps open');
    await callAndHear(t, carol, alice, 'sip:alice@[2001:db8:1::5]', [CAROL_HZ, ALICE_HZ], ['carol', 'alice']);
    t.match(proxy.log(), /in from=\[2001:db8:1::5\]:5060 to=\[2001:db8:64::10\]:5060 bytes=\d+ first="INVITE sip:alice[^@]*@\[2001:db8:64::10\]:\d+;sp64t=tcp-\d+ /, 'carol\'s INVITE reached alice\'s face over UDP');
    t.match(proxy.log(), /out from=192\.0\.2\.105:5060 to=192\.0\.2\.10:(?!5060 )\d+ transport=tcp bytes=\d+ first="INVITE sip:alice[^@]*@192\.0\.2\.10:\d+;transport=tcp /, 'and went on to alice over TCP on her own connection, her own URI restored');
    await proxyDown(t, proxy);
  });

  // CANCEL across the families (RFC 3261 9, 16.10): carol hangs up while alice's phone
  // rings; alice's phone stops ringing, and the streams the offer took are released (SPEC 6).
  // alice also has a dead binding (a phone that went away without unregistering): the
  // registrar's branch to it never answers, so the registrar never CANCELs it (RFC 3261 9.1);
  // the media must not wait for it.
  t.test('baresip phones: an IPv6 caller gives up while the IPv4 phone rings: CANCEL, nothing left', async (t) => {
    const proxy = await proxyUp(t);
    const ghost = new Baresip(d, '192.0.2.11', '<sip:alice@192.0.2.105>;regint=600;answermode=manual', SOFT_HZ, '40060-40079');
    await phonesUp(t, [ghost], 'a phone of alice\'s registers');
    await ghost.stop(); // killed: its binding stays at the registrar
    const alice = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105>;regint=600;answermode=manual', ALICE_HZ, '40000-40019');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    await phonesUp(t, [alice, carol], 'alice and carol run and register');
    const [a0, c0] = [alice.events.length, carol.events.length];
    carol.command('dial', 'sip:alice@[2001:db8:1::5]');
    t.ok(await alice.event('CALL_INCOMING', 15000, a0), 'alice\'s phone rings');
    t.ok(await waitFor(async () => (JSON.parse(await core.http('/sessions')) as unknown[]).length === 1, 5000, 100), 'the offer took a stream');
    carol.command('hangup');
    t.ok(await alice.event('CALL_CLOSED', 15000, a0), 'the CANCEL reaches alice: her phone stops ringing');
    t.ok(await carol.event('CALL_CLOSED', 15000, c0), 'carol\'s call ends');
    t.match(proxy.log(), /out from=192\.0\.2\.105:5060 to=192\.0\.2\.10:5060 bytes=\d+ first="CANCEL /, 'the CANCEL went through the proxy');
    // Released as the CANCEL and the 487 passed, before carol's phone saw the 487: at once,
    // well before rtp-timeout (5 s) could end it.
    const sessions = async () => JSON.parse(await core.http('/sessions')) as unknown[];
    const sip = () => proxy.log().split('\n').filter((l) => l.includes('sip ')).map((l) => l.replace(/ bytes=\d+/, '')).join('\n');
    const gone = await waitFor(async () => (await sessions()).length === 0, 1000, 100);
    t.ok(gone, 'and its stream is released' + (gone ? '' : JSON.stringify(await sessions()) + sip()));
    // The registrar retransmits its INVITE to the dead binding until its timer B (RFC 3261
    // 17.1.1.2); each retransmission is a counted drop and takes no stream again.
    const dropped = await waitFor(async () => /sipproxy64_sip_drops_total\{reason="cancelled-branch"\} [1-9]/.test(await core.http('/metrics')), 10000, 200);
    t.ok(dropped, 'the registrar\'s retransmissions to the dead binding are counted drops');
    const still = await sessions();
    t.same(still, [], 'and no stream came back' + (still.length ? sip() : ''));
    await proxyDown(t, proxy);
  });

  // A softphone on a SIP port of its own (5062: 5060 is taken on its host): its face serves
  // sip-port only, so its Contact goes to the registrar on sip-port with ;sp64p=5062, and the
  // registrar's calls reach it (sipproxy64(8), SIP rewriting).
  t.test('baresip phones: an IPv4 softphone on port 5062 is called through the registrar and calls back', async (t) => {
    const proxy = await proxyUp(t);
    const dave = new Baresip(d, '192.0.2.11', '<sip:dave@192.0.2.105>;regint=600;answermode=auto', SOFT_HZ, '40060-40079', 5062);
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    await phonesUp(t, [dave, carol], 'dave registers from port 5062, carol directly');
    await callAndHear(t, carol, dave, 'sip:dave@[2001:db8:1::5]', [CAROL_HZ, SOFT_HZ], ['carol', 'dave']);
    t.match(proxy.log(), /in from=\[2001:db8:1::5\]:5060 to=\[2001:db8:64::11\]:5060 bytes=\d+ first="INVITE sip:dave[^@]*@\[2001:db8:64::11\]:5060;sp64p=5062 /, 'the registrar\'s INVITE reached dave\'s face on sip-port');
    t.match(proxy.log(), /out from=192\.0\.2\.105:5060 to=192\.0\.2\.11:5062 bytes=\d+ first="INVITE sip:dave[^@]*@192\.0\.2\.11:5062 /, 'and went to his port, his own URI restored');
    await callAndHear(t, dave, carol, 'sip:carol@192.0.2.105', [SOFT_HZ, CAROL_HZ], ['dave', 'carol']);
    await proxyDown(t, proxy);
  });

  // SIP over TLS from a real phone (RFC 5630): alice's baresip has no server certificate, so
  // she is reached only on the connection she registered on (RFC 5626 5.3, the flow in
  // ;sp64t=tls-PORT); the registrar speaks UDP only.
  t.test('baresip phones: an IPv4 phone on TLS registers, calls and is called on its own connection through a UDP-only registrar', async (t) => {
    const ssl = (args: string[]) => sh(`cd ${core.dir} && openssl ${args.join(' ')} 2>/dev/null`);
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'proxy.key', '-out', 'proxy.crt', '-days', '2', '-subj', '/CN=sipproxy64', '-addext', 'subjectAltName=IP:192.0.2.105']);
    const proxy = await proxyUp(t, CONF + `tls-cert ${core.dir}/proxy.crt\ntls-key ${core.dir}/proxy.key\n`);
    const alice = new Baresip(a, '192.0.2.10', '<sip:alice@192.0.2.105;transport=tls>;regint=600;answermode=auto', ALICE_HZ, '40000-40019');
    const carol = new Baresip(c, '2001:db8:1::20', '<sip:carol@[2001:db8:1::5]>;regint=600;answermode=auto', CAROL_HZ, '40020-40039');
    await phonesUp(t, [alice, carol], 'alice registers over TLS, carol over UDP', ['TLS']);
    await callAndHear(t, alice, carol, 'sip:carol@192.0.2.105', [ALICE_HZ, CAROL_HZ], ['alice', 'carol']);
    t.match(proxy.log(), /in from=192\.0\.2\.10:\d+ to=192\.0\.2\.105:5061 transport=tls bytes=\d+ first="INVITE /, 'alice\'s INVITE came over TLS');
    await callAndHear(t, carol, alice, 'sip:alice@[2001:db8:1::5]', [CAROL_HZ, ALICE_HZ], ['carol', 'alice']);
    t.match(proxy.log(), /in from=\[2001:db8:1::5\]:5060 to=\[2001:db8:64::10\]:5060 bytes=\d+ first="INVITE sip:alice[^@]*@\[2001:db8:64::10\]:5060;sp64p=\d+;sp64t=tls-\d+ /, 'carol\'s INVITE reached alice\'s face over UDP, her flow named');
    t.match(proxy.log(), /out from=192\.0\.2\.105:5061 to=192\.0\.2\.10:\d+ transport=tls bytes=\d+ first="INVITE sip:alice[^@]*@192\.0\.2\.10:\d+;transport=tls /, 'and went on to alice over TLS, on her own connection');
    await proxyDown(t, proxy);
  });
}
