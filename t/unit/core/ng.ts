// media-engine rtpengine through the engine (issue 18): which ng command each message asks,
// the engine's SDP spliced in with its Content-Length, a 503 when no engine answers, the
// delete on BYE, a late offer, SDP in multipart refused.
import t from 'tap';
import { Action } from '../../../src/core/types.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { NgCalls, spliceSdp } from '../../../src/core/ng.js';
import { parseMessage } from '../../../src/sip/message.js';
import { engineOf } from '../../lib/engine.js';

const CONF = 'generic4 127.0.0.1\ngeneric6 2001:db8::1\nmap 127.0.0.10 2001:db8:64::10\nmap 2001:db8:1::20 127.0.0.120\nrtp-ports 30000-30099\nmedia-engine rtpengine 127.0.0.1:2223\n';
const hp = (s: string) => parseHostPort(s)!;
const SDP4 = 'v=0\r\no=a 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=candidate:1 1 UDP 1 127.0.0.10 40000 typ host\r\n';
const ENGINE_SDP = 'v=0\r\no=a 1 1 IN IP6 2001:db8::3\r\ns=-\r\nc=IN IP6 2001:db8::3\r\nt=0 0\r\nm=audio 32300 RTP/AVP 0\r\n';
const req = (method: string, body = '', ctype = 'application/sdp', toTag = '') =>
  `${method} sip:carol@127.0.0.120:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bK${method}1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.10>;tag=al\r\nTo: <sip:carol@127.0.0.120>${toTag}\r\nCall-ID: ng1@x\r\nCSeq: 1 ${method}\r\nContact: <sip:alice@127.0.0.10>\r\n${body ? `Content-Type: ${ctype}\r\n` : ''}Content-Length: ${body.length}\r\n\r\n${body}`;
type Media = Extract<Action, { type: 'media' }>;
type Send = Extract<Action, { type: 'send' }>;

t.test('an offer: the engine is asked first, its SDP goes out with its length; no answer: 503', async (t) => {
  const { engine } = engineOf(CONF);
  const out = engine.handle(req('INVITE', SDP4), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
  t.equal(out.length, 1);
  const m = out[0] as Media;
  t.equal(m.type, 'media', 'nothing is sent before the engine answers');
  t.match(m.ng, { command: 'offer', 'call-id': 'ng1@x', 'from-tag': 'al', 'address family': 'IP6', 'received from': ['IP4', '127.0.0.10'], replace: ['origin', 'session-connection'], ICE: 'remove', sdp: SDP4 });
  t.notOk('to-tag' in m.ng, 'no To tag yet');
  const sent = m.then!(ENGINE_SDP)[0] as Send;
  t.equal(sent.type, 'send');
  t.equal(sent.to.addr, '2001:db8:1::20');
  t.ok(sent.data.endsWith(`\r\n\r\n${ENGINE_SDP}`), 'the engine\'s SDP is the body');
  t.match(sent.data, new RegExp(`\\r\\nContent-Length: ${ENGINE_SDP.length}\\r\\n`), 'and Content-Length says its length');
  t.match(sent.data, /^INVITE sip:carol@\[2001:db8:1::20\]:5060 SIP\/2\.0\r\n/, 'the headers are ours as always');
  const refused = m.then!(null)[0] as Send;
  t.match(refused.data, /^SIP\/2\.0 503 Service Unavailable \(media engine\)\r\n/, 'no engine answered: 503 to the caller');
  t.equal(refused.to.addr, '127.0.0.10');
  t.ok((engine.counters.get('refuse:503 media-engine-down') ?? 0) === 1, 'counted');
});

t.test('the answer in the 200 OK, the ACK, the BYE\'s delete; a late offer; multipart', async (t) => {
  const { engine } = engineOf(CONF);
  const inv = engine.handle(req('INVITE', SDP4), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))[0] as Media;
  const fwd = inv.then!(ENGINE_SDP)[0] as Send;
  const via = fwd.data.match(/^Via: .*$/gm)!.join('\r\n');
  const ok = `SIP/2.0 200 OK\r\n${via}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=al\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=ca\r\nCall-ID: ng1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@[2001:db8:1::20]>\r\nContent-Type: application/sdp\r\nContent-Length: ${ENGINE_SDP.length}\r\n\r\n${ENGINE_SDP}`;
  const ans = engine.handle(ok, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060'))[0] as Media;
  t.match(ans.ng, { command: 'answer', 'from-tag': 'al', 'to-tag': 'ca', 'address family': 'IP4' }, 'the 200 OK carries the answer, out in IPv4');
  t.equal((ans.then!(SDP4)[0] as Send).to.addr, '127.0.0.10');
  const bye = engine.handle(req('BYE', '', '', ';tag=ca'), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
  t.same(bye.map((a) => a.type), ['send', 'media'], 'the BYE goes on at once, the delete beside it');
  t.match((bye[1] as Media).ng, { command: 'delete', 'call-id': 'ng1@x' });
  t.notOk((bye[1] as Media).then, 'nothing waits for the delete');

  const late = engineOf(CONF).engine;
  const bare = late.handle(req('INVITE'), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
  t.equal(bare[0].type, 'send', 'an INVITE without SDP goes on directly');
  const lvia = (bare[0] as Send).data.match(/^Via: .*$/gm)!.join('\r\n');
  const lok = ok.replace(via, lvia);
  const offer = late.handle(lok, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060'))[0] as Media;
  t.match(offer.ng, { command: 'offer', 'from-tag': 'ca', 'to-tag': 'al' }, 'late offer: the 200 OK carries the offer, from the callee');
  const ack = late.handle(req('ACK', SDP4, 'application/sdp', ';tag=ca'), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))[0] as Media;
  t.match(ack.ng, { command: 'answer', 'from-tag': 'al', 'to-tag': 'ca' }, 'and the ACK the answer');
  t.same(ack.then!(null), [{ type: 'drop', reason: ack.then!(null)[0].type === 'drop' ? (ack.then!(null)[0] as { reason: unknown }).reason : null }], 'an ACK is never answered, even with 503');

  const multi = `--b\r\nContent-Type: application/sdp\r\n\r\n${SDP4}\r\n--b--\r\n`;
  const mp = late.handle(req('INVITE', multi, 'multipart/mixed;boundary=b').replace('Call-ID: ng1@x', 'Call-ID: ng2@x'), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))[0] as Send;
  t.match(mp.data, /^SIP\/2\.0 488 Not Acceptable Here \(SDP in a multipart body\)/, 'SDP inside multipart: 488');
});

t.test('the engine is asked about no SDP the receiver could read otherwise: no, two or an encoded Content-Type', async (t) => {
  const { engine } = engineOf(CONF);
  const cases: Array<[string, RegExp]> = [
    [req('INVITE', SDP4).replace('Content-Type: application/sdp\r\n', ''), /^SIP\/2\.0 400 Bad Request \(Content-Type\)\r\n/],
    [req('INVITE', SDP4).replace('Content-Type: application/sdp\r\n', 'Content-Type: text/plain\r\nContent-Type: application/sdp\r\n'), /^SIP\/2\.0 400 Bad Request \(Content-Type\)\r\n/],
    [req('INVITE', SDP4).replace('Content-Type: application/sdp\r\n', 'Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n'), /^SIP\/2\.0 415 Unsupported Media Type \(encoded body\)\r\n(.*\r\n)*Accept-Encoding: identity\r\n/],
  ];
  for (const [i, [text, answer]] of cases.entries()) {
    const out = engine.handle(text.replace('Call-ID: ng1@x', `Call-ID: ngct${i}@x`), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
    t.equal(out.length, 1);
    t.equal(out[0].type, 'send', `case ${i + 1}: answered, the engine never asked`);
    t.match((out[0] as Send).data, answer);
  }
});

t.test('multipart: SDP behind a base64 part, or a body cut otherwise, is refused too; one without SDP goes on', async (t) => {
  const { engine } = engineOf(CONF);
  const inner = `--c\r\nContent-Type: application/sdp\r\n\r\n${SDP4}\r\n--c--\r\n`;
  const cases: Array<[string, string, RegExp]> = [
    [`--b\r\nContent-Type: multipart/mixed;boundary=c\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(inner).toString('base64')}\r\n--b--\r\n`, 'multipart/mixed;boundary=b', /^SIP\/2\.0 415 /],
    [`--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n--b\r\nContent-Type: application/sdp\r\n\r\n${SDP4}`, 'multipart/mixed;boundary=b', /^SIP\/2\.0 400 Bad Request \(multipart body\)\r\n/],
    [`--b\r\nContent-Type: multipart/mixed;boundary=c\r\n\r\n${inner}\r\n--b--\r\n`, 'multipart/mixed;boundary=b', /^SIP\/2\.0 488 /],
    [`--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n`, 'multipart/mixed;boundary=b', /^INVITE sip:carol@\[2001:db8:1::20\]:5060 SIP\/2\.0\r\n/],
  ];
  for (const [i, [body, ctype, answer]] of cases.entries()) {
    const out = engine.handle(req('INVITE', body, ctype).replace('Call-ID: ng1@x', `Call-ID: ngmp${i}@x`), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
    t.equal(out.length, 1);
    t.equal(out[0].type, 'send', `case ${i + 1}: sent at once, the engine never asked`);
    t.match((out[0] as Send).data, answer);
  }
});

t.test('SPEC 11: a stranger\'s offers hold the engine\'s ports within rtp-quota, half the pool in all; unanswered ones are deleted after rtp-timeout', async (t) => {
  let now = 0;
  const { engine } = engineOf(CONF.replace('rtp-ports 30000-30099', 'rtp-ports 30000-30011') + 'rtp-quota 2\nrtp-timeout 60\n', { now: () => now });
  const call = (from: string, id: string, method = 'INVITE', body = SDP4, toTag = '') => {
    const text = req(method, body, 'application/sdp', toTag).replace('Call-ID: ng1@x', `Call-ID: ${id}`).replace(/127\.0\.0\.10(:5060|>)/g, `${from}$1`);
    return engine.handle(text, hp(`${from}:5060`), hp('127.0.0.120:5060'));
  };
  const what = (out: Action[]) => out.map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type === 'send' ? a.data.split('\r\n')[0] : a.type === 'drop' ? `drop ${a.reason.code}` : a.type)).join(', ');
  t.equal(what(call('127.0.0.66', 's1')), 'media offer', 'a stranger\'s first offer');
  t.equal(what(call('127.0.0.66', 's2')), 'media offer', 'its second');
  t.equal(what(call('127.0.0.66', 's3')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'its third: over rtp-quota 2');
  t.equal(what(call('127.0.0.66', 's1')), 'media offer', 'a re-offer of a call it holds takes nothing more');
  t.equal(what(call('127.0.0.66', 's1', 'INVITE', SDP4 + 'm=video 40002 RTP/AVP 96\r\n')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'a second stream in it would');
  t.equal(what(call('127.0.0.10', 'p1')), 'media offer', 'a configured party is held to no quota');
  t.equal(what(call('127.0.0.10', 'p2')), 'media offer');
  t.equal(what(call('127.0.0.10', 'p3')), 'media offer');
  t.equal(what(call('127.0.0.67', 'u1')), 'media offer', 'another stranger');
  t.equal(what(call('127.0.0.68', 'v1')), 'SIP/2.0 503 Service Unavailable (media quota)', 'strangers together: half of the pool (6 streams), 3 of them');
  t.same(engine.ngSweep(), [], 'nothing to delete before rtp-timeout');
  t.equal(what(call('127.0.0.66', 's1', 'BYE', '', ';tag=ca')), 'INVITE sip:carol@[2001:db8:1::20]:5060 SIP/2.0'.replace('INVITE', 'BYE') + ', media delete', 'a BYE deletes the call');
  t.equal(what(call('127.0.0.66', 's3')), 'media offer', 'and gives its streams back');
  now = 59_000;
  t.same(engine.ngSweep(), [], 'nothing yet');
  now = 60_000;
  const swept = engine.ngSweep();
  t.same(swept.map((a) => (a.type === 'media' ? [a.key, a.ng.command] : a.type)), [['s2', 'delete'], ['u1', 'delete'], ['s3', 'delete']], 'after rtp-timeout the strangers\' unanswered offers are deleted, oldest first; the parties\' stay');
  t.equal(what(call('127.0.0.66', 's4')), 'media offer', 'and the stranger may offer again');
  t.equal(what(call('127.0.0.68', 'v2')), 'media offer');
});

t.test('SPEC 11: a stranger\'s answered call counts for as long as the engine holds it (asked at each rtp-timeout)', async (t) => {
  let now = 0;
  const { engine } = engineOf(CONF + 'rtp-quota 1\nrtp-timeout 60\n', { now: () => now });
  const invite = (id: string) => engine.handle(req('INVITE', SDP4).replace('Call-ID: ng1@x', `Call-ID: ${id}`).replace(/127\.0\.0\.10(:5060|>)/g, '192.0.2.66$1'), hp('192.0.2.66:5060'), hp('127.0.0.120:5060'));
  const first = (out: Action[]) => (out[0].type === 'media' ? `media ${String(out[0].ng.command)}` : out[0].type === 'send' ? out[0].data.split('\r\n')[0] : out[0].type === 'drop' ? `drop ${out[0].reason.code}` : out[0].type);
  const inv = invite('sa1') as Media[];
  t.equal(first(inv), 'media offer', 'the stranger\'s offer');
  const fwd = inv[0].then!(ENGINE_SDP)[0] as Send;
  const via = fwd.data.match(/^Via: .*$/gm)!.join('\r\n');
  const ok = `SIP/2.0 200 OK\r\n${via}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=al\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=ca\r\nCall-ID: sa1\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@[2001:db8:1::20]>\r\nContent-Type: application/sdp\r\nContent-Length: ${ENGINE_SDP.length}\r\n\r\n${ENGINE_SDP}`;
  t.equal(first(engine.handle(ok, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060'))), 'media answer', 'carol answers');
  t.equal(first(invite('sa2')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'its quota is taken');
  now = 60_000;
  const swept = engine.ngSweep();
  t.same(swept.map((a) => [a.key, a.ng.command]), [['sa1', 'query']], 'after rtp-timeout the answered call is not deleted: the engine is asked whether it holds it');
  t.equal(first(invite('sa2')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'meanwhile it still counts');
  swept[0].held!(true);
  t.equal(first(invite('sa2')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'the engine holds it: it goes on counting');
  now = 119_000;
  t.same(engine.ngSweep(), [], 'asked again only after another rtp-timeout');
  now = 120_000;
  const again = engine.ngSweep();
  t.same(again.map((a) => [a.key, a.ng.command]), [['sa1', 'query']], 'then asked again');
  again[0].held!(null);
  t.equal(first(invite('sa2')), 'SIP/2.0 503 Service Unavailable (media quota of this source)', 'no engine answered: it goes on counting');
  now = 180_000;
  engine.ngSweep()[0].held!(false);
  t.equal(first(invite('sa2')), 'media offer', 'the engine no longer holds it (its own timeout): the quota is back');
  now = 240_000;
  t.same(engine.ngSweep().map((a) => [a.key, a.ng.command]), [['sa2', 'delete']], 'and the ended call is forgotten: only the new offer, unanswered, is swept');
});

t.test('SPEC 11: only the party that set a side up changes its media at the engine, as in RTPproxy64\'s table', async (t) => {
  let now = 0;
  const { engine } = engineOf(CONF, { now: () => now });
  const offer = (from: string, fromTag: string, contact = from) => {
    const text = req('INVITE', SDP4).replace(';tag=al', `;tag=${fromTag}`).replace('Contact: <sip:alice@127.0.0.10>', `Contact: <sip:alice@${contact}>`).replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.10/, `Via: SIP/2.0/UDP ${from}`);
    const out = engine.handle(text, hp(`${from}:5060`), hp('127.0.0.120:5060'));
    return out[0].type === 'media' ? `media ${String(out[0].ng.command)}` : out[0].type === 'send' ? out[0].data.split('\r\n')[0] : out[0].type;
  };
  t.equal(offer('127.0.0.10', 'al', '127.0.0.12'), 'media offer', 'alice offers (her Contact names 127.0.0.12)');
  t.equal(offer('127.0.0.66', 'al'), 'SIP/2.0 403 Forbidden (media of another party)', 'a stranger with her Call-ID and tag cannot move her media');
  t.equal(offer('127.0.0.10', 'al'), 'media offer', 'she can, from where she sent it');
  t.equal(offer('127.0.0.12', 'al'), 'media offer', 'or from her Contact\'s address');
  t.equal(offer('127.0.0.66', 'x1'), 'media offer', 'another tag is another side: no one\'s media moves');
  for (let i = 2; i <= 4; i++) t.equal(offer('127.0.0.66', `x${i}`), 'media offer');
  t.equal(offer('127.0.0.66', 'x5'), 'SIP/2.0 403 Forbidden (media of another party)', 'strangers set up at most half of a call\'s 8 sides');
  t.equal(offer('127.0.0.10', 'al'), 'media offer', 'alice still can');
  for (let i = 2; i <= 4; i++) t.equal(offer('127.0.0.10', `al${i}`), 'media offer', 'a party may set up the rest');
  t.equal(offer('127.0.0.10', 'al5'), 'SIP/2.0 403 Forbidden (media of another party)', 'at most 8 sides a call');
  now = 3_600_000;
  t.same(engine.ngSweep(), [], 'the stranger\'s offers in her call did not make it his: nothing to delete');
});

t.test('SPEC 11: a message refused after its step was read changes nothing the engine\'s calls hold (a stranger\'s BYE of 64 KB)', async (t) => {
  const { engine } = engineOf(CONF);
  const msg = (method: string, from: string, body: string, extra = '') => {
    const text = req(method, body).replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.10/, `Via: SIP/2.0/UDP ${from}`).replace('Max-Forwards: 70\r\n', `Max-Forwards: 70\r\n${extra}`);
    const out = engine.handle(text, hp(`${from}:5060`), hp('127.0.0.120:5060'));
    return out.map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type === 'send' ? a.data.split('\r\n')[0] : a.type)).join(', ');
  };
  t.equal(msg('INVITE', '127.0.0.10', SDP4), 'media offer', 'alice\'s call');
  const pad = `X-Pad: ${'x'.repeat(7990)}\r\n`.repeat(8) + `X-Pad: ${'x'.repeat(65_480 - 8 * 8000 - req('BYE').length)}\r\n`; // 65,500 bytes in all
  t.equal(msg('BYE', '127.0.0.66', '', pad), 'SIP/2.0 513 Message Too Large', 'a stranger\'s BYE too large once rewritten: 513');
  t.equal(msg('INVITE', '127.0.0.66', SDP4), 'SIP/2.0 403 Forbidden (media of another party)', 'the call was not forgotten: her side is still hers');
});

t.test('SPEC 11: strangers\' calls push out no party\'s call, nor one holding a quota (100,000 records, half for strangers)', async (t) => {
  const calls = new NgCalls({ perSource: 16, strangers: 1000, lifeMs: 60_000 }, () => 0);
  const step = (f: () => unknown) => { f(); calls.commit(); };
  step(() => calls.invited('party-late', false)); // a party's INVITE without SDP: its 200 OK carries the offer
  step(() => calls.mayChange('party-late', 'al', '127.0.0.10', undefined));
  step(() => calls.admit('counted', '192.0.2.66', 1)); // a stranger's offer that holds a stream at the engine
  for (let i = 0; i < 120_000; i++) step(() => calls.invited(`s${i}`, false, true)); // strangers' INVITEs without SDP, from many sources
  t.ok(calls.isLate('party-late'), 'the party\'s late offer is still known');
  t.notOk(calls.mayChange('party-late', 'al', '192.0.2.99', undefined, true), 'and its side still refuses a stranger');
  calls.discard();
  t.equal(calls.strangerStreams, 1, 'the stranger\'s counted call is still counted');
  t.equal(calls.size, 50_002, 'strangers\' records: half of 100,000, their oldest pushed out');
  t.ok(calls.isLate('s119999') && !calls.isLate('s69999') && calls.isLate('s70000'));
  for (let i = 0; i < 60_000; i++) step(() => calls.invited(`p${i}`, true)); // parties' calls fill the rest
  t.equal(calls.size, 100_000, 'at most 100,000 records');
  t.notOk(calls.isLate('s70000'), 'a party\'s new call pushed out a stranger\'s first');
  t.ok(calls.isLate('party-late'));
  t.equal(calls.strangerStreams, 1);
});

t.test('SPEC 11: a stranger\'s BYE or CANCEL deletes only a call it is a party of (from its address or its Contact\'s)', async (t) => {
  const { engine } = engineOf(CONF);
  const msg = (method: string, from: string, callId: string, body = '', contact = from) => {
    // (a CANCEL has its INVITE's branch, RFC 3261 9.1)
    const text = req(method, body).replace('z9hG4bKCANCEL1', 'z9hG4bKINVITE1').replace('Call-ID: ng1@x', `Call-ID: ${callId}`).replace('Contact: <sip:alice@127.0.0.10>', `Contact: <sip:x@${contact}>`).replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.10/, `Via: SIP/2.0/UDP ${from}`);
    const out = engine.handle(text, hp(`${from}:5060`), hp('127.0.0.120:5060'));
    return out.map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type === 'send' ? a.data.split(' ')[0] : a.type)).join(', ');
  };
  t.equal(msg('INVITE', '127.0.0.10', 'c1@x', SDP4), 'media offer', 'alice\'s call');
  t.equal(msg('BYE', '192.0.2.66', 'c1@x'), 'BYE', 'a stranger\'s BYE goes on as SIP, with no delete');
  t.equal(msg('CANCEL', '192.0.2.66', 'c1@x'), 'CANCEL', 'its CANCEL too');
  t.equal(msg('INVITE', '192.0.2.66', 'c1@x', SDP4), 'SIP/2.0', 'alice\'s side is still hers: her call was not forgotten');
  t.equal(msg('BYE', '127.0.0.10', 'c1@x'), 'BYE, media delete', 'her BYE deletes it');
  t.equal(msg('INVITE', '192.0.2.66', 'c2@x', SDP4, '192.0.2.67'), 'media offer', 'a stranger\'s own call (its Contact names 192.0.2.67)');
  t.equal(msg('CANCEL', '192.0.2.68', 'c2@x'), 'CANCEL', 'another stranger cannot cancel it at the engine');
  t.equal(msg('CANCEL', '192.0.2.67', 'c2@x'), 'CANCEL', 'nor from its Contact\'s address: a CANCEL from another hop than its INVITE\'s cancels no branch of it (RFC 3261 9.1)');
  t.equal(msg('CANCEL', '192.0.2.66', 'c2@x'), 'CANCEL, media delete', 'its party can, from where its INVITE came');
  t.equal(msg('INVITE', '192.0.2.66', 'c3@x', SDP4), 'media offer');
  t.equal(msg('BYE', '192.0.2.66', 'c3@x'), 'BYE, media delete', 'and a BYE from where its SDP came deletes');
});

t.test('RFC 3261 15.1.2: a party\'s 2xx to a stranger\'s BYE (a provider\'s other node) deletes the call; another\'s 2xx or a 481 does not', async (t) => {
  const { engine } = engineOf(CONF);
  const inv = engine.handle(req('INVITE', SDP4), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))[0] as Media;
  const via = (inv.then!(ENGINE_SDP)[0] as Send).data.match(/^Via: .*$/gm)!.join('\r\n');
  const ok = `SIP/2.0 200 OK\r\n${via}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=al\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=ca\r\nCall-ID: ng1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@[2001:db8:1::20]>\r\nContent-Type: application/sdp\r\nContent-Length: ${ENGINE_SDP.length}\r\n\r\n${ENGINE_SDP}`;
  t.match((engine.handle(ok, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060'))[0] as Media).ng, { command: 'answer' }, 'carol answers');
  const bye = req('BYE', '', '', ';tag=ca').replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.10:5060/, 'Via: SIP/2.0/UDP 192.0.2.66:5060');
  const out = engine.handle(bye, hp('192.0.2.66:5060'), hp('127.0.0.120:5060'));
  t.same(out.map((a) => a.type), ['send'], 'a BYE from an address no SIP of the call came from goes on, with no delete');
  const bvia = (out[0] as Send).data.match(/^Via: .*$/gm)!.join('\r\n');
  const answer = (status: string, from: string) => {
    const text = `SIP/2.0 ${status}\r\n${bvia}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=al\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=ca\r\nCall-ID: ng1@x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`;
    return engine.handle(text, hp(`[${from}]:5060`), hp('[2001:db8:64::10]:5060')).map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type)).join(', ');
  };
  t.equal(answer('200 OK', '2001:db8:1::99'), 'send', 'a 2xx from an address that is no party\'s deletes nothing');
  t.equal(answer('481 Call/Transaction Does Not Exist', '2001:db8:1::20'), 'send', 'carol\'s 481: no dialog ended, nothing deleted');
  t.equal(answer('200 OK', '2001:db8:1::20'), 'send, media delete', 'carol\'s 200 OK: she ended the call, it is deleted');
  t.equal(answer('200 OK', '2001:db8:1::20'), 'send', 'once: its retransmission asks nothing more');
});

t.test('SPEC 11: a stranger\'s new side names no other party\'s side in its To tag (rtpengine would send that side\'s media to it)', async (t) => {
  const { engine } = engineOf(CONF);
  const text = (method: string, from: string, fromTag: string, toTag: string, callId: string, body = SDP4) =>
    req(method, body, 'application/sdp', toTag ? `;tag=${toTag}` : '').replace(';tag=al', `;tag=${fromTag}`).replace('Call-ID: ng1@x', `Call-ID: ${callId}`).replace('Contact: <sip:alice@127.0.0.10>', `Contact: <sip:x@${from}>`).replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.10/, `Via: SIP/2.0/UDP ${from}`);
  const show = (out: Action[]) => (out[0].type === 'media' ? `media ${String(out[0].ng.command)}` : out[0].type === 'send' ? out[0].data.split('\r\n')[0] : out[0].type === 'drop' ? `drop ${out[0].reason.code}` : out[0].type);
  const msg = (method: string, from: string, fromTag: string, toTag: string, callId = 'c1@x', body = SDP4) => show(engine.handle(text(method, from, fromTag, toTag, callId, body), hp(`${from}:5060`), hp('127.0.0.120:5060')));
  t.equal(msg('INVITE', '127.0.0.10', 'al', ''), 'media offer', 'alice offers');
  t.equal(msg('INVITE', '192.0.2.66', 'x1', 'al'), 'SIP/2.0 403 Forbidden (media of another party)', 'a stranger\'s new side naming hers: 403');
  t.equal(msg('UPDATE', '192.0.2.66', 'x1', 'al'), 'SIP/2.0 403 Forbidden (media of another party)', 'in an UPDATE too');
  t.equal(msg('INVITE', '192.0.2.66', 'x1', ''), 'media offer', 'a new side naming none pairs with no one\'s (a fork)');
  t.equal(msg('INVITE', '192.0.2.66', 'x2', 'x1'), 'media offer', 'nor one naming its own');

  // A stranger's late offer: its ACK answers the callee's offer, a new side that names the callee's.
  const inv = engine.handle(text('INVITE', '192.0.2.66', 's1', '', 'lo@x', ''), hp('192.0.2.66:5060'), hp('127.0.0.120:5060'));
  const via = (inv[0] as Send).data.match(/^Via: .*$/gm)!.join('\r\n');
  const ok = `SIP/2.0 200 OK\r\n${via}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=s1\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=ca\r\nCall-ID: lo@x\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@[2001:db8:1::20]>\r\nContent-Type: application/sdp\r\nContent-Length: ${ENGINE_SDP.length}\r\n\r\n${ENGINE_SDP}`;
  t.equal(show(engine.handle(ok, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060'))), 'media offer', 'the callee\'s 200 OK carries the offer');
  t.equal(msg('INVITE', '192.0.2.77', 'x9', 'ca', 'lo@x'), 'SIP/2.0 403 Forbidden (media of another party)', 'another stranger\'s offer naming the callee\'s side: 403');
  t.equal(msg('ACK', '192.0.2.77', 's1', 'ca', 'lo@x'), 'drop media-not-yours', 'an ACK under the caller\'s tag from elsewhere than the UAC, first: refused (RFC 3261 13.2.2.4)');
  t.equal(msg('ACK', '192.0.2.66', 's1', 'ca', 'lo@x'), 'media answer', 'the caller\'s ACK answers it');
  t.equal(msg('ACK', '192.0.2.77', 'x9', 'ca', 'lo@x'), 'drop media-not-yours', 'once answered, another ACK naming it: refused (an ACK gets no answer)');
});

t.test('SPEC 11: the engine\'s SDP replaces the body where the parser reads it, after a head ended by a bare LF', async (t) => {
  // Found by a random-seed fuzz run: the splice cut at the first CRLF CRLF, here inside the old body.
  const sdp = 'v=0\r\nc=IN IP6 2001:db8::3\r\n';
  for (const end of ['\r\n\r\n', '\r\n\n', '\n\n']) {
    const data = `INVITE sip:carol@[2001:db8:1::20] SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1\r\nContent-Length: 17${end}\r\n\n\r\n\r\nold body\r\n`;
    const m = parseMessage(spliceSdp(data, sdp));
    t.equal(m.text.slice(m.bodyStart, m.bodyEnd), sdp, `head ended by ${JSON.stringify(end)}: the body is the engine's SDP`);
    t.equal(m.bodyEnd, m.text.length, 'and Content-Length is its length');
  }
});

t.test('RFC 3261 25.1: the engine\'s SDP gets its length in a Content-Length whose value is folded', async (t) => {
  // Found by a random-seed fuzz run (seed 1302295951): the folded value kept the old length.
  const sdp = 'v=0\r\nc=IN IP6 2001:db8::3\r\n';
  for (const sep of [':\r\n ', ' :\r\n\t ', ':  \r\n  ', ':\n ']) {
    const data = `INVITE sip:carol@[2001:db8:1::20] SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1\r\nContent-Length${sep}126\r\n\r\n${'x'.repeat(126)}`;
    const m = parseMessage(spliceSdp(data, sdp));
    t.equal(m.text.slice(m.bodyStart, m.bodyEnd), sdp, `Content-Length${JSON.stringify(sep)}: the body is the engine's SDP`);
    t.equal(m.bodyEnd, m.text.length, 'and Content-Length is its length');
  }
});

t.test('SPEC 6: a call that comes back through the proxy is another call at the engine; only a spiral, not a stranger, makes one', async (t) => {
  const { engine } = engineOf(CONF);
  const show = (out: Action[]) => out.map((a) => (a.type === 'media' ? `${a.ng.command} ${a.key}` : a.type === 'send' ? a.data.split('\r\n')[0] : a.type)).join(', ');
  const first = engine.handle(req('INVITE', SDP4), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'));
  t.equal(show(first), 'offer ng1@x', 'alice\'s INVITE: an offer of the call');
  const sent = ((first[0] as Media).then!(ENGINE_SDP)[0] as Send).data;
  // The registrar (carol's address here) sends it back to the generic face, for alice's face:
  // a passage of other addresses, with our signed Via below its own.
  const back = (text: string) => text.replace(/^INVITE \S+/, 'INVITE sip:alice@[2001:db8:64::10]:5060').replace('Via: ', 'Via: SIP/2.0/UDP [2001:db8:1::20]:5060;branch=z9hG4bKreg1\r\nVia: ');
  const from = hp('[2001:db8:1::20]:5060');
  const to = hp('[2001:db8::1]:5060');
  const evil = req('INVITE', SDP4);
  t.equal(show(engine.handle(back(evil), from, to)), 'SIP/2.0 403 Forbidden (media of another party)', 'the same INVITE without our Via (a stranger who knows the Call-ID): the first call\'s, whose caller side is alice\'s');
  t.equal(show(engine.handle(back(sent.replace(/^(To: [^\r]*)/m, '$1;tag=ca')), from, to)), 'SIP/2.0 403 Forbidden (media of another party)', 'with our Via but a To tag: no spiral (RFC 3261 16.3)');
  t.equal(show(engine.handle(back(sent.replace(/branch=z9hG4bK64[0-9a-f]+/, 'branch=z9hG4bK64000000000000')), from, to)), 'SIP/2.0 403 Forbidden (media of another party)', 'with a Via of ours the key did not sign: no spiral');
  const spiral = engine.handle(back(sent), from, to);
  t.equal(show(spiral), 'offer ng1@x leg2', 'the spiral: a call of its own at the engine');
  t.equal(show(engine.handle(back(sent), from, to)), 'offer ng1@x leg2', 'found again by its addresses');
  t.equal(show(engine.handle(req('BYE'), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))), 'BYE sip:carol@[2001:db8:1::20]:5060 SIP/2.0, delete ng1@x', 'alice\'s BYE ends the first call');
  const bye = req('BYE').replace(/^BYE \S+/, 'BYE sip:alice@[2001:db8:64::10]:5060');
  t.equal(show(engine.handle(bye, from, to)), 'BYE sip:alice@127.0.0.10:5060 SIP/2.0, delete ng1@x leg2', 'and on its way back the second');
});

t.test('RFC 3261 16.7: a final error or a CANCEL on one branch of a forked INVITE deletes nothing while another branch rings', async (t) => {
  const { engine } = engineOf(CONF);
  const branch = (b: string, method = 'INVITE', callId = 'fk@x') => req(method, method === 'INVITE' ? SDP4 : '').replace(`branch=z9hG4bK${method}1`, `branch=z9hG4bK${b}`).replace('Call-ID: ng1@x', `Call-ID: ${callId}`);
  const sent = (b: string, callId = 'fk@x'): string => {
    const out = engine.handle(branch(b, 'INVITE', callId), hp('127.0.0.10:5060'), hp('127.0.0.120:5060'))[0];
    const fwd = (out.type === 'media' ? out.then!(ENGINE_SDP)[0] : out) as Send;
    return fwd.data.match(/^Via: .*$/gm)!.join('\r\n');
  };
  const error = (via: string, callId = 'fk@x', status = '404 Not Found') => {
    const text = `SIP/2.0 ${status}\r\n${via}\r\nFrom: <sip:alice@[2001:db8:64::10]>;tag=al\r\nTo: <sip:carol@[2001:db8:1::20]>;tag=x${via.length}\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    return engine.handle(text, hp('[2001:db8:1::20]:5060'), hp('[2001:db8:64::10]:5060')).map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type)).join(', ');
  };
  const cancel = (b: string, callId: string) => engine.handle(branch(b, 'CANCEL', callId), hp('127.0.0.10:5060'), hp('127.0.0.120:5060')).map((a) => (a.type === 'media' ? `media ${String(a.ng.command)}` : a.type)).join(', ');
  const [one, two] = [sent('fk1'), sent('fk2')];
  t.equal(error(one), 'send', 'the 404 of the first branch goes on, and the call stays at the engine');
  t.equal(error(two), 'send, media delete', 'the last branch\'s error deletes it');
  const [three, four] = [sent('fk3', 'fk2@x'), sent('fk4', 'fk2@x')];
  t.equal(error(three, 'fk2@x', '180 Ringing'), 'send', 'both branches ring');
  t.equal(error(four, 'fk2@x', '180 Ringing'), 'send');
  t.equal(cancel('fk3', 'fk2@x'), 'send', 'a CANCEL of one branch deletes nothing');
  t.equal(cancel('fk4', 'fk2@x'), 'send, media delete', 'of the last, the call');
  // RFC 3261 9.1: a branch with no provisional response is never CANCELled by the hop before
  // us (a dead contact): once the ringing branch is CANCELled, the call is not kept for it.
  const five = sent('fk5', 'fk3@x');
  sent('fk6', 'fk3@x');
  t.equal(error(five, 'fk3@x', '180 Ringing'), 'send', 'one branch rings, the other never answers');
  t.equal(cancel('fk5', 'fk3@x'), 'send, media delete', 'the CANCEL of the ringing one deletes the call');
});
