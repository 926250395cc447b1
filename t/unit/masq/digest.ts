import t from 'tap';
import { createHash } from 'node:crypto';
import { DigestAuth, fromPassword, parseDigest } from '../../../src/masq/digest.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

t.test('RFC 2617 / RFC 8760 responses are checked; wrong ones and foreign nonces are not', async (t) => {
  let now = 1_800_000_000_000;
  const auth = new DigestAuth('example.net', Buffer.from('k'), () => now);
  const users = { alice: fromPassword('alice', 'example.net', 'secret') };
  const lookup = (u: string) => users[u as 'alice'];
  const [shaCh, md5Ch] = auth.challenge('192.0.2.10');
  t.match(shaCh, /algorithm=SHA-256, qop="auth"/);
  const nonce = /nonce="([^"]+)"/.exec(md5Ch)![1];
  const uri = 'sip:example.net';
  const ha1 = md5('alice:example.net:secret');
  const resp = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5(`REGISTER:${uri}`)}`);
  const value = `Digest username="alice", realm="example.net", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001`;
  const from = '192.0.2.10';
  t.equal(auth.verify(value, 'REGISTER', lookup, '192.0.2.66'), null, 'the same credentials from another address: the nonce was not made for it');
  t.equal(auth.verify(value, 'REGISTER', lookup, from), 'alice', 'MD5 with qop=auth');
  t.equal(auth.verify(value, 'REGISTER', lookup, from), 'replay', 'the same nonce-count again is a replay');
  const ha1s = sha('alice:example.net:secret');
  const resps = sha(`${ha1s}:${nonce}:00000002:c0ffee:auth:${sha(`REGISTER:${uri}`)}`);
  t.equal(auth.verify(value.replace(resp, resps).replace('MD5', 'SHA-256').replace('nc=00000001', 'nc=00000002'), 'REGISTER', lookup, from), 'alice', 'SHA-256, the next nonce-count');
  t.equal(auth.verify(value.replace(resp, resp.replace(/.$/, '0')), 'REGISTER', lookup, from), null, 'wrong response');
  t.equal(auth.verify(value, 'INVITE', lookup, from), null, 'another method');
  t.equal(auth.verify(value.replace('alice', 'mallory'), 'REGISTER', lookup, from), null, 'unknown user');
  t.equal(auth.verify(value.replace(nonce, '5f00.0000'), 'REGISTER', lookup, from), null, 'a nonce we did not make');
  now += 600_000;
  t.equal(auth.verify(value, 'REGISTER', lookup, from), 'stale', 'an old nonce is stale');
  t.same(parseDigest('Basic abc'), null);
  t.same(parseDigest('Digest username="a\\"b", nc=1'), { username: 'a"b', nc: '1' });
});

t.test('credentials with bytes above 127 are refused, never thrown on (found by the fuzzer)', async (t) => {
  const d = new DigestAuth('example.net', Buffer.from('k'), () => 0);
  const users = (u: string) => (u === 'alice' ? fromPassword('alice', 'example.net', 'pw') : undefined);
  const n = d.nonce('192.0.2.10');
  const bad = n.slice(0, -1) + '\xe9';
  t.equal(d.verify(`Digest username="alice", realm="example.net", nonce="${bad}", uri="sip:example.net", response="${'0'.repeat(31)}\xe9"`, 'REGISTER', users, '192.0.2.10'), null);
  t.equal(d.verify(`Digest username="alice", realm="example.net", nonce="${n}", uri="sip:example.net", response="${'0'.repeat(31)}\xe9"`, 'REGISTER', users, '192.0.2.10'), null);
});

t.test('nonce-counts are remembered in a bounded table; a forgotten nonce is stale, never replayable', async (t) => {
  let now = 1_800_000_000_000;
  const d = new DigestAuth('example.net', Buffer.from('k'), () => now);
  const users = (u: string) => (u === 'alice' ? fromPassword('alice', 'example.net', 'pw') : undefined);
  const ha1 = md5('alice:example.net:pw');
  const creds = (nonce: string, nc: string) =>
    `Digest username="alice", realm="example.net", nonce="${nonce}", uri="sip:example.net", response="${md5(`${ha1}:${nonce}:${nc}:c:auth:${md5('REGISTER:sip:example.net')}`)}", algorithm=MD5, cnonce="c", qop=auth, nc=${nc}`;
  const first = d.nonce('192.0.2.10');
  t.equal(d.verify(creds(first, '00000001'), 'REGISTER', users, '192.0.2.10'), 'alice');
  t.equal(d.verify(creds(first, '00000001'), 'REGISTER', users, '192.0.2.10'), 'replay', 'remembered');
  t.equal(d.verify(creds(first, '00000002'), 'REGISTER', users, '192.0.2.10'), 'alice', 'a higher count is fine');
  // 65,536 more nonces used once each (one per address): the first one's count is forgotten.
  for (let i = 0; i < 65_536; i++) {
    const to = `2001:db8::${i.toString(16)}`;
    if (d.verify(creds(d.nonce(to), '00000001'), 'REGISTER', users, to) !== 'alice') t.fail(`nonce ${i}`);
  }
  t.equal(d.verify(creds(first, '00000002'), 'REGISTER', users, '192.0.2.10'), 'stale', 'forgotten: stale (a new challenge), not a replay accepted');
  const later = d.nonce('192.0.2.10');
  now += 400_000;
  t.equal(d.verify(creds(later, '00000001'), 'REGISTER', users, '192.0.2.10'), 'stale', 'after its life a nonce is stale');
});
