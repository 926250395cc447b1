// RTPproxy64 over real UDP sockets on loopback (127.0.0.1 and ::1).
// Relay ports below the kernel's ephemeral range (32768-60999), so no client socket can hold one.
import t from 'tap';
import dgram from 'node:dgram';
import { loadNative, nativeFile } from '../../../src/daemon/datapath-native.js';
import { Relay, RelayOptions } from '../../../src/daemon/relay.js';

// Every test runs against both datapaths: the native one (C threads), with each of its ways
// of moving packets (media-io io_uring and epoll), and the JavaScript one.
// t/unit/daemon/native.ts runs the native ones again on a sanitizer build (RELAY_PATHS=native).
const NATIVE = [{ name: 'native/io_uring', datapath: 'native', io: 'io_uring' }, { name: 'native/epoll', datapath: 'native', io: 'epoll' }] as const;
const PATHS = process.env.RELAY_PATHS === 'native' ? NATIVE : [...NATIVE, { name: 'js', datapath: 'js', io: 'auto' } as const];
// Relay ports are BASE to BASE + 909. t/unit/daemon/native.ts runs this file again beside the
// suite's own run of it, with another base: two relays binding one pair would take each other's packets.
const BASE = Number(process.env.RELAY_PORT_BASE ?? 24000);

t.test('the build under test', async (t) => {
  if (process.env.SIPPROXY64_NATIVE) {
    t.not(loadNative() instanceof Error, true, 'the addon loads');
    t.equal(nativeFile(), process.env.SIPPROXY64_NATIVE, 'from the file SIPPROXY64_NATIVE names');
  } else t.pass('the build in build/Release, or none (then the native tests fail)');
});

const bind = (type: 'udp4' | 'udp6', addr: string): Promise<dgram.Socket> =>
  new Promise((resolve) => {
    const s = dgram.createSocket(type);
    s.bind(0, addr, () => resolve(s));
  });
const next = (s: dgram.Socket, ms = 1000): Promise<{ msg: Buffer; port: number } | null> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    s.once('message', (msg, r) => {
      clearTimeout(t);
      resolve({ msg, port: r.port });
    });
  });
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

for (const { name, datapath, io } of PATHS) {
  const mk = (o: RelayOptions): Relay => new Relay({ ...o, datapath, io, threads: 2 });

  t.test(`${name}: the way of moving packets asked for is the one in use`, async (t) => {
    const relay = mk({ ports: [BASE + 900, BASE + 909], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000 });
    t.teardown(() => relay.closeAll());
    t.equal(relay.path.io(), datapath === 'js' ? null : io);
  });

  t.test(`${name}: relays both ways, latches, drops strangers, RTCP on port+1, times out`, async (t) => {
    let now = 0;
    const relay = mk({ ports: [BASE, BASE + 99], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, now: () => now });
    const table = relay.table;
    const p4 = await bind('udp4', '127.0.0.1');
    const p6 = await bind('udp6', '::1');
    const p4rtcp = await bind('udp4', '127.0.0.1');
    const stranger = await bind('udp4', '127.0.0.1');
    t.teardown(() => {
      relay.closeAll();
      for (const s of [p4, p6, p4rtcp, stranger]) s.close();
    });
    const port = table.update('c1', 0, 4, { addr: '127.0.0.1', rtp: p4.address().port, rtcp: p4rtcp.address().port, mux: false, signal: '127.0.0.1' }) as number;
    table.update('c1', 0, 6, { addr: '::1', rtp: p6.address().port, rtcp: p6.address().port + 1, mux: false, signal: '::1' });
    await tick();
    t.equal(relay.size, 1);

    // IPv6 side -> IPv4 party, from media4:port.
    const got4 = next(p4);
    p6.send(Buffer.from('from six'), port, '::1');
    const r4 = await got4;
    t.equal(r4?.msg.toString(), 'from six');
    t.equal(r4?.port, port, 'sent from the same port number on the other family');

    // IPv4 side latches p4; then a stranger on the IPv4 side is dropped.
    const got6 = next(p6);
    p4.send(Buffer.from('from four'), port, '127.0.0.1');
    t.equal((await got6)?.msg.toString(), 'from four');
    const lost = next(p6, 300);
    stranger.send(Buffer.from('spoof'), port, '127.0.0.1');
    t.equal(await lost, null, 'a packet from a foreign source is not forwarded');
    t.equal(relay.stats.drops.get('rtp-foreign-source'), 1);

    // RTCP: IPv6 party's RTCP (sent to port+1) reaches the IPv4 party's RTCP port.
    const rtcp = next(p4rtcp);
    p6.send(Buffer.from('rtcp'), port + 1, '::1');
    t.equal((await rtcp)?.msg.toString(), 'rtcp');
    // A native thread counts a packet after its send returns, so the receiver may see it
    // first: wait for the counters (bounded).
    const counted = () => relay.stats.packets4 >= 2 && relay.stats.packets6 >= 1;
    for (let i = 0; i < 100 && !counted(); i++) await tick(10);
    t.ok(counted(), 'relayed packets counted by family');

    // rtp-timeout: no packets for 5 s releases the stream and its sockets.
    now += 6000;
    relay.sweep();
    t.equal(table.size, 0);
    t.equal(relay.size, 0);
  });

  t.test(`${name}: a party whose SDP named no address this side can send to is learnt from its source`, async (t) => {
    // The core writes no address for an SDP address of the other family (a dual-stack
    // party's IPv4 on the IPv6 side): the relay waits for the party's own packets.
    const relay = mk({ ports: [BASE + 900, BASE + 909], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000 });
    const table = relay.table;
    const p4 = await bind('udp4', '127.0.0.1');
    const p6 = await bind('udp6', '::1');
    t.teardown(() => {
      relay.closeAll();
      for (const s of [p4, p6]) s.close();
    });
    const port = table.update('x1', 0, 4, { addr: '127.0.0.1', rtp: p4.address().port, rtcp: p4.address().port + 1, mux: false, signal: '127.0.0.1' }) as number;
    table.update('x1', 0, 6, { addr: null, rtp: 9, rtcp: 10, mux: false, signal: '::1' });
    await tick();
    const early = next(p6, 300);
    p4.send(Buffer.from('too early'), port, '127.0.0.1');
    t.equal(await early, null, 'nothing goes to the IPv6 side before its party sends');
    const got4 = next(p4);
    p6.send(Buffer.from('from six'), port, '::1');
    t.equal((await got4)?.msg.toString(), 'from six', 'its first packet, from its signalling address, is relayed');
    const got6 = next(p6);
    p4.send(Buffer.from('from four'), port, '127.0.0.1');
    t.equal((await got6)?.msg.toString(), 'from four', 'and media goes back to the source it came from');
  });

  t.test(`${name}: a stream on hold is timed by rtp-hold-timeout (issue 17), in either mode's table`, async (t) => {
    let now = 0;
    const relay = mk({ ports: [BASE + 640, BASE + 647], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, holdTimeoutMs: 20000, now: () => now });
    t.teardown(() => relay.closeAll());
    const table = relay.table;
    const party = { addr: '127.0.0.1', rtp: 9, rtcp: 10, mux: false, signal: '127.0.0.1' };
    table.update('held', 0, 4, { ...party, held: true }); //        a=sendonly
    table.update('unspecified', 0, 4, party);
    table.hold('unspecified', 0); //                                c=IN IP4 0.0.0.0
    table.update('lan-phone 192.0.2.10', 0, 4, { ...party, held: true }); // masquerading's key
    table.update('talking', 0, 4, party);
    now += 6000;
    relay.sweep();
    t.same(table.all().map((x) => x.callId).sort(), ['held', 'lan-phone 192.0.2.10', 'unspecified'], 'past rtp-timeout only the held streams stay');
    table.update('held', 0, 4, { ...party, held: false }); //       a=sendrecv again
    now += 6000;
    relay.sweep();
    t.same(table.all().map((x) => x.callId).sort(), ['lan-phone 192.0.2.10', 'unspecified'], 'resumed: rtp-timeout again');
    now += 9000;
    relay.sweep();
    t.equal(table.size, 0, 'past rtp-hold-timeout the held ones go too');
  });

  t.test(`${name}: media security: a stranger is never relayed, even before the party sends`, async (t) => {
    const relay = mk({ ports: [BASE + 100, BASE + 199], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000 });
    const table = relay.table;
    const p4 = await bind('udp4', '127.0.0.10');
    const p6 = await bind('udp6', '::1');
    const stranger = await bind('udp4', '127.0.0.66');
    t.teardown(() => {
      relay.closeAll();
      for (const s of [p4, p6, stranger]) s.close();
    });
    const port = table.update('c', 0, 4, { addr: '127.0.0.10', rtp: p4.address().port, rtcp: p4.address().port + 1, mux: false, signal: '127.0.0.10' }) as number;
    table.update('c', 0, 6, { addr: '::1', rtp: p6.address().port, rtcp: p6.address().port + 1, mux: false, signal: '::1' });
    await tick();
    const none = next(p6, 300);
    for (let i = 0; i < 20; i++) stranger.send(Buffer.from('hijack'), port, '127.0.0.1');
    t.equal(await none, null, 'nothing from the stranger reaches the other party');
    t.equal(relay.stats.drops.get('rtp-foreign-source'), 20, 'each stranger packet dropped and counted');
    const got = next(p6);
    p4.send(Buffer.from('party'), port, '127.0.0.1');
    t.equal((await got)?.msg.toString(), 'party', 'the party still latches and is relayed');
    const back = next(p4);
    p6.send(Buffer.from('reply'), port, '::1');
    t.equal((await back)?.msg.toString(), 'reply', 'the answer goes to the latched party, not the stranger');
  });

  t.test(`${name}: a flood on one relay port does not starve another session`, async (t) => {
    const relay = mk({ ports: [BASE + 200, BASE + 299], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000 });
    const table = relay.table;
    const a4 = await bind('udp4', '127.0.0.10');
    const b4 = await bind('udp4', '127.0.0.11');
    const b6 = await bind('udp6', '::1');
    const flooder = await bind('udp4', '127.0.0.66');
    t.teardown(() => {
      relay.closeAll();
      for (const s of [a4, b4, b6, flooder]) s.close();
    });
    const portA = table.update('a', 0, 4, { addr: '127.0.0.10', rtp: a4.address().port, rtcp: a4.address().port + 1, mux: false, signal: '127.0.0.10' }) as number;
    table.update('a', 0, 6, { addr: '::1', rtp: 9, rtcp: 10, mux: false, signal: '::1' });
    const portB = table.update('b', 0, 4, { addr: '127.0.0.11', rtp: b4.address().port, rtcp: b4.address().port + 1, mux: false, signal: '127.0.0.11' }) as number;
    table.update('b', 0, 6, { addr: '::1', rtp: b6.address().port, rtcp: b6.address().port + 1, mux: false, signal: '::1' });
    await tick();
    let received = 0;
    b6.on('message', () => received++);
    const pkt = Buffer.alloc(172, 1);
    let flooding = true;
    let flooded = 0;
    const flood = async () => {
      while (flooding) {
        for (let i = 0; i < 200; i++) flooder.send(pkt, portA, '127.0.0.1');
        flooded += 200;
        await new Promise((r) => setImmediate(r));
      }
    };
    const f = flood();
    for (let i = 0; i < 100; i++) {
      b4.send(pkt, portB, '127.0.0.1');
      await tick(20);
    }
    await tick(200);
    flooding = false;
    await f;
    t.ok(flooded > 20000, `${flooded} packets flooded at one port`);
    t.ok(received >= 95, `the other session got ${received} of 100 packets`);
  });

  t.test(`${name}: a stream with its own side addresses (masquerading: two IPv4 sides), and a warm pair rebound for it`, async (t) => {
    let now = 0;
    const relay = mk({ ports: [BASE + 200, BASE + 201], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, now: () => now });
    const table = relay.table;
    const lan = await bind('udp4', '127.0.0.20');
    const wan = await bind('udp4', '127.0.0.30');
    t.teardown(() => {
      relay.closeAll();
      lan.close();
      wan.close();
    });
    // First a stream of the address model on the only pair, released: the pair stays warm.
    table.update('a', 0, 4, { addr: '127.0.0.1', rtp: 9, rtcp: 10, mux: false });
    await tick();
    table.release('a', 'bye');
    now += 1000; // rested
    const sides = [{ addr: '127.0.0.2', family: 4 }, { addr: '127.0.0.3', family: 4 }] as const;
    const port = table.update('b', 0, 4, { addr: '127.0.0.20', rtp: lan.address().port, rtcp: lan.address().port + 1, mux: false, signal: '127.0.0.20' }, sides) as number;
    table.update('b', 0, 6, { addr: '127.0.0.30', rtp: wan.address().port, rtcp: wan.address().port + 1, mux: false, signal: '127.0.0.30' });
    t.equal(port, BASE + 200, 'the same pair');
    await tick();
    const atWan = next(wan);
    lan.send(Buffer.from('to-wan'), port, '127.0.0.2');
    const w = await atWan;
    t.equal(w?.msg.toString(), 'to-wan', 'LAN side (127.0.0.2) to public side, sent from 127.0.0.3');
    t.equal(w?.port, port);
    const atLan = next(lan);
    wan.send(Buffer.from('to-lan'), port, '127.0.0.3');
    t.equal((await atLan)?.msg.toString(), 'to-lan', 'and back');
    t.same(relay.describe().map((s) => [s.party4, s.party6]), [[`127.0.0.20:${lan.address().port}`, `127.0.0.30:${wan.address().port}`]]);
  });

  t.test(`${name}: warm pairs are reused oldest first, one claimed out of order leaves the others, and old ones are unbound`, async (t) => {
    let now = 0;
    const relay = mk({ ports: [BASE + 800, BASE + 809], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000, now: () => now });
    t.teardown(() => relay.closeAll());
    const table = relay.table;
    const party = { addr: '127.0.0.1', rtp: 9, rtcp: 10, mux: false };
    const ports = ['a', 'b', 'c'].map((id) => table.update(id, 0, 4, { ...party }) as number);
    t.same(ports, [BASE + 800, BASE + 802, BASE + 804]);
    await tick();
    // Released in the order b, a, c: b is the oldest warm pair.
    for (const id of ['b', 'a', 'c']) {
      table.release(id, 'bye');
      now += 10;
    }
    t.equal(relay.boundPairs, 3, 'released pairs stay bound');
    now += 1000; // all rested
    t.equal(table.update('d', 0, 4, { ...party }), BASE + 802, 'the oldest warm pair first (b\'s)');
    // Other side addresses: the next warm pair (a's) is rebound for them, not c's.
    const sides = [{ addr: '127.0.0.2', family: 4 }, { addr: '127.0.0.3', family: 4 }] as const;
    t.equal(table.update('e', 0, 4, { ...party }, sides), BASE + 800, 'then a\'s, rebound for other addresses');
    t.equal(table.update('f', 0, 4, { ...party }), BASE + 804, 'then c\'s: no pair taken twice');
    t.equal(relay.boundPairs, 3);
    for (const id of ['d', 'e', 'f']) table.release(id, 'bye');
    now += 2000;
    relay.sweep();
    t.equal(relay.boundPairs, 3, 'warm pairs younger than their age limit stay');
    now += 2000;
    relay.sweep();
    t.equal(relay.boundPairs, 0, 'older ones are unbound by the sweep');
    t.equal(table.update('g', 0, 4, { ...party }), BASE + 806, 'and a new stream binds a pair again');
  });

  t.test(`${name}: two streams whose SDP name each other's relay ports cannot loop a packet (SPEC 11)`, async (t) => {
    // With rtp-latch no, a side whose SDP named no usable address takes packets from anyone.
    const relay = mk({ ports: [BASE + 300, BASE + 303], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'off', timeoutMs: 60000 });
    const table = relay.table;
    const stranger = await bind('udp6', '::1');
    t.teardown(() => {
      relay.closeAll();
      stranger.close();
    });
    // Stream a: IPv4 party "127.0.0.1" (the relay itself), IPv6 party stream b's IPv6 port.
    // Stream b: IPv4 party stream a's IPv4 port, IPv6 party with no address.
    const pa = table.update('a', 0, 4, { addr: '127.0.0.1', rtp: 9, rtcp: 10, mux: false }) as number;
    const pb = table.update('b', 0, 4, { addr: '127.0.0.1', rtp: pa, rtcp: pa + 1, mux: false }) as number;
    table.update('a', 0, 6, { addr: '::1', rtp: pb, rtcp: pb + 1, mux: false });
    table.update('b', 0, 6, { addr: null, rtp: 9, rtcp: 10, mux: false });
    await tick();
    // One packet into b's IPv6 side: b -> a (IPv4) -> b (IPv6) -> a ... without the guard.
    stranger.send(Buffer.from('x'), pb, '::1');
    await tick(300);
    const relayed = relay.stats.packets4 + relay.stats.packets6;
    t.equal(relayed, 1, `one packet in, one relayed (${relayed})`);
    t.equal(relay.stats.drops.get('rtp-loop'), 1, 'the second hop, relay to relay, is a counted drop (rtp-loop)');
  });

  t.test(`${name}: a call that comes back through a provider: one leg's pair hands packets to the other's, once (SPEC 6)`, async (t) => {
    const relay = mk({ ports: [BASE + 620, BASE + 623], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000 });
    const table = relay.table;
    const alice = await bind('udp4', '127.0.0.1');
    const bob = await bind('udp4', '127.0.0.1');
    t.teardown(() => {
      relay.closeAll();
      alice.close();
      bob.close();
    });
    // Leg 1: alice and, on the IPv6 side, leg 2's relay socket; leg 2: bob and leg 1's socket.
    const pa = table.update('c', 0, 4, { addr: '127.0.0.1', rtp: alice.address().port, rtcp: alice.address().port + 1, mux: false, signal: '127.0.0.1' }) as number;
    const pb = table.update('c leg2', 0, 6, { addr: '::1', rtp: pa, rtcp: pa + 1, mux: false, signal: '2001:db8:1::5' }) as number;
    table.update('c leg2', 0, 4, { addr: '127.0.0.1', rtp: bob.address().port, rtcp: bob.address().port + 1, mux: false, signal: '127.0.0.1' });
    table.update('c', 0, 6, { addr: '::1', rtp: pb, rtcp: pb + 1, mux: false, signal: '2001:db8:1::5' });
    await tick();
    const toBob = next(bob);
    alice.send(Buffer.from('hello bob'), pa, '127.0.0.1');
    const b = await toBob;
    t.equal(b?.msg.toString(), 'hello bob', 'alice -> leg 1 -> leg 2 -> bob');
    t.equal(b?.port, pb, 'from leg 2\'s port, the one bob was given');
    const toAlice = next(alice);
    bob.send(Buffer.from('hello alice'), pb, '127.0.0.1');
    const a = await toAlice;
    t.equal(a?.msg.toString(), 'hello alice', 'and back');
    t.equal(a?.port, pa);
    t.equal(relay.stats.drops.get('rtp-loop') ?? 0, 0, 'a hand-over is no loop');
  });

  t.test(`${name}: media goes only to addresses that proved themselves (SPEC 11)`, async (t) => {
    const relay = mk({ ports: [BASE + 400, BASE + 403], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000 });
    const table = relay.table;
    const caller = await bind('udp4', '127.0.0.10');
    const victim = await bind('udp6', '::1');
    t.teardown(() => {
      relay.closeAll();
      caller.close();
      victim.close();
    });
    // The callee's SDP names the victim, but its SIP came from elsewhere (a stranger's call).
    const port = table.update('c', 0, 4, { addr: '127.0.0.10', rtp: caller.address().port, rtcp: caller.address().port + 1, mux: false, signal: '127.0.0.10' }) as number;
    table.update('c', 0, 6, { addr: '::1', rtp: victim.address().port, rtcp: victim.address().port + 1, mux: false, signal: '2001:db8::66' });
    await tick();
    const none = next(victim, 300);
    for (let i = 0; i < 10; i++) caller.send(Buffer.from('rtp'), port, '127.0.0.1');
    t.equal(await none, null, '0 packets to an address only the SDP named');
    t.equal(relay.stats.drops.get('rtp-peer-unproven'), 10, 'each counted');
    // The same SDP from a configured party (a provider signalling from one address and sending
    // media from another) is trusted.
    table.update('c', 0, 6, { addr: '::1', rtp: victim.address().port, rtcp: victim.address().port + 1, mux: false, signal: '2001:db8::66', trusted: true });
    const got = next(victim);
    caller.send(Buffer.from('rtp'), port, '127.0.0.1');
    t.equal((await got)?.msg.toString(), 'rtp', 'a configured party\'s media server gets media before it sends');
  });

  t.test(`${name}: rtp-latch strict, prefix and any`, async (t) => {
    const party = { addr: '2001:db8:1:2::10', rtp: 9, rtcp: 10, mux: false, signal: '2001:db8:1:2::10' };
    for (const [mode, src, ok] of [
      ['strict', '2001:db8:1:2::10', true], ['strict', '2001:db8:1:2::11', false],
      ['prefix', '2001:db8:1:2::11', true], ['prefix', '2001:db8:1:3::10', false],
      ['any', '2001:db8:9::1', true],
    ] as const) {
      const relay = mk({ ports: [BASE + 500, BASE + 501], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: mode, timeoutMs: 60000 });
      const port = relay.table.update('c', 0, 6, { ...party }) as number;
      await tick();
      // Feed a packet as if it came from src (the datapath's packet entry, without a socket).
      const verdict = relay.inject(port, 6, false, { addr: src, port: 4000 }, Buffer.from('x'));
      t.equal(verdict !== 'rtp-foreign-source', ok, `${mode}: ${src} ${ok ? 'latches' : 'refused'} (${verdict})`);
      t.equal((relay.stats.drops.get('rtp-foreign-source') ?? 0) === 0, ok, 'and counted as such');
      relay.closeAll();
    }
  });

  t.test(`${name}: within the open-file limit: offers past it are refused, a new pair first unbinds a warm one`, async (t) => {
    let now = 0;
    const relay = mk({ ports: [BASE + 400, BASE + 499], maxPairs: 2, media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, now: () => now });
    t.teardown(() => relay.closeAll());
    const party = (n: number) => ({ addr: '127.0.0.1', rtp: 40000 + 2 * n, rtcp: 40001 + 2 * n, mux: false, signal: '127.0.0.1', trusted: true });
    t.equal(relay.table.allowed, 2, 'two pairs allowed of a 50-pair range');
    t.type(relay.table.update('a', 0, 4, party(0)), 'number');
    t.type(relay.table.update('b', 0, 4, party(1)), 'number');
    t.equal(relay.table.update('c', 0, 4, party(2)), 'fd-limit', 'the third stream: 503 rtp-fd-limit, no bind');
    t.equal(relay.boundPairs, 2);
    relay.table.release('a', 'bye'); // stays bound (warm)
    now += 10; // not rested: the table allocates a new port, and the warm pair is unbound for it
    t.type(relay.table.update('c', 0, 4, party(2)), 'number');
    await tick();
    t.equal(relay.boundPairs, 2, 'never more than the limit bound, warm pairs included');
  });

  t.test(`${name}: a pair another process took after the probe is skipped, counted, and given back when free`, async (t) => {
    // Ports BASE+700..729: 15 pairs. Another process holds the RTP port of the first nine.
    const relay = mk({ ports: [BASE + 700, BASE + 729], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, onError: () => {} });
    const holders = await Promise.all(Array.from({ length: 9 }, (_, i) => new Promise<dgram.Socket>((resolve) => {
      const h = dgram.createSocket('udp4');
      h.bind(BASE + 700 + 2 * i, '127.0.0.1', () => resolve(h));
    })));
    let held = true;
    const free = () => {
      if (held) for (const h of holders) h.close();
      held = false;
    };
    t.teardown(() => {
      relay.closeAll();
      free();
    });
    const party = (n: number) => ({ addr: '127.0.0.1', rtp: 40000 + 2 * n, rtcp: 40001 + 2 * n, mux: false, signal: '127.0.0.1', trusted: true });
    const inUse = () => relay.stats.drops.get('rtp-port-in-use') ?? 0;
    t.equal(relay.table.update('a', 0, 4, party(0)), 'exhausted', 'eight pairs held elsewhere: 503, not a ninth bind');
    t.equal(inUse(), 8, 'each failed bind counted');
    t.equal(relay.table.update('b', 0, 4, party(1)), BASE + 718, 'the next offer skips the ninth and takes the tenth');
    t.equal(inUse(), 9);
    t.same(relay.table.reservedPorts().sort(), Array.from({ length: 9 }, (_, i) => BASE + 700 + 2 * i), 'the nine are marked held elsewhere');
    t.equal(relay.boundPairs, 1, 'nothing of a failed pair stays bound');
    free();
    await relay.probe();
    t.same(relay.table.reservedPorts(), [], 'free again: given back');
    t.type(relay.table.update('c', 0, 4, party(2)), 'number');
    t.equal(inUse(), 9);
  });

  t.test(`${name}: quality of what each party sends: packets, loss, jitter, foreign sources, a verdict (issue 19)`, async (t) => {
    const relay = mk({ ports: [BASE + 600, BASE + 601], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000 });
    t.teardown(() => relay.closeAll());
    const port = relay.table.update('q', 0, 4, { addr: '192.0.2.10', rtp: 4000, rtcp: 4001, mux: false, signal: '192.0.2.10' }) as number;
    relay.table.update('q', 0, 6, { addr: '2001:db8::20', rtp: 5000, rtcp: 5001, mux: false, signal: '2001:db8::20' });
    await tick();
    const rtp = (seq: number): Buffer => {
      const b = Buffer.alloc(172, 0xd5);
      b[0] = 0x80;
      b.writeUInt16BE(seq & 0xffff, 2);
      b.writeUInt32BE((seq * 160) >>> 0, 4);
      return b;
    };
    // The IPv4 party: 65530..65535, then 0..9 after a wrap, with 3 and 7 missing; one RTCP.
    for (const seq of [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 4, 5, 6, 8, 9]) relay.inject(port, 4, false, { addr: '192.0.2.10', port: 4000 }, rtp(seq));
    relay.inject(port, 4, true, { addr: '192.0.2.10', port: 4001 }, Buffer.alloc(80, 0x81));
    relay.inject(port, 4, false, { addr: '192.0.2.10', port: 4000 }, rtp(1)); // late, a duplicate: not an advance
    // Packets for the IPv6 side from a stranger only.
    for (let i = 0; i < 3; i++) relay.inject(port, 6, false, { addr: '2001:db8:9::1', port: 7000 }, rtp(i));
    const info = relay.path.pair(port);
    t.match(info.q4, { packets: 16, bytes: 15 * 172 + 80, expected: 16, lost: 1, foreign: 0 }, 'counted across the wrap: 16 expected, 15 RTP packets arrived (one twice), so 1 lost');
    t.ok(info.q4.jitterMs >= 0 && Number.isFinite(info.q4.jitterMs), `jitter ${info.q4.jitterMs} ms`);
    t.ok(info.q4.idleMs !== null && info.q4.idleMs < 5000, 'its last packet is recent');
    t.match(info.q6, { packets: 0, foreign: 3, foreignFrom: { addr: '2001:db8:9::1', port: 7000 }, idleMs: null }, 'the IPv6 side: nothing from its party, three from a stranger');
    const d = relay.describe()[0];
    t.equal(d.verdictKind, 'never-latched');
    t.equal(d.verdict, 'never latched: packets for the IPv6 side arrive only from [2001:db8:9::1]:7000, not the party\'s address ([2001:db8::20]:5000); only rtp-latch any would accept it');
  });
}
