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
