import t from 'tap';
import { StreamFramer } from '../../../src/sip/stream.js';

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
