// secret FILE (issue 18): one or two keys, each at least 32 characters, others may not read it.
import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostSecret, readSecret } from '../../../src/daemon/secret.js';
import { tempDir } from '../../lib/tmp.js';

const dir = tempDir(t, 'sp64secret-');
const file = (name: string, text: string, mode = 0o600): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
};
const K1 = 'a'.repeat(64), K2 = 'b'.repeat(64);

t.test('keys, comments, rotation', async (t) => {
  const one = readSecret(file('one', `# openssl rand -hex 32\n${K1}\n`));
  t.equal(one.keys.length, 1);
  t.equal(one.warning, null, 'mode 600: no warning');
  const two = readSecret(file('two', `${K2}\n\n${K1}\r\n`));
  t.equal(two.keys.length, 2, 'two keys: rotation');
  t.same(two.keys[1], one.keys[0], 'the same line is the same key on every instance');
  t.not(two.keys[0].toString('hex'), two.keys[1].toString('hex'));
  t.equal(two.keys[0].length, 32, 'a 256-bit key whatever the line');
  t.not(hostSecret().toString('hex'), one.keys[0].toString('hex'), 'not the machine-id key');
});

t.test('refused: unreadable, empty, three keys, short keys; warned: readable by others', async (t) => {
  t.throws(() => readSecret(join(dir, 'none')), /cannot read secret .*none: ENOENT/);
  t.throws(() => readSecret(file('empty', '# nothing\n')), /one or two keys \(the first signs\), found 0/);
  t.throws(() => readSecret(file('three', `${K1}\n${K2}\n${K1}\n`)), /found 3/);
  t.throws(() => readSecret(file('short', `${K1}\nshort\n`)), /key 2 is shorter than 32 characters \(make one with: openssl rand -hex 32\)/);
  t.match(readSecret(file('open', `${K1}\n`, 0o644)).warning, /readable by others \(mode 644\).*chmod 600/);
});
