// HEPv3 (issue 19): the byte layout of sipcapture's specification, chunk by chunk.
import t from 'tap';
import dgram from 'node:dgram';
import { loadNative } from '../../../src/daemon/datapath-native.js';
import { HEP_FAILED, HEP_SENT, HepMirror, hep3 } from '../../../src/daemon/hep.js';
import { waitFor } from '../../lib/netns.js';

/** Read the chunks back: type -> value. */
function chunks(p: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let i = 6; i < p.length;) {
    const type = p.readUInt16BE(i + 2), len = p.readUInt16BE(i + 4);
    t.equal(p.readUInt16BE(i), 0, 'vendor 0: generic chunk');
    out.set(type, p.subarray(i + 6, i + len));
    i += len;
  }
  return out;
}

t.test('an IPv6 UDP message and an IPv4 TCP one', async (t) => {
  const sip = Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n');
  const p = hep3(sip, { addr: '2001:db8::1', family: 6, port: 5060 }, { addr: '2001:db8:1::20', family: 6, port: 5062 }, 'udp', 1_700_000_000_123, 2001);
  t.equal(p.subarray(0, 4).toString(), 'HEP3');
  t.equal(p.readUInt16BE(4), p.length, 'total length');
  const c = chunks(p);
  t.same([...c.keys()], [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 15], 'family, protocol, IPv6 source and destination, ports, time, SIP, capture id, payload');
  t.equal(c.get(1)![0], 10, 'AF_INET6');
  t.equal(c.get(2)![0], 17, 'UDP');
  t.equal(c.get(5)!.toString('hex'), '20010db8000000000000000000000001');
  t.equal(c.get(6)!.toString('hex'), '20010db8000100000000000000000020');
  t.equal(c.get(7)!.readUInt16BE(), 5060);
  t.equal(c.get(8)!.readUInt16BE(), 5062);
  t.equal(c.get(9)!.readUInt32BE(), 1_700_000_000);
  t.equal(c.get(10)!.readUInt32BE(), 123_000, 'microseconds');
  t.equal(c.get(11)![0], 1, 'SIP');
  t.equal(c.get(12)!.readUInt32BE(), 2001);
  t.same(c.get(15), sip, 'the message, byte for byte');
  const q = chunks(hep3(sip, { addr: '192.0.2.1', family: 4, port: 5060 }, { addr: '192.0.2.10', family: 4, port: 40000 }, 'tls', 0, 0));
  t.equal(q.get(1)![0], 2, 'AF_INET');
  t.equal(q.get(2)![0], 6, 'TLS rides TCP');
  t.equal(q.get(3)!.toString('hex'), 'c0000201');
  t.equal(q.get(4)!.toString('hex'), 'c000020a');
  t.same(chunks(hep3(sip, { addr: '::', family: 6, port: 1 }, { addr: '2001:db8::', family: 6, port: 2 }, 'udp', 0, 0)).get(6)!.toString('hex'), '20010db8000000000000000000000000', 'a trailing ::');
});

// The mirror's socket, native (connected to the collector) and js: a collector that is not
// listening yet (the kernel answers port unreachable, which a connected socket hears) costs
// copies, counted, never an exception or a stopped mirror; once it listens, every copy arrives.
t.test('a collector not listening, then listening: native and js', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const at = { addr: '127.0.0.1', family: 4 as const, port: 5060 };
  for (const io of ['native', 'js'] as const) {
    const probe = dgram.createSocket('udp4'); // a free port for the collector
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const counted = new Map<string, number>();
    const hep = new HepMirror({ addr: '127.0.0.1', family: 4, port }, 2001, Date.now, io === 'native' ? addon : null, (k, n) => counted.set(k, (counted.get(k) ?? 0) + n));
    t.teardown(() => hep.close());
    t.equal(hep.io, io, `through ${io}`);
    // Paced over turns of the loop, as a proxy's copies come (not all within one read).
    const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 10; i++) {
      hep.sip('OPTIONS sip:down SIP/2.0\r\n\r\n', at, at, 'udp');
      await turn();
    }
    await waitFor(() => hep.sent + hep.failed === 10, 5000);
    t.equal(hep.sent + hep.failed, 10, `${io}: every copy to no collector sent or counted failed (${hep.sent} + ${hep.failed})`);
    const collector = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    collector.on('message', (m) => got.push(m));
    await new Promise<void>((r) => collector.bind(port, '127.0.0.1', () => r()));
    t.teardown(() => collector.close());
    for (let i = 0; i < 10; i++) hep.sip(`OPTIONS sip:up${i} SIP/2.0\r\n\r\n`, at, at, 'udp');
    t.ok(await waitFor(() => got.length === 10, 5000), `${io}: once it listens, every copy arrives (${got.length} of 10)`);
    t.same(got.map((g) => /sip:(up\d)/.exec(g.toString('latin1'))?.[1]), Array.from({ length: 10 }, (_, i) => `up${i}`), `${io}: in order, each a HEP packet of its message`);
    await waitFor(() => hep.sent + hep.failed === 20, 5000);
    t.same([counted.get(HEP_SENT) ?? 0, counted.get(HEP_FAILED) ?? 0], [hep.sent, hep.failed], `${io}: the metrics' counts are the mirror's (${hep.sent} sent, ${hep.failed} failed)`);
  }
});
