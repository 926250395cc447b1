// HEPv3 (issue 19): the byte layout of sipcapture's specification, chunk by chunk.
import t from 'tap';
import { hep3 } from '../../../src/daemon/hep.js';

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
