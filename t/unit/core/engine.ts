import t from 'tap';
import { R } from '../../../src/sip/reasons.js';
import { parseConfig, validate } from '../../../src/config/config.js';
import { Engine } from '../../../src/core/engine.js';
import { Throttle } from '../../../src/core/throttle.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { parseMessage } from '../../../src/sip/message.js';
import { lcg } from '../../lib/rand.js';

const cfg = () => validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 192.0.2.10 2001:db8:64::10\nmap 2001:db8:1::20 192.0.2.120\nmap voip.example.net 192.0.2.130\n', 'c'));
const alice = parseHostPort('192.0.2.10:5060')!;
const carolFace = parseHostPort('192.0.2.120:5060')!;
const req = (method: string, branch: string, extra = '') =>
  `${method} sip:carol@192.0.2.120 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@192.0.2.10>;tag=a\r\nTo: <sip:carol@192.0.2.120>\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`;
const branchOf = (data: string) => /branch=(z9hG4bK64[0-9a-f]+)/.exec(data)?.[1];

t.test('stateless branch: retransmission and CANCEL get the INVITE branch (RFC 3261 16.11)', async (t) => {
  const e = new Engine(cfg());
  const inv = e.handle(req('INVITE', 'z9hG4bKx1'), alice, carolFace)[0];
  const again = e.handle(req('INVITE', 'z9hG4bKx1'), alice, carolFace)[0];
  const cancel = e.handle(req('CANCEL', 'z9hG4bKx1'), alice, carolFace)[0];
  const other = e.handle(req('INVITE', 'z9hG4bKx2'), alice, carolFace)[0];
  t.ok(inv.type === 'send' && again.type === 'send' && cancel.type === 'send' && other.type === 'send');
  if (inv.type !== 'send' || again.type !== 'send' || cancel.type !== 'send' || other.type !== 'send') return;
  t.equal(branchOf(again.data), branchOf(inv.data));
  t.equal(branchOf(cancel.data), branchOf(inv.data));
  t.not(branchOf(other.data), branchOf(inv.data));
});

t.test('uplinks by name: resolved addresses route, names in messages stay', async (t) => {
  const e = new Engine(cfg());
  const face = parseHostPort('192.0.2.130:5060')!;
  const r1 = e.handle(req('OPTIONS', 'z9hG4bKu1').replace('sip:carol@192.0.2.120 ', 'sip:voip.example.net '), alice, face)[0];
  t.same(r1.type === 'send' ? r1.data.slice(0, 12) : r1, 'SIP/2.0 503 ', 'unresolved uplink: answered 503');
  const up = e.map.uplinks()[0];
  e.map.setResolved(up.entry, [{ addr: '2001:db8:2::7', family: 6 }]);
  const r2 = e.handle(req('OPTIONS', 'z9hG4bKu2').replace('sip:carol@192.0.2.120 ', 'sip:voip.example.net '), alice, face)[0];
  t.equal(r2.type, 'send');
  if (r2.type !== 'send') return;
  t.same(r2.to, { addr: '2001:db8:2::7', family: 6, port: 5060 });
  t.ok(r2.data.startsWith('OPTIONS sip:voip.example.net SIP/2.0'), 'the name is not rewritten');
  // RFC 5922 7.3: a TLS server at that address must prove the name (daemon/tls-identity.ts).
  t.same(e.map.namesAt('2001:db8:2::7'), ['voip.example.net'], 'the address names the uplink it was resolved for');
  t.same(e.map.namesAt('2001:db8:2::8'), [], 'another names none');
  e.map.setResolved(up.entry, [{ addr: '2001:db8:2::8', family: 6 }]);
  t.same(e.map.namesAt('2001:db8:2::7'), [], 'a name resolved again leaves its old address');
  t.same(e.map.namesAt('2001:db8:2::8'), ['voip.example.net']);
});

t.test('not for us: a datagram on an address that is not ours is dropped', async (t) => {
  const e = new Engine(cfg());
  t.same(e.handle(req('OPTIONS', 'z9hG4bKn'), alice, parseHostPort('192.0.2.77:5060')!), [{ type: 'drop', reason: R.notOurAddress }]);
  t.same(e.handle(req('OPTIONS', 'z9hG4bKn'), alice, parseHostPort('192.0.2.120:5061')!), [{ type: 'drop', reason: R.notOurAddress }]);
});

t.test('mutated messages never throw and always give a SIP answer or a counted drop', async (t) => {
  const e = new Engine(cfg());
  const base = req('INVITE', 'z9hG4bKm', 'Contact: <sip:alice@192.0.2.10>\r\nRoute: <sip:192.0.2.120;lr>\r\n');
  const rnd = lcg(42);
  const alphabet = ':;<>[]"\\,@= \r\n\t\x00\xff0123456789abcdef.%';
  let sent = 0;
  let dropped = 0;
  for (let i = 0; i < 3000; i++) {
    const b = base.split('');
    const edits = 1 + rnd(6);
    for (let k = 0; k < edits; k++) {
      const at = rnd(b.length);
      const op = rnd(3);
      if (op === 0) b.splice(at, 1);
      else if (op === 1) b.splice(at, 0, alphabet[rnd(alphabet.length)]);
      else b[at] = alphabet[rnd(alphabet.length)];
    }
    const out = e.handle(b.join(''), alice, carolFace);
    for (const a of out) a.type === 'send' ? sent++ : dropped++;
  }
  t.equal(e.counters.get('internal-error') ?? 0, 0, 'no rule hit an internal error');
  t.equal(sent + dropped, 3000, 'one outcome each');
  t.ok(sent > 0 && dropped > 0, `${sent} sent, ${dropped} dropped`);
});

t.test('Throttle: a stranger over its budget is banned; error answers to strangers share one budget', async (t) => {
  let now = 0;
  const th = new Throttle(() => now, 10, 60_000, 5);
  let admitted = 0;
  for (let i = 0; i < 100; i++) if (th.admit('198.51.100.7')) admitted++;
  t.equal(admitted, 20, 'two seconds of budget at once, then nothing');
  now += 30_000;
  t.notOk(th.admit('198.51.100.7'), 'banned for the ban period even after the bucket refilled');
  now += 31_000;
  t.ok(th.admit('198.51.100.7'), 'after it, admitted again');
  t.ok(th.admit('198.51.100.8'), 'another source has its own budget');
  let answers = 0;
  for (let i = 0; i < 50; i++) if (th.answer()) answers++;
  t.equal(answers, 5, 'five error answers a second in all');
  now += 1000;
  t.ok(th.answer(), 'refilled a second later');
});

t.test('a stranger flooding the generic address is dropped; configured parties are never throttled', async (t) => {
  const e = new Engine(validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 192.0.2.10 2001:db8:64::10\nmap 2001:db8:1::20 192.0.2.120\nflood-limit 5\nflood-ban 60\nanswer-limit 3\n', 'f')), { now: () => 0 });
  const stranger = parseHostPort('192.0.2.66:5060')!;
  const generic = parseHostPort('192.0.2.1:5060')!;
  const scan = (i: number) => `OPTIONS sip:nobody@192.0.2.99 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKs${i}\r\nFrom: <sip:s@192.0.2.66>;tag=${i}\r\nTo: <sip:nobody@192.0.2.99>\r\nCall-ID: s${i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  const kinds = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const a = e.handle(scan(i), stranger, generic)[0];
    const k = a.type === 'drop' ? a.reason.code : a.type;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  t.same(Object.fromEntries(kinds), { send: 3, 'answer-limited': 7, flooding: 90 }, '3 answers (403), 7 silent refusals, then dropped unparsed');
  let sent = 0;
  for (let i = 0; i < 100; i++) if (e.handle(req('OPTIONS', `z9hG4bKa${i}`), alice, carolFace)[0].type === 'send') sent++;
  t.equal(sent, 100, 'alice, a mapped party, is never throttled');
});

t.test('a stranger\'s budget is spent by size: a token for each 1,500 bytes a message started', async (t) => {
  const e = new Engine(validate(parseConfig('generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 2001:db8:1::20 192.0.2.120\nflood-limit 10\nanswer-limit 1000\n', 'f')), { now: () => 0 });
  const stranger = parseHostPort('192.0.2.66:5060')!;
  const carol = parseHostPort('192.0.2.120:5060')!;
  const big = (i: number) => `OPTIONS sip:carol@192.0.2.120 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKb${i}\r\nFrom: <sip:s@192.0.2.66>;tag=${i}\r\nTo: <sip:carol@192.0.2.120>\r\nCall-ID: b${i}\r\nCSeq: 1 OPTIONS\r\nX-Pad: ${'x'.repeat(5700)}\r\nContent-Length: 0\r\n\r\n`;
  t.ok(big(0).length > 4500 && big(0).length <= 6000, 'four pieces of 1,500 bytes');
  const got: string[] = [];
  for (let i = 0; i < 8; i++) {
    const a = e.handle(big(i), stranger, carol)[0];
    got.push(a.type === 'drop' ? a.reason.code : a.type);
  }
  // A bucket of 20 (two seconds of 10): five messages of four pieces; before, eight of eight.
  t.same(got, ['send', 'send', 'send', 'send', 'send', 'flooding', 'flooding', 'flooding'], '20 tokens: five 6 KB messages');
  t.equal(e.admitConnection(parseHostPort('192.0.2.67:5060')!), true, 'another source connects: one token of its own');
  t.equal(e.admitConnection(stranger), false, 'the banned one may not connect either');
  t.equal(e.counters.get('drop:flooding'), 4, 'each counted');
});

t.test('no connection to the next hop: UDP when only the size chose TCP, else 503 within the answer budget', async (t) => {
  const conf = (extra: string) => validate(parseConfig(`generic4 192.0.2.1\ngeneric6 2001:db8::1\ntcp yes\nanswer-limit 2\nmap 192.0.2.10 2001:db8:64::10\n${extra}`, 'c'));
  const send = (a: ReturnType<Engine['handle']>[0]) => (a.type === 'send' ? a : null);
  // Over 1300 bytes as it goes out: TCP, with its UDP form kept.
  const big = new Engine(conf('map 2001:db8:1::20 192.0.2.120\n'));
  const s1 = send(big.handle(req('MESSAGE', 'z9hG4bKb1', `X-Pad: ${'x'.repeat(1300)}\r\n`), alice, carolFace)[0]);
  t.equal(s1?.transport, 'tcp');
  const back = s1?.unreachable?.() ?? [];
  t.equal(send(back[0])?.transport, 'udp', 'the UDP form');
  t.match(send(back[0])?.data ?? '', /^MESSAGE sip:carol@\[2001:db8:1::20\] SIP\/2.0\r\nVia: SIP\/2.0\/UDP /);
  t.equal(big.counters.get('tcp-fallback-udp'), 1);
  t.notOk(send(big.handle(req('MESSAGE', 'z9hG4bKb2'), alice, carolFace)[0])?.unreachable, 'nothing to fall back from on UDP');
  // The map line says TCP: a 503 with Retry-After, to a party every time.
  const forced = new Engine(conf('map 2001:db8:1::20 192.0.2.120 tcp\n'), { now: () => 0 }); // time stands: the budget does not refill
  for (let i = 0; i < 4; i++) {
    const s = send(forced.handle(req('MESSAGE', `z9hG4bKf${i}`), alice, carolFace)[0]);
    t.match(send((s?.unreachable?.() ?? [])[0])?.data ?? '', /^SIP\/2.0 503 Service Unavailable \(next hop unreachable\)\r\n[^]*Retry-After: 2\r\n/);
  }
  t.equal(forced.counters.get('refuse:503 next-hop-unreachable'), 4);
  // To a stranger, within answer-limit (2 a second here): no reflector of errors.
  const stranger = parseHostPort('192.0.2.77:5060')!;
  const outs = Array.from({ length: 4 }, (_, i) => {
    const s = send(forced.handle(req('MESSAGE', `z9hG4bKs${i}`).replace(/192\.0\.2\.10:5060/, '192.0.2.77:5060'), stranger, carolFace)[0]);
    return (s?.unreachable?.() ?? [])[0];
  });
  t.same(outs.map((a) => a?.type), ['send', 'send', 'drop', 'drop'], 'two 503s, then counted drops');
  t.equal(forced.counters.get('drop:answer-limited'), 2);
  const ack = send(forced.handle(req('ACK', 'z9hG4bKa1'), alice, carolFace)[0]);
  t.same((ack?.unreachable?.() ?? []).map((a) => a.type), ['drop'], 'an ACK gets no answer');
});

t.test('a send to a port outside 1-65535 never leaves: a rule that made one is an internal error (SPEC 11)', async (t) => {
  const bugs: unknown[] = [];
  const e = new Engine(cfg(), { onInternalError: (err) => bugs.push(err) });
  const ok = e.handle(req('OPTIONS', 'z9hG4bKp1'), alice, carolFace)[0];
  t.equal(ok.type === 'send' && ok.to.port, 5060, 'as routed');
  // A routing rule with a bug: the target's port is one no datagram can go to.
  const real = e.map.targetOfIp.bind(e.map);
  e.map.targetOfIp = (a, port) => {
    const r = real(a, port);
    return r && { ...r, port: 70000 };
  };
  const out = e.handle(req('OPTIONS', 'z9hG4bKp2'), alice, carolFace);
  t.same(out.map((a) => a.type), ['drop']);
  t.equal(e.counters.get('internal-error'), 1, 'counted');
  t.equal(bugs.length, 1, 'and reported');
});

t.test('a request that our Via and Record-Routes would take past 256 headers is refused, not forwarded to a 400', async (t) => {
  const e = new Engine(cfg());
  const sizes = [240, 246, 247, 248]; // + 8 headers of req(); ours add a Via and a Record-Route
  const out = sizes.map((n, i) => e.handle(req('INVITE', `z9hG4bKh${i}`, 'X-Many: 1\r\n'.repeat(n)), alice, carolFace)[0]);
  for (const [i, a] of out.entries()) {
    const headers = 8 + sizes[i];
    if (a.type !== 'send') {
      t.fail(`${headers} headers: ${a.type}`);
      continue;
    }
    if (a.to.addr === alice.addr) t.match(a.data, /^SIP\/2\.0 400 /, `${headers} headers, past 256 with ours: 400`);
    else {
      const lines = a.data.slice(0, a.data.indexOf('\r\n\r\n')).split('\r\n').length - 1;
      t.ok(lines <= 256, `${headers} headers in, ${lines} out`);
      t.doesNotThrow(() => parseMessage(a.data), 'a message the next sipproxy64 reads');
    }
  }
  t.same(out.map((a) => a.type === 'send' && a.to.addr === alice.addr), [false, false, true, true], 'up to 254 headers in (256 out) forwarded, past that refused');
  t.equal(e.counters.get(`refuse:400 ${R.tooManyHeaders.code}`), 2, 'counted');
});

t.test('a response with two Content-Lengths is dropped: a next hop that read the other would cut its TCP stream elsewhere', async (t) => {
  const e = new Engine(cfg());
  const inv = e.handle(req('INVITE', 'z9hG4bKcl'), alice, carolFace)[0];
  if (inv.type !== 'send') return t.fail('the INVITE went on');
  const vias = inv.data.match(/^Via: .*$/gm)!.join('\r\n');
  const ok = (lengths: string) => `SIP/2.0 200 OK\r\n${vias}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=a\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=c\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n${lengths}\r\n`;
  const carol = parseHostPort('[2001:db8:1::20]:5060')!;
  const l6 = parseHostPort('[2001:db8:64::10]:5060')!;
  const one = e.handle(ok('Content-Length: 0\r\n'), carol, l6)[0];
  t.ok(one.type === 'send' && one.to.addr === alice.addr, 'one Content-Length: forwarded to alice');
  t.same(e.handle(ok('Content-Length: 0\r\nl: 40\r\n'), carol, l6), [{ type: 'drop', reason: R.duplicateContentLength }], 'two: a counted drop');
  t.match(e.handle(req('OPTIONS', 'z9hG4bKcl2', 'l: 0\r\n'), alice, carolFace)[0], { type: 'send', to: alice, data: /^SIP\/2\.0 400 Bad Request \(more than one Content-Length\)/ }, 'a request: 400 as before');
});

t.test('a single-value header written twice is refused with its own reason, compact forms too (RFC 3261 7.3.1)', async (t) => {
  const e = new Engine(cfg());
  const twice: Array<[string, keyof typeof R]> = [
    ['Call-ID: c2\r\n', 'duplicateCallId'], ['i: c2\r\n', 'duplicateCallId'], ['CSeq: 2 OPTIONS\r\n', 'duplicateCseq'],
    ['Max-Forwards: 69\r\n', 'duplicateMaxForwards'], ['f: <sip:bob@192.0.2.10>;tag=b\r\n', 'badFrom'], ['To: <sip:dave@192.0.2.120>\r\n', 'badTo'],
  ];
  for (const [extra, why] of twice) {
    const out = e.handle(req('OPTIONS', `z9hG4bKtw${why}`, extra), alice, carolFace)[0];
    t.match(out, { type: 'send', to: alice, data: new RegExp(`^SIP/2\\.0 400 ${(R[why].phrase ?? '').replace(/[()]/g, '\\$&')}\\r\\n`) }, `${extra.trim()}: 400 ${R[why].phrase}`);
  }
  // Headers that may repeat, among them hot ones the parser also marks: forwarded.
  const many = e.handle(req('OPTIONS', 'z9hG4bKtwok', 'Via: SIP/2.0/UDP 192.0.2.11;branch=z9hG4bKtw2\r\nContact: <sip:a@192.0.2.10>\r\nContact: <sip:b@192.0.2.10>\r\n'), alice, carolFace)[0];
  t.ok(many.type === 'send' && many.to.addr !== alice.addr, 'two Via and two Contact headers: forwarded');
});
