// keepalive SECONDS (issue 17): OPTIONS to the phones registered from the public side, any
// answer keeps them, MAX_MISSES unanswered rounds drop the binding; a forged answer does not
// count. Through the engine, as the daemon's timer and sockets would drive it.
import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, validate } from '../../../src/config/config.js';
import { buildEngine } from '../../../src/daemon/compose.js';
import { MAX_MISSES } from '../../../src/masq/keepalive.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { tempDir } from '../../lib/tmp.js';

const dir = tempDir(t, 'ka-');
writeFileSync(join(dir, 'passwd'), 'alice alice-pw\nbob bob-pw\n');
const cfg = validate(parseConfig(`inbound 192.0.2.1/24\noutbound 198.51.100.1\noutbound 2001:db8:1::1\nregistrar yes\ndomain example.net\npasswd ${join(dir, 'passwd')}\nkeepalive 30\n`, 'f'));
const hp = (s: string) => parseHostPort(s)!;

/** The answer a phone gives an OPTIONS: its Via, From, To, Call-ID and CSeq, status 200. */
const answer = (req: string, branch?: string): string => {
  const h = (n: string) => (new RegExp(`^${n}: .*$`, 'm').exec(req) as RegExpExecArray)[0];
  const via = branch ? h('Via').replace(/branch=[^;]+/, `branch=${branch}`) : h('Via');
  return `SIP/2.0 200 OK\r\n${via}\r\n${h('From')}\r\n${h('To')};tag=p1\r\n${h('Call-ID')}\r\n${h('CSeq')}\r\nContent-Length: 0\r\n\r\n`;
};

t.test('keep-alives to the public side, kept by answers, dropped after misses', async (t) => {
  const { engine, masq } = buildEngine(cfg);
  const ka = masq?.keepalive;
  if (!ka || !masq) return t.fail('no keepalive');
  const dropped: string[] = [];
  ka.onDrop = (aor, contact) => dropped.push(`${aor} ${contact}`);
  const b = masq.registrar.bindings;
  b.register('alice@example.net', 'c1', 1, '203.0.113.30:5062/udp', [{ uri: 'sip:alice@10.0.0.5:5060', expires: 600 }]);
  b.register('bob@example.net', 'c2', 1, '[2001:db8:9::5]:5060/udp', [{ uri: 'sip:bob@[2001:db8:9::5]', expires: 600 }]);
  b.register('carol@example.net', 'c3', 1, '192.0.2.10:5060/udp', [{ uri: 'sip:carol@192.0.2.10', expires: 600 }]); // the LAN
  b.register('dave@example.net', 'c4', 1, '203.0.113.31:5060/tcp', [{ uri: 'sip:dave@203.0.113.31;transport=tcp', expires: 600 }]);

  const all1 = ka.tick();
  const udp = (r: typeof all1) => r.filter((a) => a.type === 'send' && a.transport === 'udp');
  const round1 = udp(all1);
  t.same(round1.map((a) => a.type === 'send' && [`${a.from.addr}:${a.from.port}`, `${a.to.addr}:${a.to.port}`, a.data.split('\r\n')[0]]), [
    ['198.51.100.1:5060', '203.0.113.30:5062', 'OPTIONS sip:alice@10.0.0.5:5060 SIP/2.0'],
    ['2001:db8:1::1:5060', '2001:db8:9::5:5060', 'OPTIONS sip:bob@[2001:db8:9::5] SIP/2.0'],
  ], 'an OPTIONS to each UDP binding from the public side, to where it registered from, from our address of its family; none to the LAN');
  const [toAlice, toBob] = round1.map((a) => (a.type === 'send' ? a.data : ''));
  t.match(toAlice, /^Via: SIP\/2\.0\/UDP 198\.51\.100\.1:5060;branch=z9hG4bK64ka[0-9a-f]{12};rport\r$/m);
  t.match(toBob, /^Via: SIP\/2\.0\/UDP \[2001:db8:1::1\]:5060;branch=z9hG4bK64ka/m, 'bob\'s from our IPv6 address');

  // A forged answer (a branch we did not send) is no answer.
  const forged = engine.handle(answer(toAlice, 'z9hG4bK64kadeadbeef0000'), hp('203.0.113.30:5062'), hp('198.51.100.1:5060'));
  t.same(forged, [{ type: 'drop', reason: forged[0].type === 'drop' ? forged[0].reason : null }]);
  t.equal(forged[0].type === 'drop' && forged[0].reason.code, 'no-next-via', 'a forged answer is dropped as any stray response');
  // Alice answers every round; bob never does.
  const taken = engine.handle(answer(toAlice), hp('203.0.113.30:5062'), hp('198.51.100.1:5060'));
  t.equal(taken[0].type === 'drop' && taken[0].reason.code, 'keepalive-answered', 'her answer is taken (a counted drop)');
  for (let i = 1; i < MAX_MISSES; i++) {
    const round = udp(ka.tick());
    t.equal(round.length, 2, `round ${i + 1}: both still asked`);
    engine.handle(answer(round[0].type === 'send' ? round[0].data : ''), hp('203.0.113.30:5062'), hp('198.51.100.1:5060'));
  }
  t.same(dropped, []);
  const last = udp(ka.tick());
  t.same(dropped, ['bob@example.net sip:bob@[2001:db8:9::5]'], `after ${MAX_MISSES} unanswered rounds bob's binding is dropped`);
  t.equal(last.length, 1, 'and no longer asked');
  t.same(b.lookup('bob@example.net'), []);
  t.equal(b.lookup('alice@example.net').length, 1, 'alice, who answers, stays');
  t.ok(masq.registrar.dirty, 'the table is saved again');
  t.ok((engine.counters.get('drop:keepalive-answered') ?? 0) >= 1, 'answers counted');
});

t.test('a phone on TCP or TLS: CRLFCRLF on its own connection; no connection three rounds running drops it', async (t) => {
  const { masq } = buildEngine(cfg);
  const ka = masq!.keepalive!;
  const dropped: string[] = [];
  ka.onDrop = (aor) => dropped.push(aor);
  const b = masq!.registrar.bindings;
  b.register('dave@example.net', 'c4', 1, '203.0.113.31:40001/tcp', [{ uri: 'sip:dave@10.0.0.6;transport=tcp', expires: 600 }]);
  b.register('erin@example.net', 'c5', 1, '[2001:db8:9::6]:40002/tls', [{ uri: 'sips:erin@[2001:db8:9::6]', expires: 600 }]);
  const pings = (): Array<Extract<ReturnType<typeof ka.tick>[number], { type: 'send' }>> => ka.tick().filter((a): a is Extract<typeof a, { type: 'send' }> => a.type === 'send');
  const r1 = pings();
  t.same(r1.map((a) => [a.to.addr, a.to.port, a.transport, a.data, a.ping, a.from.addr]), [
    ['203.0.113.31', 40001, 'tcp', '\r\n\r\n', true, '198.51.100.1'],
    ['2001:db8:9::6', 40002, 'tls', '\r\n\r\n', true, '2001:db8:1::1'],
  ], 'a ping to each, on the connection its REGISTER came on (never a new one)');
  // Dave's connection is there every round; erin's is gone: her pings come back unreachable.
  for (let i = 0; i < MAX_MISSES; i++) {
    const r = i === 0 ? r1 : pings();
    t.same(r[r.length - 1].unreachable?.(), [], 'no connection: nothing to send instead');
  }
  t.same(dropped, []);
  t.equal(pings().length, 1, `after ${MAX_MISSES} rounds without her connection erin is dropped; dave, whose connection holds, is pinged`);
  t.same(dropped, ['erin@example.net']);
  t.equal(b.lookup('dave@example.net').length, 1);
});

t.test('a phone registered over TCP behind its own NAT is reached on its connection', async (t) => {
  const tcpCfg = validate(parseConfig(`inbound 192.0.2.1/24\noutbound 198.51.100.1\nregistrar yes\ndomain example.net\npasswd ${join(dir, 'passwd')}\nkeepalive 30\ntcp yes\n`, 'f'));
  const { engine, masq } = buildEngine(tcpCfg);
  const b = masq!.registrar.bindings;
  b.register('dave@example.net', 'c4', 1, '203.0.113.31:40001/tcp', [{ uri: 'sip:dave@10.0.0.6;transport=tcp', expires: 600 }]);
  b.register('fred@example.net', 'c6', 1, '203.0.113.32:40003/tcp', [{ uri: 'sip:fred@10.0.0.7', expires: 600 }]);
  const invite = (user: string) => `INVITE sip:${user}@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${user}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=1\r\nTo: <sip:${user}@example.net>\r\nCall-ID: ${user}@x\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10>\r\nContent-Length: 0\r\n\r\n`;
  const sent = (user: string) => engine.handle(invite(user), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')).find((a) => a.type === 'send');
  const d = sent('dave');
  t.same(d?.type === 'send' && [d.to.addr, d.to.port, d.transport, d.data.split('\r\n')[0]], ['203.0.113.31', 40001, 'tcp', 'INVITE sip:dave@10.0.0.6;transport=tcp SIP/2.0'], 'Contact transport=tcp: to the connection the REGISTER came on');
  const f = sent('fred');
  t.same(f?.type === 'send' && [f.to.addr, f.to.port], ['10.0.0.7', 5060], 'a Contact without transport=tcp is not sent to a TCP source port');
});

t.test('a registration over TCP behind the phone\'s own NAT keeps its connection open while it lasts', async (t) => {
  // RFC 5626 5.3, Kamailio's tcp_persistent_flag: the phone is called on that connection (the
  // test above), so the 2xx must keep it past tcp-idle, although its Contact names 10.0.0.6.
  const tcpCfg = validate(parseConfig(`inbound 192.0.2.1/24\noutbound 198.51.100.1\nregistrar yes\ndomain example.net\npasswd ${join(dir, 'passwd')}\ntcp yes\ndigest-algorithms md5\n`, 'f'));
  const { engine } = buildEngine(tcpCfg);
  const md5 = (x: string) => createHash('md5').update(x).digest('hex');
  const register = (cseq: number, contact: string, auth = '') => `REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.6:5060;branch=z9hG4bKr${cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.net>;tag=r\r\nTo: <sip:bob@example.net>\r\nCall-ID: r@10.0.0.6\r\nCSeq: ${cseq} REGISTER\r\n${auth}Contact: ${contact}\r\nContent-Length: 0\r\n\r\n`;
  const send = (text: string) => engine.handle(text, hp('203.0.113.31:40001'), hp('198.51.100.1:5060'), 'tcp').find((a) => a.type === 'send');
  let cseq = 1;
  /** REGISTER with digest (the 401's nonce): the 2xx's registration. */
  const registered = (contact: string) => {
    const c = send(register(cseq++, contact));
    const nonce = c?.type === 'send' ? /nonce="([^"]+)"/.exec(c.data)?.[1] : undefined;
    if (!nonce) throw new Error('no challenge');
    const nc = `0000000${cseq}`; // a nonce may come again: its count goes on
    const response = md5(`${md5('bob:example.net:bob-pw')}:${nonce}:${nc}:c0ffee:auth:${md5('REGISTER:sip:example.net')}`);
    const ok = send(register(cseq++, contact, `Authorization: Digest username="bob", realm="example.net", nonce="${nonce}", uri="sip:example.net", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="c0ffee"\r\n`));
    return ok?.type === 'send' ? [ok.data.split('\r\n')[0], ok.registration] : ok;
  };
  t.same(registered('<sip:bob@10.0.0.6;transport=tcp>;expires=900'), ['SIP/2.0 200 OK', { aor: 'sip:bob@example.net', lasts: 900 }], 'its binding from this connection keeps it 900 s');
  t.same(registered('<sip:bob@10.0.0.6;transport=tcp>;expires=0'), ['SIP/2.0 200 OK', { aor: 'sip:bob@example.net', lasts: 0 }], 'unregistered: tcp-idle again');
});

t.test('keepalive needs the registrar', async (t) => {
  t.throws(() => validate(parseConfig('inbound 192.0.2.1/24\noutbound 198.51.100.1\nkeepalive 30\n', 'f')), /keepalive serves the registrar/);
  t.throws(() => validate(parseConfig('inbound 192.0.2.1/24\noutbound 198.51.100.1\nkeepalive 0\n', 'f')), /0 is out of range 1-3600/);
});
