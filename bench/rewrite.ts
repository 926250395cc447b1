// bench/rewrite: messages per second of the offline rewrite engine (no sockets).
//   npm run build && node dist/bench/rewrite.js [seconds-per-case]
// With --messages N CASE: exactly N messages of that case after its warm-up, and no clock, so
// that bench/instructions can count the instructions each message costs.
//   node dist/bench/rewrite.js --messages 20000 'INVITE with SDP'
import { getHeapSpaceStatistics } from 'node:v8';
import { parseConfig, validate } from '../src/config/config.js';
import { signed } from '../src/core/branch.js';
import { Engine } from '../src/core/engine.js';
import { Hasher, macer, TEST_SECRET } from '../src/core/mac.js';
import { callIdOf, cseqOf } from '../src/sip/fields.js';
import { parseMessage } from '../src/sip/message.js';
import { StreamFramer } from '../src/sip/stream.js';
import { leadingVias, viaDestination } from '../src/sip/via.js';
import { buildEngine } from '../src/daemon/compose.js';
import { parseHostPort } from '../src/net/addr.js';

const cfg = validate(parseConfig(`generic4 192.0.2.1
generic6 2001:db8::1
media4 192.0.2.2
media6 2001:db8::2
map 192.0.2.10 2001:db8:64::10
map 2001:db8:1::5 192.0.2.105
map 2001:db8:1::20 192.0.2.120
rtp-ports 20000-59999
`, 'bench'));

const crlf = (s: string) => s.replace(/\n/g, '\r\n');
const sdp = crlf(`v=0
o=alice 2890844526 2890844526 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
`);
const invite = (callId: string) => crlf(`INVITE sip:carol@192.0.2.120 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${callId};rport
Max-Forwards: 70
From: "Alice" <sip:alice@192.0.2.105>;tag=a1
To: <sip:carol@192.0.2.120>
Call-ID: ${callId}@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:alice@192.0.2.10:5060>
User-Agent: PhoneA/2.1
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE
Supported: replaces, timer
Content-Type: application/sdp
Content-Length: ${sdp.length}

`) + sdp;
const ok200 = crlf(`SIP/2.0 200 OK
Via: SIP/2.0/UDP [2001:db8:64::10]:5060;branch=z9hG4bK64abc;rport=5060
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.10
Record-Route: <sip:[2001:db8:64::10]:5060;lr>
Record-Route: <sip:192.0.2.120:5060;lr>
From: "Alice" <sip:alice@[2001:db8:1::5]>;tag=a1
To: <sip:carol@[2001:db8:1::20]>;tag=c1
Call-ID: bench-ok@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:carol@[2001:db8:1::20]:5060>
Server: PhoneC/7
Content-Type: application/sdp
Content-Length: ${sdp.length}

`) + sdp.replace(/IN IP4 192.0.2.10/g, 'IN IP6 2001:db8:1::20');
const register = crlf(`REGISTER sip:192.0.2.105 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKr1;rport
Max-Forwards: 70
To: <sip:alice@192.0.2.105>
From: <sip:alice@192.0.2.105>;tag=r1
Call-ID: reg1@192.0.2.10
CSeq: 1 REGISTER
Contact: <sip:alice@192.0.2.10:5060>;expires=3600
User-Agent: PhoneA/2.1
Content-Length: 0

`);

const alice = parseHostPort('192.0.2.10:5060')!;
const carol = parseHostPort('[2001:db8:1::20]:5060')!;
const L4 = parseHostPort('192.0.2.120:5060')!;
const L4reg = parseHostPort('192.0.2.105:5060')!;
const L6 = parseHostPort('[2001:db8:64::10]:5060')!;

// The same parties, alice mapped by a prefix line (192.0.2.10 is host 2 of 192.0.2.8/29).
const prefixCfg = validate(parseConfig(`generic4 192.0.2.1
generic6 2001:db8::1
media4 192.0.2.2
media6 2001:db8::2
map 192.0.2.8/29 2001:db8:64::8/125
map 2001:db8:1::5 192.0.2.105
map 2001:db8:1::20 192.0.2.120
rtp-ports 20000-59999
`, 'bench'));

// The same parties, alice with no map line: she appears in IPv6 inside a nat64 prefix. She
// is then no configured party, so flood-limit and rtp-quota would refuse most of the run:
// lifted here, so that the same work is measured.
const nat64Cfg = validate(parseConfig(`flood-limit 1000000
rtp-quota 65536
generic4 192.0.2.1
generic6 2001:db8::1
media4 192.0.2.2
media6 2001:db8::2
nat64 2001:db8:6464::/96
map 2001:db8:1::5 192.0.2.105
map 2001:db8:1::20 192.0.2.120
rtp-ports 20000-59999
`, 'bench'));

// Masquerading: a LAN behind one public address (inbound/outbound).
const natCfg = validate(parseConfig('inbound 192.0.2.1/24\noutbound 198.51.100.1\nrtp-ports 20000-59999\n', 'bench'));
const L4lan = parseHostPort('192.0.2.1:5060')!;

// The MACs as the daemon computes them: the addon's SHA-256 when it loads (src/native/mac.c),
// crypto.hash with MAC=js. Imported when there: bench/instructions runs this driver on an older
// tree (BASE) that may have no such module.
const hasher: Hasher | undefined = process.env.MAC === 'js'
  ? undefined
  : await import('../src/daemon/mac-native.js').then((m: { nativeHasher(): { hasher: Hasher | null } }) => m.nativeHasher().hasher ?? undefined, () => undefined);

const fixed = process.argv[2] === '--messages' ? { n: Number(process.argv[3]), only: process.argv[4] ?? '', ran: false } : null;
/** Messages handled before a fixed count (--messages): bench/instructions sets WARMUP and says why; a timed run amortises V8's compiling over its seconds. */
const WARMUP = fixed && process.env.WARMUP ? Number(process.env.WARMUP) : 2000;

function bench(name: string, seconds: number, run: (e: Engine, i: number) => void, c = cfg): number {
  if (fixed && name !== fixed.only) return 0;
  const { engine: e } = buildEngine(c, { product: 'sipproxy64/bench', hasher });
  for (let i = 0; i < WARMUP; i++) run(e, i); // warm up
  if (fixed) {
    fixed.ran = true;
    for (let i = 0; i < fixed.n; i++) run(e, i);
    if ((e.counters.get('sent') ?? 0) === 0) throw new Error(`${name}: nothing sent`);
    return 0;
  }
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 500; k++) run(e, n++);
    now = process.hrtime.bigint();
  }
  const rate = n / (Number(now - t0) / 1e9);
  const bytes = allocated(e, run, n);
  if ((e.counters.get('sent') ?? 0) === 0 || e.counters.get('internal-error')) throw new Error(`${name}: nothing sent`);
  const refused = [...e.counters].filter(([k]) => k.startsWith('refuse:') || k.startsWith('drop:'));
  if (refused.length) throw new Error(`${name}: not the same work: ${refused.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`${name.padEnd(22)} ${Math.round(rate).toString().padStart(8)} msg/s  (${(1e6 / rate).toFixed(2)} us/msg)  ${(bytes / 1024).toFixed(1).padStart(5)} KB/msg allocated`);
  return rate;
}

/**
 * Bytes of V8 heap a message allocates: the heap's growth over batches of 100 messages, the
 * mean of 21 (2,100 messages: the cases' periodic work, such as releasing 1,000 calls, falls
 * in them). A batch a collection fell in shows the heap smaller after it (a scavenge frees
 * megabytes): those are left out. Unlike msg/s this does not move with the VM's speed: it
 * counts the objects a message makes, which the profile names as what is left to cut.
 */
function allocated(e: Engine, run: (e: Engine, i: number) => void, from: number): number {
  const used = (): number => getHeapSpaceStatistics().reduce((sum, sp) => sum + sp.space_used_size, 0);
  const per: number[] = [];
  for (let b = 0, i = from; b < 21; b++) {
    const before = used();
    for (let k = 0; k < 100; k++) run(e, i++);
    per.push((used() - before) / 100);
  }
  const clean = per.filter((x) => x > 0);
  return clean.reduce((sum, x) => sum + x, 0) / clean.length;
}

const secs = fixed ? 0 : Number(process.argv[2] ?? 3);
const buf = (s: string) => Buffer.from(s, 'latin1');
const invites = Array.from({ length: 1000 }, (_, i) => buf(invite(`bench${i}`)));
/** The response's top Via signed as the proxy signs the request's (else it is dropped as forged). */
function signResponse(text: string): string {
  const m = parseMessage(text);
  const [, next] = leadingVias(m, 2);
  const branch = signed(macer(TEST_SECRET), next, callIdOf(m)!, cseqOf(m)!.num, viaDestination(next)!);
  return text.replace('z9hG4bK64abc', branch);
}
const ok = buf(signResponse(ok200));
const reg = buf(register);
if (!fixed) console.log(`sipproxy64 rewrite engine, node ${process.version}, ${secs}s per case, MACs by ${hasher ? "the addon (MAC=js: crypto.hash)" : "crypto.hash"}`);
const inviteRun = (e: Engine, i: number): void => {
  e.handle(invites[i % 1000], alice, L4);
  if (i % 1000 === 999) for (let k = 0; k < 1000; k++) e.media.release(`bench${k}@192.0.2.10`, 'bench');
};
const plain = bench('INVITE with SDP', secs, inviteRun);
bench('200 OK with SDP', secs, (e) => e.handle(ok, carol, L6));
bench('REGISTER', secs, (e) => e.handle(reg, alice, L4reg));
// The same INVITE from a LAN phone out through the public address (token, relay on two IPv4 sides).
const natInvites = Array.from({ length: 1000 }, (_, i) => buf(invite(`nat${i}`).replace('sip:carol@192.0.2.120', 'sip:carol@203.0.113.20')));
bench('INVITE masquerading', secs, (e, i) => {
  e.handle(natInvites[i % 1000], alice, L4lan);
  if (i % 1000 === 999) for (let k = 0; k < 1000; k++) e.media.release(`nat${k}@192.0.2.10 192.0.2.10`, 'bench');
}, natCfg);
const prefixed = bench('INVITE prefix map', secs, inviteRun, prefixCfg);
const nat64 = bench('INVITE nat64', secs, inviteRun, nat64Cfg);
// The plain case again: the first case of a run also pays for the JIT's warm-up.
const plainAgain = Math.max(plain, bench('INVITE with SDP again', secs, inviteRun));
if (fixed && !fixed.ran) throw new Error(`no case named "${fixed.only}"`);
if (!fixed) {
  // TCP framing when the peer cuts its stream into one-byte reads (SPEC 11): a message of
  // 60,000 bytes, read by read; the time per byte stays flat when the framing is linear.
  for (const size of [15000, 30000, 60000]) {
    const one = buf(`MESSAGE sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK1\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`);
    const f = new StreamFramer();
    const t0 = process.hrtime.bigint();
    let got = 0;
    for (let i = 0; i < one.length; i++) got += f.push(one.subarray(i, i + 1)).messages.length;
    const ns = Number(process.hrtime.bigint() - t0);
    if (got !== 1) throw new Error('framing: no message');
    console.log(`TCP message of ${String(one.length).padStart(5)} bytes, a byte a read: ${(ns / 1e6).toFixed(1)} ms (${(ns / one.length).toFixed(0)} ns/byte)`);
  }
  // A stranger's run of '<' in a To header (SPEC 11): the time per byte of the run stays flat
  // when reading the tag is linear (two regexes made it quadratic: 140 ms at 8,000).
  const { engine: e } = buildEngine(cfg, { product: 'sipproxy64/bench', hasher });
  /** The best of five turns, in ns, of handling the message `turn(k)` gives for turn k. */
  const bestOf = (turn: (k: number) => string): number => {
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const one = turn(k);
      const t0 = process.hrtime.bigint();
      e.handle(one, alice, L4);
      best = Math.min(best, Number(process.hrtime.bigint() - t0));
    }
    return best;
  };
  for (const size of [2000, 4000, 8000]) {
    const one = invite('runs').replace('<sip:carol@192.0.2.120>', `<sip:carol@192.0.2.120>;tag=c1${'<'.repeat(size)}`);
    const best = bestOf(() => one);
    console.log(`To with a run of ${String(size).padStart(4)} '<': ${(best / 1e6).toFixed(2)} ms a message (${(best / size).toFixed(0)} ns a '<')`);
  }
  // A stranger's SDP of blank lines ended by a bare LF, which hold no CR or ':' (SPEC 11): the
  // time per byte stays flat when each is searched for once (a search a line made it
  // quadratic: 19 ms at 60,000 bytes, against 1.3 ms).
  for (const size of [15000, 30000, 60000]) {
    const body = sdp.replace(/\r/g, '') + '\n'.repeat(size);
    const one = invite('lf').replace(`Content-Length: ${sdp.length}\r\n\r\n${sdp}`, `Content-Length: ${body.length}\r\n\r\n${body}`);
    const best = bestOf((k) => one.replace('lf@', `lf${size}-${k}@`)); // a Call-ID each: a new call
    console.log(`SDP of ${String(size).padStart(5)} bare-LF lines: ${(best / 1e6).toFixed(2)} ms a message (${(best / size).toFixed(0)} ns a line)`);
  }
  // A multipart body whose part head holds a run of SP and a folded line (SPEC 11): the
  // time per SP stays flat when unfolding is one pass (a regex made it quadratic: 100 ms
  // for 16,000 SP, found by bench/runs once its runs reached the body).
  for (const size of [15000, 30000, 60000]) {
    const body = `--b1\r\nX-A: a${' '.repeat(size)}b\r\n c\r\nContent-Type: application/sdp\r\n\r\n${sdp}\r\n--b1--\r\n`;
    const one = invite('mp').replace(`Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`, `Content-Type: multipart/mixed;boundary=b1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const best = bestOf((k) => one.replace('mp@', `mp${size}-${k}@`)); // a Call-ID each: a new call
    console.log(`multipart part head with ${String(size).padStart(5)} SP: ${(best / 1e6).toFixed(2)} ms a message (${(best / size).toFixed(0)} ns an SP)`);
  }
  console.log(`prefix-mapped INVITE / plain map line INVITE: ${(prefixed / plainAgain).toFixed(2)}`);
  console.log(`nat64 INVITE / plain map line INVITE: ${(nat64 / plainAgain).toFixed(2)}`);
}
