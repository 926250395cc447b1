// The one Via-stamping rule (RFC 3261 18.2.1, RFC 3581 4) and what it promises: the address a
// response returns to, as stampedDestination predicts it for our keyed branch, is the one
// viaDestination reads from the stamped Via. If the two drifted, genuine responses would be
// dropped as forged.
import t from 'tap';
import { parseHostPort } from '../../../src/net/addr.js';
import { Edits } from '../../../src/sip/edits.js';
import { lookupHeader } from '../../../src/sip/headers.js';
import { Header } from '../../../src/sip/message.js';
import { parseVia, stampedDestination, stampVia, viaDestination } from '../../../src/sip/via.js';

const header: Header = { def: lookupHeader('Via'), name: 'Via', start: 0, valueStart: 0, valueEnd: 0, end: 0 };
const via = (text: string) => parseVia(text, 0, text.length, header)!;

const cases = [
  'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa',
  'SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa',
  'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa;rport',
  'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa;rport=5080',
  'SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa;rport=x',
  'SIP/2.0/UDP phone.example.net:5070;branch=z9hG4bKa',
  'SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKa',
  'SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bKa;received=192.0.2.10',
  'SIP/2.0/TCP [2001:db8::5]:5060;branch=z9hG4bKa',
  'SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKa;rport',
];
const sources = ['192.0.2.10:5060', '192.0.2.10:40312', '[2001:db8::5]:5061'].map((x) => parseHostPort(x)!);

t.test('stampedDestination agrees with viaDestination of the stamped Via', async (t) => {
  for (const text of cases) {
    for (const src of sources) {
      for (const stream of [false, true]) {
        const v = via(text);
        const edits = new Edits();
        stampVia(v, src, edits, stream);
        const stamped = edits.apply(text);
        const got = viaDestination(via(stamped));
        const want = stampedDestination(v, src, stream);
        t.same(want && got ? { addr: got.addr, port: got.port } : got, want, `${text} from ${src.addr}:${src.port}${stream ? ' (stream)' : ''} -> ${stamped}`);
      }
    }
  }
});

t.test('received= is set only when the sent-by differs from the source, or rport or a stream asks', async (t) => {
  const stamp = (text: string, src: string, stream = false): string => {
    const e = new Edits();
    stampVia(via(text), parseHostPort(src)!, e, stream);
    return e.apply(text);
  };
  t.equal(stamp('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa', '192.0.2.10:5060'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa');
  t.equal(stamp('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa', '192.0.2.11:5060'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa;received=192.0.2.11');
  t.equal(stamp('SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKa', '192.0.2.10:4000'), 'SIP/2.0/UDP 192.0.2.10:5060;rport=4000;branch=z9hG4bKa;received=192.0.2.10');
  t.equal(stamp('SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKa', '192.0.2.10:4000', true), 'SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKa;rport=4000;received=192.0.2.10');
});
