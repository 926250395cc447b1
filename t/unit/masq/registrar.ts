import t from 'tap';
import { R } from '../../../src/sip/reasons.js';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Bindings } from '../../../src/masq/bindings.js';
import { readJson, saveAtomic } from '../../../src/daemon/store.js';
import { parsePasswd, PasswdError } from '../../../src/masq/passwd.js';

t.test('bindings follow RFC 3261 10.3 and survive a restart', async (t) => {
  let now = 1_000_000;
  const b = new Bindings(() => now);
  t.same(b.register('sip:alice@example.net', 'c1', 1, '192.0.2.10:5060/udp', [{ uri: 'sip:alice@192.0.2.10', expires: 60 }]), { ok: true });
  t.same(b.register('sip:alice@example.net', 'c2', 1, '192.0.2.11:5060/udp', [{ uri: 'sip:alice@192.0.2.11', expires: 3600 }]), { ok: true });
  t.equal(b.lookup('sip:alice@example.net').length, 2);
  t.same(b.register('sip:alice@example.net', 'c1', 1, 'x', [{ uri: 'sip:alice@192.0.2.10', expires: 60 }]), { ok: false, reason: R.registerOutOfOrder });
  const dir = mkdtempSync(join(tmpdir(), 'sp64reg-'));
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
