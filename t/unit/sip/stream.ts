import t from 'tap';
import { StreamFramer } from '../../../src/sip/stream.js';
import { lcg } from '../../lib/rand.js';

const msg = (body: string) => `MESSAGE sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.2\r\nl: ${body.length}\r\n\r\n${body}`;

t.test('frames by Content-Length across chunks, skips CRLFs, answers pings', async (t) => {
  const f = new StreamFramer();
  const all = '\r\n\r\n' + msg('hello') + msg('') + '\r\n' + msg('x'.repeat(300));
  let got: string[] = [];
  let pings = 0;
  for (let i = 0; i < all.length; i += 7) {
    const r = f.push(Buffer.from(all.slice(i, i + 7), 'latin1'));
    t.equal(r.error, null);
    got = got.concat(r.messages.map((b) => b.toString('latin1')));
    pings += r.pings;
  }
  t.same(got, [msg('hello'), msg(''), msg('x'.repeat(300))]);
  t.equal(pings, 1, 'a double CRLF is a keep-alive ping');
});

t.test('unframeable streams are errors', async (t) => {
  t.equal(new StreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n')).error?.code, 'stream-without-content-length');
  t.equal(new StreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999\r\n\r\n')).error?.code, 'stream-message-too-large');
  t.equal(new StreamFramer().push(Buffer.alloc(70000, 65)).error?.code, 'stream-headers-too-long');
  const f = new StreamFramer();
  t.same(f.push(Buffer.from(msg('abc').slice(0, -1))).messages, [], 'waits for the rest of the body');
});

t.test('RFC 3261 25.1: a Content-Length whose value is folded onto the next line frames as the parser reads it', async (t) => {
  const folded = 'MESSAGE sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.2\r\nContent-Length:\r\n 5\r\n\r\nhello';
  const r = new StreamFramer().push(Buffer.from(folded + msg('x'), 'latin1'));
  t.equal(r.error, null, 'not refused as a stream without Content-Length');
  t.same(r.messages.map((b) => b.toString('latin1')), [folded, msg('x')]);
});

t.test('however the bytes are cut into reads, the same messages come out (SPEC 11: the peer cuts them)', async (t) => {
  const one = msg('hello');
  for (let cut = 0; cut <= one.length; cut++) {
    const f = new StreamFramer();
    const got = [...f.push(Buffer.from(one.slice(0, cut), 'latin1')).messages, ...f.push(Buffer.from(one.slice(cut), 'latin1')).messages];
    if (got.length !== 1 || got[0].toString('latin1') !== one) t.fail(`cut at ${cut}: ${JSON.stringify(got.map((b) => b.toString('latin1')))}`);
  }
  const rnd = lcg(7);
  for (let round = 0; round < 200; round++) {
    const parts: string[] = [];
    for (let i = rnd(6); i >= 0; i--) parts.push(['\r\n', '', '\r\n\r\n'][rnd(3)] + msg('b\r\n\r\n'.repeat(rnd(4)) + 'x'.repeat(rnd(3000))));
    const all = Buffer.from(parts.join(''), 'latin1');
    const whole = new StreamFramer().push(all).messages.map((b) => b.toString('latin1'));
    const f = new StreamFramer();
    const got: string[] = [];
    for (let i = 0; i < all.length;) {
      const n = 1 + rnd(rnd(2) ? 4 : 2000);
      const r = f.push(all.subarray(i, i + n));
      if (r.error) t.fail(`round ${round}: ${r.error.code}`);
      got.push(...r.messages.map((b) => b.toString('latin1')));
      i += n;
    }
    if (JSON.stringify(got) !== JSON.stringify(whole) || whole.length === 0) t.fail(`round ${round}: ${got.length} messages, ${whole.length} in one read`);
  }
  t.pass('every cut of a message, and 200 random streams read in random pieces');
});

t.test('a message a byte at a time: the same message, and the limits hold as for one read', async (t) => {
  const one = Buffer.from(msg('y'.repeat(20000)), 'latin1');
  const f = new StreamFramer();
  const got: Buffer[] = [];
  for (let i = 0; i < one.length; i++) got.push(...f.push(one.subarray(i, i + 1)).messages);
  t.same(got.map((b) => b.toString('latin1')), [one.toString('latin1')]);
  const g = new StreamFramer();
  let err: string | undefined;
  const head = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nX: ' + 'z'.repeat(70000), 'latin1');
  for (let i = 0; i < head.length && !err; i += 1) err = g.push(head.subarray(i, i + 1)).error?.code;
  t.equal(err, 'stream-headers-too-long', 'headers that never end, a byte at a time');
  const h = new StreamFramer();
  const big = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999\r\n\r\n', 'latin1');
  let e2: string | undefined;
  for (let i = 0; i < big.length && !e2; i++) e2 = h.push(big.subarray(i, i + 1)).error?.code;
  t.equal(e2, 'stream-message-too-large', 'a Content-Length past the limit, a byte at a time');
});
