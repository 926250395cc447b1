// SPEC 11: what tables and caches keep holds no message alive. A string cut from a message
// with slice() can keep the whole message (up to 64 KB) in memory; a stranger who makes the
// proxy keep thousands of such strings would make it hold hundreds of megabytes. Each store
// below is filled from large messages and the heap measured after a full collection.
import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseConfig, validate } from '../../../src/config/config.js';
import { buildEngine } from '../../../src/daemon/compose.js';
import { NgCalls } from '../../../src/core/ng.js';
import { Bindings } from '../../../src/masq/bindings.js';
import { DigestAuth, fromPassword } from '../../../src/masq/digest.js';
import { AuthGuard } from '../../../src/masq/guard.js';
import { createHash } from 'node:crypto';
import { parseHostPort, parseIp } from '../../../src/net/addr.js';
import { allDotted, charClass, decimalAt, detached, inClass, runOf, skipSpace } from '../../../src/net/strings.js';
import { lcg } from '../../lib/rand.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const PAD = 'x'.repeat(30000); // each message about 30 KB
const N = 400; //                  400 of them: 12 MB if each were kept
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
/** Heap growth per kept item while `fill(i)` runs N times, the result of each kept by the caller. */
function growth(fill: (i: number) => unknown): number {
  const keep: unknown[] = [];
  const before = heap();
  for (let i = 0; i < N; i++) keep.push(fill(i));
  const per = (heap() - before) / N;
  keep.length = 0;
  return per;
}

t.test('detached: the same text, holding nothing else alive', async (t) => {
  const big = `${PAD}Call-ID: a84b4c76e66710@pc33.atlanta.example.com${PAD}`;
  const cut = big.slice(PAD.length + 9, PAD.length + 47);
  t.equal(detached(cut), cut, 'the same characters');
  t.equal(detached(''), '');
  t.equal(detached('short'), 'short');
  // The control: a plain slice keeps its message (the test would pass for nothing otherwise).
  t.ok(growth((i) => `${PAD}${i}@example.com${PAD}`.slice(PAD.length, PAD.length + 20)) > 20000, 'a slice keeps its 60 KB message');
  t.ok(growth((i) => detached(`${PAD}${i}@example.com${PAD}`.slice(PAD.length, PAD.length + 20))) < 1000, 'a detached copy keeps only itself');
});

t.test('the address cache keeps no message its addresses were cut from', async (t) => {
  const per = growth((i) => {
    const text = `${PAD}[2001:db8::${(i + 1).toString(16)}:1234]${PAD}`;
    return parseIp(text.slice(PAD.length + 1, text.indexOf(']')));
  });
  t.ok(per < 2000, `${Math.round(per)} bytes a cached address`);
});

t.test('the media table keeps no INVITE: a stream costs its own bytes, not its offer\'s', async (t) => {
  const cfg = validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmedia4 192.0.2.2\nmedia6 2001:db8::2\nmap 192.0.2.10 2001:db8:64::10\nmap 2001:db8:1::20 192.0.2.120\nrtp-ports 20000-29999\n', 'test'));
  const { engine } = buildEngine(cfg, { product: 'sipproxy64/test' });
  const alice = parseHostPort('192.0.2.10:5060')!;
  const to = parseHostPort('192.0.2.120:5060')!;
  const sdp = 'v=0\r\no=a 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n';
  const invite = (i: number): string => [
    'INVITE sip:carol@192.0.2.120 SIP/2.0', `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKk${i}`, 'Max-Forwards: 70',
    'From: <sip:alice@192.0.2.10>;tag=a', 'To: <sip:carol@192.0.2.120>', `Call-ID: keep-${i}-a84b4c76e66710@192.0.2.10`, 'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.10>', ...[0, 1, 2, 3].map((k) => `X-Pad-${k}: ${PAD.slice(0, 7500)}`), 'Content-Type: application/sdp', `Content-Length: ${sdp.length}`, '', sdp,
  ].join('\r\n');
  const per = growth((i) => {
    const out = engine.handle(Buffer.from(invite(i), 'latin1'), alice, to);
    return out[0].type === 'send' ? out[0].data.length : out[0].type; // what is sent goes, as from a socket handler
  });
  t.equal(engine.media.size, N, 'each INVITE has its stream');
  t.ok(per < 4000, `${Math.round(per)} bytes a stream (the INVITE was 30 KB)`);
});

t.test('the registrar\'s bindings keep no REGISTER', async (t) => {
  const b = new Bindings(() => 0);
  const per = growth((i) => {
    const msg = `${PAD}alice${i}@example.net sip:alice@192.0.2.10:5060 reg-${i}-a84b4c76e66710@192.0.2.10 192.0.2.10:5060/udp ${PAD}`;
    const at = (s: string): string => msg.slice(msg.indexOf(s), msg.indexOf(' ', msg.indexOf(s)));
    return b.register(at(`alice${i}@`), at(`reg-${i}-`), 1, at('192.0.2.10:5060/'), [{ uri: at('sip:alice@'), expires: 600 }]);
  });
  t.equal(b.size(), N);
  t.ok(per < 2000, `${Math.round(per)} bytes a binding`);
});

t.test('media-engine rtpengine: the calls it tracks keep no INVITE', async (t) => {
  const calls = new NgCalls();
  const per = growth((i) => {
    const msg = `${PAD}ng-${i}-a84b4c76e66710@192.0.2.10 ${PAD};tag=a${i} 2001:db8:9::${(i % 60000).toString(16)}`;
    const key = msg.slice(PAD.length, PAD.length + 40);
    calls.invited(key, true);
    calls.mayChange(key, msg.slice(msg.indexOf(';tag=') + 5, msg.lastIndexOf(' ')), msg.slice(msg.lastIndexOf(' ') + 1), undefined);
    calls.admit(key, msg.slice(msg.lastIndexOf(' ') + 1), 1); // a stranger's offer: counted, with its source
    calls.commit(); // the message went on
  });
  t.equal(calls.size, N);
  t.ok(per < 2000, `${Math.round(per)} bytes a call`);
});

t.test('the digest nonce table keeps no REGISTER', async (t) => {
  const auth = new DigestAuth('example.net', Buffer.from('k'), () => 1_800_000_000_000);
  const alice = fromPassword('alice', 'example.net', 'secret');
  const md5 = (x: string): string => createHash('md5').update(x).digest('hex');
  const ha1 = md5('alice:example.net:secret');
  let accepted = 0;
  const per = growth((i) => {
    const from = `2001:db8::${(i + 1).toString(16)}`; // a nonce of its own each time: it names the address
    const nonce = auth.nonce(from);
    const resp = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5('REGISTER:sip:example.net')}`);
    const value = `Digest username="alice", realm="example.net", nonce="${nonce}", uri="sip:example.net", response="${resp}", algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001`;
    const msg = `${PAD}\r\nAuthorization: ${value}\r\n${PAD}`;
    const start = msg.indexOf('Digest');
    const who = auth.verify(msg.slice(start, msg.indexOf('\r\n', start)), 'REGISTER', () => alice, from);
    if (who === 'alice') accepted++; // so its nonce-count is kept
    return who;
  });
  t.equal(accepted, N, 'each REGISTER\'s credentials accepted');
  t.ok(per < 2000, `${Math.round(per)} bytes a nonce`);
});

t.test('the registrar\'s guard keeps no failed REGISTER (the user names strangers send)', async (t) => {
  const guard = new AuthGuard(() => 0, 1000, 1000);
  const per = growth((i) => guard.failed('192.0.2.66', `${PAD}Digest username="guess-${i}-a84b4c76e66710", ${PAD}`.slice(PAD.length + 17, PAD.length + 38 + String(i).length)));
  t.ok(per < 2000, `${Math.round(per)} bytes a user name`);
});

t.test('decimalAt reads a span as Number(slice) reads a run of digits, and anything else as NaN', (t) => {
  const rnd = lcg(7);
  const alphabet = '0123456789012345678901234567890123456789 +-.eExX\t/:;a\u00e9\u0660';
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    const text = Array.from({ length: rnd(14) }, () => alphabet[rnd(alphabet.length)]).join('');
    const s = rnd(text.length + 1);
    const e = s + rnd(text.length - s + 1);
    const span = text.slice(s, e);
    const want = /^[0-9]+$/.test(span) ? Number(span) : NaN;
    if (!Object.is(decimalAt(text, s, e), want)) {
      t.fail(`${JSON.stringify(span)}: ${decimalAt(text, s, e)}, not ${want}`);
      return t.end();
    }
    checked++;
  }
  t.equal(checked, 20000, 'random spans: the same number (leading zeros, up to 13 digits) or NaN (sign, point, exponent, hex, space, Arabic-Indic digit, empty)');
  t.equal(decimalAt('x12345y', 1, 6, 5), 12345, 'five digits within a cap of five');
  t.ok(Number.isNaN(decimalAt('x123456y', 1, 7, 5)), 'six past it: NaN');
  t.ok(Number.isNaN(decimalAt('x00001y', 1, 6, 4)), 'leading zeros count as digits');
  const big = decimalAt('x99999999999999999999y', 1, 21);
  t.ok(big > 0.99e20 && big < 1.01e20, `twenty digits: large, never small (${big})`);
  t.end();
});

t.test('charClass, runOf, skipSpace and allDotted read as the regexes they replace', (t) => {
  // Each class as its spec and the regex class it stands for ('-' last: a literal).
  const classes: Array<[string, string]> = [['A-Za-z0-9.!%*_+`\'~-', "[A-Za-z0-9.!%*_+`'~-]"], [':;?>/#, \t\r\n', '[:;?>/#, \\t\\r\\n]'], ['0-9A-Fa-f:.', '[0-9A-Fa-f:.]']];
  for (const [spec, re] of classes) {
    const table = charClass(spec);
    const rx = new RegExp(re);
    let differ = 0;
    for (let c = 0; c < 0x3100; c++) if (inClass(table, c) !== rx.test(String.fromCharCode(c))) differ++;
    t.equal(differ, 0, `${JSON.stringify(spec)}: every code unit below U+3100 in the class exactly when /${re}/ matches it`);
  }
  const alphabet = ['a', 'Z', '0', '9', '.', '-', ' ', '\t', '\r', '\n', '\u00a0', '\u2028', '\u3000', '\ufeff', '#', ':', '\u0131'];
  const rnd = lcg(31); // seeded: a failure repeats
  const token = charClass("A-Za-z0-9.!%*_+`'~-");
  let checked = 0;
  for (let i = 0; i < 20000 && checked === i; i++) {
    const text = Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]).join('');
    const s = rnd(text.length + 1);
    const e = s + rnd(text.length - s + 1);
    const span = text.slice(s, e);
    const ok = runOf(text, s, e, token) === s + (/^[A-Za-z0-9.!%*_+`'~-]*/.exec(span)?.[0].length ?? 0) &&
      skipSpace(text, s, e) === s + (/^\s*/.exec(span)?.[0].length ?? 0) &&
      allDotted(span) === /^[\d.]+$/.test(span);
    if (ok) checked++;
    else t.fail(`${JSON.stringify(text)} [${s}, ${e}): a reader differs from its regex`);
  }
  t.equal(checked, 20000, 'random spans: the same end of a token run and of \\s, never past e, and the same answer for digits and dots');
  t.end();
});
