import t from 'tap';
import { findUri, param, parseUri } from '../../../src/sip/uri.js';
import { parseVia, viaParam } from '../../../src/sip/via.js';
import { parseMessage } from '../../../src/sip/message.js';

const host = (s: string) => {
  const u = parseUri(s, 0, s.length);
  return u ? s.slice(u.hostStart, u.hostEnd) : null;
};

t.test('URI hosts', async (t) => {
  t.equal(host('sip:alice@192.0.2.1:5060;transport=udp'), '192.0.2.1');
  t.equal(host('sip:[2001:db8::1]:5070'), '[2001:db8::1]');
  t.equal(host('sips:bob@example.com'), 'example.com');
  t.equal(host('sip:user;par=u%40example.net@example.com'), 'example.com', 'user parameters');
  t.equal(host('sip:a:pw@192.0.2.1'), '192.0.2.1', 'password');
  t.equal(host('http://192.0.2.1/x.png'), '192.0.2.1');
  t.equal(host('http://u@[2001:db8::2]:80/'), '[2001:db8::2]');
  t.equal(host('tel:+15555550100'), null, 'tel: has no host');
  t.equal(host('sip:[2001:db8::1'), null, 'unclosed reference');
  const s = 'sip:a@192.0.2.1:5062;lr;maddr=192.0.2.9?h=v';
  const u = parseUri(s, 0, s.length)!;
  t.equal(s.slice(u.portStart, u.portEnd), '5062');
  t.ok(param(u, 'lr'));
  const m = param(u, 'maddr')!;
  t.equal(s.slice(m.valueStart, m.valueEnd), '192.0.2.9');
});

t.test('findUri: name-addr and addr-spec', async (t) => {
  const f = (v: string) => {
    const x = findUri(v, 0, v.length);
    return x ? v.slice(x.start, x.end) : null;
  };
  t.equal(f('"A <b>" <sip:a@b>;tag=1'), 'sip:a@b', '< inside quotes is not the start');
  t.equal(f('sip:a@b;tag=1'), 'sip:a@b', 'addr-spec: ; starts header params');
  t.equal(f('Watson <  sip:t@b  >'), 'sip:t@b', 'LWS inside brackets trimmed');
  t.equal(f('"unterminated <sip:a@b>'), null);
});

t.test('Via with LWS, IPv6, received and rport', async (t) => {
  const text = 'SIP/2.0/UDP [2001:db8::9:1]:5070;received=2001:db8::9:255;rport=5071;branch=z9hG4bKx';
  const m = parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nVia: ${text}\r\n\r\n`);
  const h = m.headers[0];
  const v = parseVia(m.text, h.valueStart, h.valueEnd, h)!;
  t.equal(v.transport, 'UDP');
  t.same(v.hostAddr, { addr: '2001:db8::9:1', family: 6 });
  t.equal(v.port, 5070);
  t.equal(viaParam(v, 'received')?.value, '2001:db8::9:255');
  t.equal(viaParam(v, 'rport')?.value, '5071');
  const lws = 'SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw';
  const m2 = parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nVia: ${lws}\r\n\r\n`);
  const v2 = parseVia(m2.text, m2.headers[0].valueStart, m2.headers[0].valueEnd, m2.headers[0])!;
  t.equal(v2.host, '192.0.2.2');
  t.equal(viaParam(v2, 'branch')?.value, '390skdjuw');
  const bad = 'SIP/2.0/UDP [2001:db8:::1]';
  const m3 = parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nVia: ${bad}\r\n\r\n`);
  t.equal(parseVia(m3.text, m3.headers[0].valueStart, m3.headers[0].valueEnd, m3.headers[0]), null);
});
