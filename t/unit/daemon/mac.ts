// The MACs' native function (src/native/mac.c, daemon/mac-native.ts): the values of
// core/mac.ts's crypto.hash on any string and key, its arguments checked, a wrong one
// never used, and an engine that writes the same bytes with either.
import t from 'tap';
import { cryptoHasher, Hasher } from '../../../src/core/mac.js';
import { loadNative } from '../../../src/daemon/datapath-native.js';
import { nativeHasher } from '../../../src/daemon/mac-native.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { engineOf } from '../../lib/engine.js';
import { lcg } from '../../lib/rand.js';

const addon = loadNative();

t.test('the addon offers the MAC and it passes its check against crypto.hash', async (t) => {
  t.notOk(addon instanceof Error, addon instanceof Error ? addon.message : 'loaded');
  const { hasher, why } = nativeHasher();
  t.equal(why, null, why ?? 'no reason to refuse it');
  t.type(hasher, 'function');
});

t.test('2,000 random keys and values: the same MAC as crypto.hash', async (t) => {
  const { hasher } = nativeHasher();
  if (!hasher || addon instanceof Error || !addon.macer) return t.fail('no native hasher');
  const rnd = lcg(20261206);
  // ASCII, latin1's upper half (what a message's bytes read as), a BMP char, a lone surrogate.
  const pick = (): string => {
    const k = rnd(10);
    return k < 6 ? String.fromCharCode(32 + rnd(95)) : k < 9 ? String.fromCharCode(128 + rnd(128)) : rnd(2) ? String.fromCharCode(0x100 + rnd(0xd000)) : String.fromCharCode(0xd800 + rnd(0x800));
  };
  let differ = 0;
  for (let i = 0; i < 2000; i++) {
    const prefix = Buffer.from(Array.from({ length: 1 + rnd(125) }, () => rnd(256))).toString('hex') + '\n';
    const n = rnd(8) === 0 ? rnd(5000) : rnd(300); // some past mac.c's 1,024-byte buffer
    let value = '';
    for (let k = 0; k < n; k++) value += pick();
    const want = cryptoHasher(prefix)(value);
    if (hasher(prefix)(value) !== want) differ++;
    if (prefix.length < 252 && addon.macer(prefix)(value) !== want) differ++;
  }
  t.equal(differ, 0, 'none differs (keys of 1 to 125 bytes; values of up to 5,000 chars)');
});

t.test('its arguments are checked: a TypeError, never a guess', async (t) => {
  if (addon instanceof Error || !addon.macer) return t.fail('no native macer');
  const macer = addon.macer as unknown as (...a: unknown[]) => (...a: unknown[]) => string;
  t.throws(() => macer(), TypeError, 'no prefix');
  t.throws(() => macer(5), TypeError, 'a number for the prefix');
  t.throws(() => macer('k'.repeat(252)), TypeError, 'a prefix of 252 bytes');
  const mac = macer('6b\n');
  t.throws(() => mac(), TypeError, 'no value');
  t.throws(() => mac({}), TypeError, 'an object for the value');
  t.equal(mac('v'), cryptoHasher('6b\n')('v'), 'and it still works after them');
});

t.test('a native MAC that differs from crypto.hash is not used', async (t) => {
  const lying = nativeHasher({ macer: (p: string) => (v: string) => (v === '' ? cryptoHasher(p)(v) : '000000000000') });
  t.same(lying, { hasher: null, why: 'its MACs differ from crypto.hash' });
  t.equal(nativeHasher({}).hasher, null, 'an addon without macer (no SHA-256 found): none');
  t.equal(nativeHasher(new Error('not built')).why, 'not built', 'no addon: none, and why');
  const throwing = nativeHasher({ macer: () => { throw new TypeError('rtp64.macer(prefix)'); } });
  t.same(throwing, { hasher: null, why: 'rtp64.macer(prefix)' }, 'one that throws: none');
});

t.test('an engine writes the same bytes with either: branch, Record-Route and masquerading tokens', async (t) => {
  const { hasher } = nativeHasher();
  if (!hasher) return t.fail('no native hasher');
  const secret = Buffer.from('an operator secret of 32 bytes..');
  const run = (text: string, h: Hasher | undefined, msg: string, src: string, dst: string): string[] =>
    engineOf(text, { secret, hasher: h }).engine.handle(Buffer.from(msg, 'latin1'), parseHostPort(src)!, parseHostPort(dst)!).map((a) => (a.type === 'send' ? a.data : a.type));
  const invite = (ruri: string, via: string): string => [
    `INVITE ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP ${via};branch=z9hG4bK776asdhds;rport`, 'Max-Forwards: 70', 'From: <sip:alice@192.0.2.10>;tag=1928301774',
    `To: <${ruri}>`, 'Call-ID: a84b4c76e66710@192.0.2.10', 'CSeq: 314159 INVITE', `Contact: <sip:alice@${via}>`, 'Content-Length: 0', '', '',
  ].join('\r\n');
  const cases: Array<[string, string, string, string, string]> = [
    ['generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 192.0.2.10 2001:db8:64::10\nmap 2001:db8:1::20 192.0.2.120\n', invite('sip:carol@192.0.2.120', '192.0.2.10:5060'), 'address model', '192.0.2.10:5060', '192.0.2.120:5060'],
    ['inbound 192.168.1.1/24\noutbound 198.51.100.1\n', invite('sip:carol@203.0.113.5', '192.168.1.10:5060'), 'masquerading', '192.168.1.10:5060', '192.168.1.1:5060'],
  ];
  for (const [conf, msg, name, src, dst] of cases) {
    const a = run(conf, undefined, msg, src, dst);
    const b = run(conf, hasher, msg, src, dst);
    t.ok(a.some((x) => /branch=z9hG4bK/.test(x)), `${name}: a request went out`);
    t.same(b, a, `${name}: the same bytes`);
    t.notSame(run(conf, () => () => '000000000000', msg, src, dst), a, `${name}: (the hasher is the one the MACs use)`);
  }
});
