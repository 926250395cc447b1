// The native SIP socket (src/native/sipsock.c): of nat64 on [::]:port, where it tells each
// datagram's destination and sends from a chosen source, and of sip-io native on one
// address; every misuse is an errno or a TypeError, never a crash. Also run on the sanitizer
// build (t/unit/daemon/native.ts).
import t from 'tap';
import dgram from 'node:dgram';
import { errnoName, loadNative } from '../../../src/daemon/datapath-native.js';
import { waitFor } from '../../lib/netns.js';
import { udpPeer } from '../../lib/udp-peer.js';

const PORT = 24700;

/** sipOpen's callback gets a read's datagrams as its arguments, `width` each (3 on a bound socket, 4 on the wildcard): one call of fn each. */
function each(width: 3 | 4, fn: (...entry: Array<string | number>) => void, calls?: { n: number }): (...list: Array<string | number>) => void {
  return (...list) => {
    if (calls) calls.n++;
    if (list.length % width !== 0) throw new Error(`a list of ${list.length} entries is not ${width} a datagram`);
    for (let i = 0; i < list.length; i += width) fn(...list.slice(i, i + width));
  };
}

t.test('the IPv4 socket: destination reported, source chosen (127.0.0.2 of 127/8, a local route)', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const got: string[][] = [];
  const h = addon.sipOpen(4, PORT + 4, each(4, (msg, srcAddr, srcPort, dstAddr) => void got.push([String(msg), String(srcAddr), String(srcPort), String(dstAddr)])));
  t.type(h, 'object');
  t.teardown(() => addon.sipClose(h));
  const client = dgram.createSocket('udp4');
  t.teardown(() => client.close());
  const back: Array<[string, string]> = [];
  client.on('message', (m, r) => back.push([m.toString(), r.address]));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const cport = client.address().port;
  client.send('to-two', PORT + 4, '127.0.0.2');
  client.send('to-three', PORT + 4, '127.0.0.3');
  t.ok(await waitFor(() => got.length === 2, 5000), 'both delivered');
  t.same(got, [['to-two', '127.0.0.1', String(cport), '127.0.0.2'], ['to-three', '127.0.0.1', String(cport), '127.0.0.3']], 'each with the address it was sent to');
  t.equal(addon.sipSend(h, Buffer.from('from-three'), '127.0.0.3', '127.0.0.1', cport), 10);
  t.ok(await waitFor(() => back.length === 1, 5000));
  t.same(back[0], ['from-three', '127.0.0.3'], 'the answer leaves from the address the request went to');
  t.throws(() => addon.sipSend(h, Buffer.from('x'), '::1', '127.0.0.1', cport), TypeError, 'an IPv6 address on the IPv4 socket');
});

t.test('sipOpen/sipSend/sipClose on ::1', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const got: Array<[string, string, number, string]> = [];
  const calls = { n: 0 };
  const h = addon.sipOpen(6, PORT, each(4, (msg, srcAddr, srcPort, dstAddr) => void got.push([msg as string, srcAddr as string, srcPort as number, dstAddr as string]), calls));
  t.type(h, 'object', 'a handle');
  const again = addon.sipOpen(6, PORT, () => {});
  t.equal(typeof again === 'number' ? errnoName(-again) : again, 'EADDRINUSE', 'a taken port: -errno, not an exception');

  const client = dgram.createSocket('udp6');
  t.teardown(() => client.close());
  const back: string[] = [];
  client.on('message', (m) => back.push(m.toString()));
  await new Promise<void>((r) => client.bind(0, '::1', () => client.connect(PORT, '::1', () => r())));
  const cport = client.address().port;
  for (let i = 0; i < 200; i++) client.send(`m${i}`);
  t.ok(await waitFor(() => got.length === 200, 5000), `every datagram of a burst is delivered (${got.length}/200; 64 per wake-up)`);
  t.same(got[0], ['m0', '::1', cport, '::1'], 'payload, source address and port, and the destination address');
  t.same(got.map((g) => g[0]), Array.from({ length: 200 }, (_, i) => `m${i}`), 'in order');
  t.ok(calls.n < 200, `a read's datagrams in one call (${calls.n} calls for 200)`);

  t.equal(addon.sipSend(h, Buffer.from('answer'), '::1', '::1', cport), 6, 'sent from the chosen source');
  t.ok(await waitFor(() => back.length === 1, 5000), 'a connected socket takes it: it came from [::1]:PORT');
  t.equal(back[0], 'answer');
  // IPV6_FREEBIND (a source inside the local route of the prefix) lets the kernel send from any
  // address: the socket is only as careful as its caller, so SipUdp sends only from our own.
  t.type(addon.sipSend(h, Buffer.from('x'), '2001:db8:dead::1', '::1', cport), 'number', 'any source is the caller\'s to choose');
  t.throws(() => addon.sipSend(h, 'x'.repeat(65536), '::1', '::1', cport), TypeError, 'a string longer than a datagram is refused, not cut');
  for (const args of [[h, 42, '::1', '::1', cport], [h, Buffer.from('x'), '127.0.0.1', '::1', cport], [h, Buffer.from('x'), '::1', '::1', 0], [{}, Buffer.from('x'), '::1', '::1', cport]] as unknown[][]) {
    t.throws(() => (addon.sipSend as (...a: unknown[]) => number)(...args), TypeError, `sipSend(${args.slice(1).map(String).join(', ')}) throws a TypeError`);
  }
  t.throws(() => (addon.sipOpen as (...a: unknown[]) => unknown)(6, 70000, () => {}), TypeError, 'a port out of range');
  t.throws(() => (addon.sipOpen as (...a: unknown[]) => unknown)(6, PORT + 1, 'no function'), TypeError, 'no callback');
  t.throws(() => (addon.sipOpen as (...a: unknown[]) => unknown)(5, PORT + 1, () => {}), TypeError, 'no such family');

  // A callback that throws stays in JavaScript's hands: the socket goes on with the next read.
  const h2 = addon.sipOpen(6, PORT + 2, (...list) => {
    got.push([list[0] as string, '', 0, '']);
    throw new Error('a handler bug');
  });
  const before = got.length;
  const c2 = dgram.createSocket('udp6');
  t.teardown(() => c2.close());
  c2.send('x1', PORT + 2, '::1');
  t.ok(await waitFor(() => got.length === before + 1, 5000), 'the first read');
  c2.send('x2', PORT + 2, '::1');
  t.ok(await waitFor(() => got.length === before + 2, 5000), 'a throwing callback does not stop the next read');
  t.same(got.slice(before).map((g) => g[0]), ['x1', 'x2']);
  addon.sipClose(h2);

  addon.sipClose(h);
  addon.sipClose(h); // twice: nothing
  t.throws(() => addon.sipSend(h, Buffer.from('x'), '::1', '::1', cport), TypeError, 'a closed handle is refused');
  const reopened = addon.sipOpen(6, PORT, () => {});
  t.type(reopened, 'object', 'the port is free again after sipClose');
  addon.sipClose(reopened);
  // Once the loop has let go of the closed socket, its handle still reads closed: the memory
  // stays until the handle is collected (a use after free before; the sanitizer build sees one).
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 10));
  addon.sipClose(h);
  t.throws(() => addon.sipSend(h, Buffer.from('x'), '::1', '::1', cport), TypeError, 'a handle closed a while ago is refused');
});

t.test('sip-io native: one address, text both ways, batches and large datagrams', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const got: Array<[string, string, number, number]> = [];
  // A bound socket reports no destination (it is the address bound): three entries a datagram.
  const h = addon.sipOpen(4, PORT + 5, each(3, (...a) => void got.push([a[0] as string, a[1] as string, a[2] as number, a.length])), '127.0.0.2');
  t.type(h, 'object', 'bound to 127.0.0.2');
  t.teardown(() => addon.sipClose(h));
  const other = addon.sipOpen(4, PORT + 5, () => {}, '127.0.0.3');
  t.type(other, 'object', 'another address on the same port has its own socket');
  addon.sipClose(other as object);
  for (const bad of ['127.0.0.300', '::1', '010.0.0.1x']) {
    const r = addon.sipOpen(4, PORT + 6, () => {}, bad);
    t.equal(typeof r === 'number' ? errnoName(-r) : r, 'EINVAL', `${bad} is no IPv4 address: -EINVAL`);
  }
  const { client, port: cport, back } = await udpPeer(t);
  // Every byte value, NUL and 0x80-0xff included, arrives as one char each (latin1).
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  client.send(bytes, PORT + 5, '127.0.0.2');
  t.ok(await waitFor(() => got.length === 1, 5000), 'delivered');
  t.same(got[0], [bytes.toString('latin1'), '127.0.0.1', cport, 3], 'text of one char per byte and the source; no destination');
  // A burst larger than one read (8 datagrams) and one wake-up (64): all, in order.
  got.length = 0;
  for (let i = 0; i < 150; i++) client.send(`b${i}`, PORT + 5, '127.0.0.2');
  t.ok(await waitFor(() => got.length === 150, 5000), `every datagram of a burst (${got.length}/150)`);
  t.same(got.map((g) => g[0]), Array.from({ length: 150 }, (_, i) => `b${i}`), 'in order');
  // The largest SIP message (sip/message.ts MAX_MESSAGE) in one datagram, and back as text.
  got.length = 0;
  const big = Buffer.alloc(65000, 0xe9);
  client.send(big, PORT + 5, '127.0.0.2');
  t.ok(await waitFor(() => got.length === 1, 5000), 'a 65,000-byte datagram');
  t.equal(got[0][0], big.toString('latin1'), 'whole');
  t.equal(addon.sipSend(h, got[0][0], '127.0.0.2', '127.0.0.1', cport), 65000, 'sent back as text');
  t.equal(addon.sipSend(h, '\u00e9t\u00e9\0', '127.0.0.2', '127.0.0.1', cport), 4, 'one byte per char');
  t.ok(await waitFor(() => back.length === 2, 5000), 'both arrive');
  t.ok(back[0].equals(big), 'the large one byte for byte');
  t.same([...back[1]], [0xe9, 0x74, 0xe9, 0], 'latin1 bytes, NUL included');
});

t.test('answers made in a read\'s callback go out together after it, in order; failures come back to the callback', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const { client, port: cport, back } = await udpPeer(t);
  const reports: Array<[string, number]> = [];
  const returned: number[] = [];
  const big = (i: number): string => String.fromCharCode(65 + i).repeat(60000);
  const ports: number[] = [];
  // Socket B only sends (the other family's socket of a face); socket A's callback answers
  // through both, more than one flush holds (32 datagrams, 4 x 65,535 bytes).
  const b = addon.sipOpen(4, PORT + 8, (...list) => void (typeof list[0] === 'number' && reports.push([`b ${errnoName(-list[0])}`, list[1] as number])), '127.0.0.3');
  t.type(b, 'object');
  t.teardown(() => addon.sipClose(b));
  let bad = false;
  const a = addon.sipOpen(4, PORT + 7, (...list) => {
    if (typeof list[0] === 'number') return void reports.push([`a ${errnoName(-list[0])}`, list[1] as number]);
    for (let i = 0; i < list.length; i += 3) {
      const text = list[i] as string;
      if (text === 'many') for (let k = 0; k < 40; k++) returned.push(addon.sipSend(k % 2 ? b : a, `r${k}`, k % 2 ? '127.0.0.3' : '127.0.0.2', '127.0.0.1', cport));
      if (text === 'large') for (let k = 0; k < 6; k++) returned.push(addon.sipSend(a, big(k), '127.0.0.2', '127.0.0.1', ports[k]));
      // A broadcast without SO_BROADCAST: the kernel refuses it (EACCES) and sends nothing; the datagram after it still goes.
      if (text === 'refused') {
        returned.push(addon.sipSend(a, 'to-all', '127.0.0.2', '255.255.255.255', 9), addon.sipSend(a, 'to-all', '127.0.0.2', '255.255.255.255', 9));
        returned.push(addon.sipSend(b, 'to-all', '127.0.0.3', '255.255.255.255', 9), addon.sipSend(a, 'after', '127.0.0.2', '127.0.0.1', cport));
      }
      // Queued, then the socket closed in the same callback: nothing sent, nothing reported, nothing freed early (the sanitizer build).
      if (text === 'closing') {
        const c = addon.sipOpen(4, PORT + 9, () => {}, '127.0.0.4');
        returned.push(addon.sipSend(c as object, 'never', '127.0.0.4', '127.0.0.1', cport));
        addon.sipClose(c as object);
        bad = true;
      }
    }
  }, '127.0.0.2');
  t.type(a, 'object');
  t.teardown(() => addon.sipClose(a));

  client.send('many', PORT + 7, '127.0.0.2');
  t.ok(await waitFor(() => back.length === 40, 5000), `40 answers from one callback (${back.length})`);
  t.same(returned, Array.from({ length: 40 }, (_, k) => `r${k}`.length), 'each queued send returns its length');
  const order = (from: number): string[] => back.map((m) => m.toString()).filter((s) => Number(s.slice(1)) % 2 === from);
  t.same(order(0), Array.from({ length: 20 }, (_, k) => `r${2 * k}`), 'socket A\'s answers in their order');
  t.same(order(1), Array.from({ length: 20 }, (_, k) => `r${2 * k + 1}`), 'socket B\'s answers in their order');

  // Six 60,000-byte answers, each to a socket of its own (a receive buffer holds about three).
  const larges: Buffer[][] = [];
  for (let k = 0; k < 6; k++) {
    const p = await udpPeer(t);
    larges.push(p.back);
    ports.push(p.port);
  }
  returned.length = 0;
  client.send('large', PORT + 7, '127.0.0.2');
  t.ok(await waitFor(() => larges.every((l) => l.length === 1), 5000), 'six 60,000-byte answers, past one flush\'s bytes');
  t.same(larges.map((l) => l[0].toString('latin1')), Array.from({ length: 6 }, (_, k) => big(k)), 'each whole');
  t.same(returned, Array(6).fill(60000), 'each queued');

  back.length = returned.length = 0;
  client.send('refused', PORT + 7, '127.0.0.2');
  t.ok(await waitFor(() => back.length === 1 && reports.length === 2, 5000), 'the report of each socket, and the datagram after the refused ones');
  t.same(returned, [6, 6, 6, 5], 'queued: each returns its length, the failure comes later');
  t.same(reports.sort(), [['a EACCES', 2], ['b EACCES', 1]], 'cb(-errno, count) on the socket whose datagrams failed, after the read\'s callback');
  t.equal(back[0].toString(), 'after');
  t.equal(addon.sipSend(a, 'to-all', '127.0.0.2', '255.255.255.255', 9), -13, 'outside a callback a send goes at once: -EACCES returned');

  back.length = returned.length = 0;
  client.send('closing', PORT + 7, '127.0.0.2');
  t.ok(await waitFor(() => bad, 5000), 'the closing callback ran');
  client.send('many', PORT + 7, '127.0.0.2');
  t.ok(await waitFor(() => back.length === 40, 5000), 'the sockets go on after it');
  t.notOk(back.some((m) => m.toString() === 'never'), 'the closed socket sent nothing');
  t.equal(reports.length, 2, 'and nothing was reported for it');
});

t.test('a sender\'s socket (the HEP mirror): a port the kernel chooses, connected to its peer, so a stranger\'s datagram never arrives', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const open = addon.sipOpen as (...a: unknown[]) => unknown;
  t.throws(() => open(4, 0, () => {}), TypeError, 'port 0 only with an address');
  t.throws(() => open(4, 0, () => {}, '0.0.0.0', '127.0.0.1'), TypeError, 'a peer without its port');
  t.throws(() => open(4, 0, () => {}, '0.0.0.0', '127.0.0.1', 0), TypeError, 'a peer on port 0');
  const bad = open(4, 0, () => {}, '0.0.0.0', '::1', 9);
  t.equal(typeof bad === 'number' ? errnoName(-bad) : bad, 'EINVAL', 'an IPv6 peer of an IPv4 socket: -EINVAL');
  const { client: peer, port: peerPort, back } = await udpPeer(t);
  const { client: stranger } = await udpPeer(t);
  const got: string[] = [];
  const h = addon.sipOpen(4, 0, each(3, (msg, addr, port) => void got.push(`${msg} ${addr}:${port}`)), '0.0.0.0', '127.0.0.1', peerPort);
  if (typeof h === 'number') return t.fail(`sipOpen: ${errnoName(-h)}`);
  t.teardown(() => addon.sipClose(h));
  const from = new Promise<dgram.RemoteInfo>((r) => peer.once('message', (_m, rinfo) => r(rinfo)));
  t.equal(addon.sipSend(h, 'copy', '0.0.0.0', '127.0.0.1', peerPort), 4, 'sent to the peer (the route chooses the source)');
  const rinfo = await from;
  t.same(back.map(String), ['copy'], 'the peer has it');
  t.ok(rinfo.port > 0, `from the port the kernel chose (${rinfo.port})`);
  // Loopback delivers in the sender's system call: the stranger's datagram, sent first,
  // would be read before the peer's if the socket took it.
  await new Promise<void>((r) => stranger.send('stranger', rinfo.port, '127.0.0.1', () => r()));
  await new Promise<void>((r) => peer.send('peer', rinfo.port, '127.0.0.1', () => r()));
  t.ok(await waitFor(() => got.length > 0, 5000), 'the peer\'s datagram is read');
  t.same(got, [`peer 127.0.0.1:${peerPort}`], 'only the peer\'s: the kernel dropped the stranger\'s');
});
