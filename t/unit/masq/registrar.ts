import t from 'tap';
import { R } from '../../../src/sip/reasons.js';
import { AuthGuard } from '../../../src/masq/guard.js';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Bindings } from '../../../src/masq/bindings.js';
import { readJson, saveAtomic } from '../../../src/daemon/store.js';
import { parsePasswd, PasswdError } from '../../../src/masq/passwd.js';
import { Registrar } from '../../../src/masq/registrar.js';
import { parseConfig, validate } from '../../../src/config/config.js';
import { parseMessage } from '../../../src/sip/message.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { SipError } from '../../../src/sip/errors.js';
import { tempDir } from '../../lib/tmp.js';

t.test('bindings follow RFC 3261 10.3 and survive a restart', async (t) => {
  let now = 1_000_000;
  const b = new Bindings(() => now);
  t.same(b.register('sip:alice@example.net', 'c1', 1, '192.0.2.10:5060/udp', [{ uri: 'sip:alice@192.0.2.10', expires: 60 }]), { ok: true });
  t.same(b.register('sip:alice@example.net', 'c2', 1, '192.0.2.11:5060/udp', [{ uri: 'sip:alice@192.0.2.11', expires: 3600 }]), { ok: true });
  t.equal(b.lookup('sip:alice@example.net').length, 2);
  t.same(b.register('sip:alice@example.net', 'c1', 1, 'x', [{ uri: 'sip:alice@192.0.2.10', expires: 60 }]), { ok: false, reason: R.registerOutOfOrder });
  const dir = tempDir(t, 'sp64reg-');
  const file = join(dir, 'registrations.json');
  saveAtomic(file, JSON.stringify(b.all()));
  t.notOk(existsSync(file + '.tmp'), 'written through a temporary file and renamed');
  t.match(readFileSync(file, 'utf8'), 'sip:alice@192.0.2.11');
  now += 120_000; // the first binding expires
  const again = new Bindings(() => now);
  t.equal(again.restore(readJson(file)), 1, 'after a restart, the unexpired binding is back');
  t.equal(again.lookup('sip:alice@example.net')[0].contact, 'sip:alice@192.0.2.11');
  t.same(again.register('sip:alice@example.net', 'c3', 1, 'x', [{ uri: '*', expires: 60 }]), { ok: false, reason: R.wildcardContact });
  t.same(again.register('sip:alice@example.net', 'c3', 1, 'x', [{ uri: '*', expires: 0 }]), { ok: true });
  t.same(again.lookup('sip:alice@example.net'), []);
  t.equal(readJson(join(dir, 'none.json')), null, 'no file: nothing to restore');
  t.equal(new Bindings().restore(null), 0);
});

t.test('password file', async (t) => {
  const ha1 = createHash('md5').update('bob:example.net:pw').digest('hex');
  const u = parsePasswd(`# users\nalice secret\nbob md5:${ha1}\n`, 'passwd', 'example.net');
  t.equal(u.get('alice')!.ha1('MD5'), createHash('md5').update('alice:example.net:secret').digest('hex'));
  t.equal(u.get('bob')!.ha1('MD5'), ha1);
  t.throws(() => parsePasswd('alice a\nalice b\n', 'passwd', 'r'), new PasswdError('passwd:2: alice is listed twice'));
  t.throws(() => parsePasswd('bob md5:xyz\n', 'passwd', 'r'), /passwd:1: expected/);
});

t.test('AuthGuard: a source backs off after the threshold, doubling; a guessed user makes every failing source back off', async (t) => {
  let now = 0;
  const g = new AuthGuard(() => now, 3, 60_000);
  g.failed('198.51.100.7', 'alice');
  g.failed('198.51.100.7', 'bob');
  t.equal(g.refusedFor('198.51.100.7'), 0, 'two failures: not yet');
  g.failed('198.51.100.7', 'carol');
  t.equal(g.refusedFor('198.51.100.7'), 60_000, 'the third: 60 s');
  now += 60_000;
  t.equal(g.refusedFor('198.51.100.7'), 0, 'over');
  for (let i = 0; i < 3; i++) g.failed('198.51.100.7', 'dave');
  t.equal(g.refusedFor('198.51.100.7'), 120_000, 'the next back-off doubles');
  // dave has failed three times now: any other source that fails for dave backs off at once.
  g.failed('203.0.113.9', 'dave');
  t.equal(g.refusedFor('203.0.113.9'), 60_000, 'a second address guessing the same user');
  t.equal(g.refusedFor('203.0.113.10'), 0, 'an address that did not fail is not refused');
  g.succeeded('198.51.100.7');
  t.equal(g.refusedFor('198.51.100.7'), 0, 'right credentials: afresh');
  for (let i = 0; i < 40; i++) {
    now += 4_000_000;
    for (let k = 0; k < 3; k++) g.failed('192.0.2.99', null);
  }
  t.ok(g.refusedFor('192.0.2.99') <= 3_600_000, 'never more than an hour');
});

t.test('bindings per address-of-record and in all are capped; a refused REGISTER changes nothing', async (t) => {
  const b = new Bindings(() => 0);
  const c = (uri: string) => ({ uri, expires: 60 });
  t.same(b.register('a@x', 'c', 1, 's', [c('sip:a@192.0.2.1'), c('sip:a@192.0.2.2')], 2, 3), { ok: true });
  t.same(b.register('a@x', 'c', 2, 's', [c('sip:a@192.0.2.3')], 2, 3), { ok: false, reason: R.tooManyBindings });
  t.equal(b.lookup('a@x').length, 2, 'unchanged');
  t.same(b.register('a@x', 'c', 3, 's', [c('sip:a@192.0.2.1')], 2, 3), { ok: true }, 'a refresh of a binding is fine');
  t.same(b.register('b@x', 'd', 1, 's', [c('sip:b@192.0.2.4')], 2, 3), { ok: true });
  t.same(b.register('c@x', 'e', 1, 's', [c('sip:c@192.0.2.5')], 2, 3), { ok: false, reason: R.registrationsFull });
  t.equal(b.size(), 3);
});

t.test('SPEC 11: names made up by the thousand do not push a guessed user out of the guard (failures per user count only for users of the file)', async (t) => {
  const cfg = validate(parseConfig('inbound 192.0.2.1/24\noutbound 2001:db8::1\nregistrar yes\ndomain example.net\npasswd /dev/null\nauth-failures 3\nauth-backoff 60\n', 'test'));
  const reg = new Registrar(cfg, parsePasswd('alice alice-pw\n', 'passwd', 'example.net'), Buffer.alloc(32, 7), () => 0);
  const guess = (user: string, from: string): string => {
    const text = `REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/UDP [${from}]:5060;branch=z9hG4bKg;rport\r\nMax-Forwards: 70\r\nTo: <sip:${user}@example.net>\r\nFrom: <sip:${user}@example.net>;tag=g\r\nCall-ID: g@x\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username="${user}", realm="example.net", nonce="0.f4af1e31b399d680987e1119", uri="sip:example.net", response="a0e08cea5070a49969932d5041a9098b", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"\r\nContact: <sip:${user}@[${from}]:5060>\r\nContent-Length: 0\r\n\r\n`;
    try {
      reg.register(parseMessage(text), parseHostPort(`[${from}]:5060`)!, 'udp', 'g@x', 1);
      return 'accepted';
    } catch (e) {
      if (!(e instanceof SipError)) throw e;
      return e.reason.code;
    }
  };
  for (let i = 0; i < 3; i++) t.equal(guess('alice', `2001:db8:2:${i}::66`), 'auth-required', `a guess for alice from a /64 of its own (${i + 1})`);
  for (let i = 0; i < 70_000; i++) guess(`nobody${i}`, `2001:db8:${(16 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}::66`); // made-up names, each from a fresh /64
  t.equal(guess('alice', '2001:db8:4::66'), 'auth-required', 'a guess for alice from a new /64: 401');
  t.equal(guess('alice', '2001:db8:4::66'), 'auth-backoff', 'and that /64 backs off at its first failure: alice is still known to be guessed');
});
