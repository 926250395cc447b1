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
  const [shaCh, md5Ch] = auth.challenge();
  t.match(shaCh, /algorithm=SHA-256, qop="auth"/);
  const nonce = /nonce="([^"]+)"/.exec(md5Ch)![1];
  const uri = 'sip:example.net';
  const ha1 = md5('alice:example.net:secret');
  const resp = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5(`REGISTER:${uri}`)}`);
  const value = `Digest username="alice", realm="example.net", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001`;
  t.equal(auth.verify(value, 'REGISTER', lookup), 'alice', 'MD5 with qop=auth');
  const ha1s = sha('alice:example.net:secret');
  const resps = sha(`${ha1s}:${nonce}:00000001:c0ffee:auth:${sha(`REGISTER:${uri}`)}`);
  t.equal(auth.verify(value.replace(resp, resps).replace('MD5', 'SHA-256'), 'REGISTER', lookup), 'alice', 'SHA-256');
  t.equal(auth.verify(value.replace(resp, resp.replace(/.$/, '0')), 'REGISTER', lookup), null, 'wrong response');
  t.equal(auth.verify(value, 'INVITE', lookup), null, 'another method');
  t.equal(auth.verify(value.replace('alice', 'mallory'), 'REGISTER', lookup), null, 'unknown user');
  t.equal(auth.verify(value.replace(nonce, '5f00.0000'), 'REGISTER', lookup), null, 'a nonce we did not make');
  now += 600_000;
  t.equal(auth.verify(value, 'REGISTER', lookup), 'stale', 'an old nonce is stale');
  t.same(parseDigest('Basic abc'), null);
  t.same(parseDigest('Digest username="a\\"b", nc=1'), { username: 'a"b', nc: '1' });
});

t.test('credentials with bytes above 127 are refused, never thrown on (found by the fuzzer)', async (t) => {
  const d = new DigestAuth('example.net', Buffer.from('k'), () => 0);
  const users = (u: string) => (u === 'alice' ? fromPassword('alice', 'example.net', 'pw') : undefined);
  const n = d.nonce();
  const bad = n.slice(0, -1) + '\xe9';
  t.equal(d.verify(`Digest username="alice", realm="example.net", nonce="${bad}", uri="sip:example.net", response="${'0'.repeat(31)}\xe9"`, 'REGISTER', users), null);
  t.equal(d.verify(`Digest username="alice", realm="example.net", nonce="${n}", uri="sip:example.net", response="${'0'.repeat(31)}\xe9"`, 'REGISTER', users), null);
});
