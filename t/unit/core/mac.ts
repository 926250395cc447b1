// Our MAC (core/mac.ts): 48 bits of SHA-256 over the hex key, a newline and the value.
import t from 'tap';
import { createHash } from 'node:crypto';
import { macer, TEST_SECRET } from '../../../src/core/mac.js';

const byHand = (key: Buffer, v: string) => createHash('sha256').update(`${key.toString('hex')}\n${v}`).digest('hex').slice(0, 12);

t.test('the construction, computed the slow way (the createHash fallback computes the same)', async (t) => {
  const mac = macer(TEST_SECRET);
  for (const v of ['', 'z9hG4bKa1\n192.0.2.10:5060\ncall1\n1\n192.0.2.10:5060/UDP', 'é\u0000\r\n'.repeat(50)]) {
    t.match(mac(v), /^[0-9a-f]{12}$/);
    t.equal(mac(v), byHand(TEST_SECRET, v));
  }
});

t.test('the key and every byte of the value count', async (t) => {
  const a = macer(TEST_SECRET), b = macer(Buffer.from('another key'));
  t.not(a('x'), b('x'), 'another key, another MAC');
  t.not(a('192.0.2.10:5060'), a('192.0.2.10:5061'), 'one character more');
  t.not(a('ab'), a('a'), 'a prefix is not the value');
});

t.test('secret FILE rotation: the first key signs, each key verifies', async (t) => {
  const { keyring, verifies } = await import('../../../src/core/mac.js');
  const oldKey = Buffer.from('old key'), newKey = Buffer.from('new key');
  const before = keyring([oldKey]);
  const during = keyring([newKey, oldKey]);
  const after = keyring([newKey]);
  const v = '192.0.2.10:5060';
  t.equal(during[0](v), after[0](v), 'during the rotation the new key signs');
  t.ok(verifies(during, v, before[0](v)), 'what the old key signed still verifies');
  t.notOk(verifies(after, v, before[0](v)), 'once the old key is removed, it no longer does');
  t.notOk(verifies(during, v, macer(Buffer.from('a stranger\'s key'))(v)), 'a stranger\'s key never did');
  t.equal(keyring(TEST_SECRET).length, 1, 'one key');
});
