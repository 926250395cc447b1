// The native SIP/IPv6 socket of nat64 (src/native/sipsock.c): on [::]:port it tells each
// datagram's destination and sends from a chosen source; every misuse is an errno or a
// TypeError, never a crash. Also run on the sanitizer build (t/unit/daemon/native.ts).
import t from 'tap';
import dgram from 'node:dgram';
import { errnoName, loadNative } from '../../../src/daemon/datapath-native.js';
import { waitFor } from '../../lib/netns.js';

const PORT = 24700;

t.test('sipOpen/sipSend/sipClose on ::1', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const got: Array<[string, string, number, string]> = [];
  const h = addon.sipOpen(PORT, (msg, srcAddr, srcPort, dstAddr) => void got.push([msg.toString(), srcAddr, srcPort, dstAddr]));
  t.type(h, 'object', 'a handle');
  const again = addon.sipOpen(PORT, () => {});
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

  t.equal(addon.sipSend(h, Buffer.from('answer'), '::1', '::1', cport), 6, 'sent from the chosen source');
  t.ok(await waitFor(() => back.length === 1, 5000), 'a connected socket takes it: it came from [::1]:PORT');
  t.equal(back[0], 'answer');
  // IPV6_FREEBIND (a source inside the local route of the prefix) lets the kernel send from any
  // address: the socket is only as careful as its caller, so SipUdp sends only from our own.
  t.type(addon.sipSend(h, Buffer.from('x'), '2001:db8:dead::1', '::1', cport), 'number', 'any source is the caller\'s to choose');
  for (const args of [[h, 'not a buffer', '::1', '::1', cport], [h, Buffer.from('x'), '127.0.0.1', '::1', cport], [h, Buffer.from('x'), '::1', '::1', 0], [{}, Buffer.from('x'), '::1', '::1', cport]] as unknown[][]) {
    t.throws(() => (addon.sipSend as (...a: unknown[]) => number)(...args), TypeError, `sipSend(${args.slice(1).map(String).join(', ')}) throws a TypeError`);
  }
  t.throws(() => (addon.sipOpen as (...a: unknown[]) => unknown)(70000, () => {}), TypeError, 'a port out of range');
  t.throws(() => (addon.sipOpen as (...a: unknown[]) => unknown)(PORT + 1, 'no function'), TypeError, 'no callback');

  // A callback that throws stays in JavaScript's hands: the socket goes on.
  const h2 = addon.sipOpen(PORT + 2, (msg) => {
    got.push([msg.toString(), '', 0, '']);
    throw new Error('a handler bug');
  });
  const before = got.length;
  const c2 = dgram.createSocket('udp6');
  t.teardown(() => c2.close());
  for (const m of ['x1', 'x2']) c2.send(m, PORT + 2, '::1');
  t.ok(await waitFor(() => got.length === before + 2, 5000), 'a throwing callback does not stop the next datagram');
  addon.sipClose(h2);

  addon.sipClose(h);
  addon.sipClose(h); // twice: nothing
  t.throws(() => addon.sipSend(h, Buffer.from('x'), '::1', '::1', cport), TypeError, 'a closed handle is refused');
  const reopened = addon.sipOpen(PORT, () => {});
  t.type(reopened, 'object', 'the port is free again after sipClose');
  addon.sipClose(reopened);
});
