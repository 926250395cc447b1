// A party's routing URI written on our face and back (SPEC 4, RFC 3261 19.1.5, RFC 5626
// 5.3): its transport= travels as ;sp64t= (with the port of its connection when it is the
// sender's own over TCP or TLS), a port the face does not serve as ;sp64p=; coming back,
// the party gets its own URI again. And what a stranger writes there never breaks a rewrite.
import t from 'tap';
import { parseConfig, validate } from '../../../src/config/config.js';
import { Mapping } from '../../../src/core/mapping.js';
import { flowPort, transportFor } from '../../../src/core/transport.js';
import { keptPort, KEEP_PARAM, MAX_URIS, rewriteUriText, Flow } from '../../../src/core/uris.js';
import { Family, parseHostPort } from '../../../src/net/addr.js';
import { parseUri } from '../../../src/sip/uri.js';

const cfg = validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 192.0.2.10 2001:db8:64::10\nmap 2001:db8:1::5 192.0.2.105\ntcp yes\n', 'test'));
const map = new Mapping(cfg);
const ours = { isOurs: (a: string) => map.isOurs(a), preloaded: () => false, markers: new Set([KEEP_PARAM]) };
const write = (uri: string, out: Family, flow: Flow | null = null): string =>
  rewriteUriText(uri, { tr: map, out, ours, budget: { uris: MAX_URIS }, flow });

t.test('a party\'s URI goes to the face and comes back as it was', async (t) => {
  const flow = { hp: parseHostPort('192.0.2.10:40001')!, transport: 'tcp' };
  let n = 0;
  for (const port of ['', ':5060', ':5062', ':65535']) {
    for (const tp of ['', ';transport=udp', ';transport=tcp', ';transport=TLS']) {
      for (const f of [null, flow]) {
        const mine = `sip:alice@192.0.2.10${port}${tp};lr`;
        const there = write(mine, 6, f);
        t.match(there, /^sip:alice@\[2001:db8:64::10\](:5060)?[;>]?/, `${mine} names the face on sip-port: ${there}`);
        t.notMatch(there, /;transport=/, 'no transport= for the hop to us');
        if (port === ':5062' || port === ':65535') t.match(there, `;sp64p=${port.slice(1)}`, 'the port kept');
        if (tp === ';transport=tcp' && f) t.match(there, ';sp64t=tcp-40001', 'the flow named');
        t.equal(write(there, 4), mine, 'and back, the party\'s own URI');
        n++;
      }
    }
  }
  t.equal(n, 32);
});

t.test('the transport and flow of a URI that names the face', async (t) => {
  const of = (uri: string) => {
    const u = parseUri(uri, 0, uri.length);
    return { t: transportFor(uri, u, cfg, null, true), flow: flowPort(uri, u), port: u ? keptPort(uri, u)?.port ?? null : null };
  };
  t.same(of('sip:a@[2001:db8:64::10]:5060;sp64p=5062;sp64t=tcp-40001'), { t: 'tcp', flow: 40001, port: 5062 });
  t.same(of('sip:a@[2001:db8:64::10];transport=tcp'), { t: 'size', flow: null, port: null }, 'transport= on our face was the hop to us');
  t.same(of('sip:a@[2001:db8:64::10];sp64t=udp-99999;sp64p=0'), { t: 'udp', flow: null, port: null }, 'no flow or port out of range');
  t.same(of('sip:a@[2001:db8:64::10];sp64t=tcp-;sp64p=x'), { t: 'tcp', flow: null, port: null });
});

t.test('a stranger\'s parameters on our face never make the rewrite throw', async (t) => {
  const odd = [
    'sip:a@[2001:db8:64::10];transport=tcp;sp64t=udp',
    'sip:a@[2001:db8:64::10]:5060;sp64p=5062;sp64p=5063;sp64t=tls-1;sp64t=tcp',
    'sip:a@[2001:db8:64::10];sp64p;sp64t',
    'sip:a@[2001:db8:64::10]:;sp64p=5062',
    'sip:a@[2001:db8::1];sp64h=192.0.2.77;sp64p=5070;sp64t=tcp-1;transport=udp',
    'sip:a@[2001:db8:1::5]:5062;transport=tcp;sp64p=1;sp64t=x',
  ];
  for (const uri of odd) {
    for (const out of [4, 6] as const) t.doesNotThrow(() => write(uri, out, { hp: parseHostPort('[2001:db8:1::5]:7')!, transport: 'tcp' }), `${uri} to IPv${out}`);
  }
  t.equal(write('sip:a@[2001:db8:64::10];transport=tcp;sp64t=udp', 4), 'sip:a@192.0.2.10;transport=udp', 'ours wins over a transport= for the hop to us');
  t.equal(write('sip:a@[2001:db8::1]:5060;sp64h=192.0.2.77;sp64p=5070', 4), 'sip:a@192.0.2.77:5070', 'the generic address back to the party, its port too');
});
