// advertise LOCAL NAME: masquerading behind a router whose public address changes (siproxd's
// host_outbound). The name is resolved at start, and again by the watch; what is written for
// the outbound address follows it from the next message on, and the new address is ours.
import t from 'tap';
import { parseConfig, validate } from '../../../src/config/config.js';
import { buildEngine } from '../../../src/daemon/compose.js';
import { createLogger } from '../../../src/daemon/log.js';
import { resolveAdvertised } from '../../../src/daemon/masq.js';
import { watchAdvertised } from '../../../src/daemon/renumber.js';
import { staticDns } from '../../lib/dns.js';
import { parseHostPort } from '../../../src/net/addr.js';
import { Action } from '../../../src/core/types.js';
import { waitFor } from '../../lib/netns.js';

const hp = (s: string) => parseHostPort(s)!;
const cfgText = 'inbound 192.0.2.1/24\noutbound 198.51.100.1\nadvertise 198.51.100.1 home.example.net\noutbound-check 5\nrtp-ports 30000-30099\n';
/** A DNS whose answers the test changes (the record object is read at each lookup). */
const dns = (ips: Record<string, string[]>) => staticDns(ips);
const sdp = 'v=0\r\no=a 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const invite = (n: number) =>
  `INVITE sip:carol@203.0.113.30 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKi${n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a${n}\r\nTo: <sip:carol@203.0.113.30>\r\nCall-ID: c${n}@192.0.2.10\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10:5060>\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`;
const sent = (a: Action[]) => a.filter((x): x is Extract<Action, { type: 'send' }> => x.type === 'send');
/** alice's BYE for call n, along the route set of the INVITE that went out as `data` (RFC 3261 12.1.2: Record-Route reversed). */
const byeFromAlice = (data: string, n: number, engine: ReturnType<typeof buildEngine>['engine']): Action[] => {
  const route = [...data.matchAll(/^Record-Route: (.+)\r$/gm)].map((m) => m[1]).reverse().join(', ');
  return engine.handle(`BYE sip:carol@203.0.113.30 SIP/2.0\r\nRoute: ${route}\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKab${n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a${n}\r\nTo: <sip:carol@203.0.113.30>;tag=c${n}\r\nCall-ID: c${n}@192.0.2.10\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`, hp('192.0.2.10:5060'), hp('192.0.2.1:5060'));
};

t.test('the config: a name for the outbound address, with masquerading only', async (t) => {
  const cfg = validate(parseConfig(cfgText, 'f'));
  t.same(cfg.advertise.map((a) => [a.local.addr, a.name, a.public.addr]), [['198.51.100.1', 'home.example.net', '198.51.100.1']], 'LOCAL is written until the name is resolved');
  const bad = (text: string) => () => validate(parseConfig(text, 'f'));
  t.throws(bad('generic4 192.0.2.1\ngeneric6 2001:db8::1\nadvertise 192.0.2.1 home.example.net\n'), /advertise LOCAL NAME serves masquerading/);
  t.throws(bad('inbound 192.0.2.1/24\noutbound 198.51.100.1\nadvertise 192.0.2.1 home.example.net\n'), /192\.0\.2\.1 is not an outbound address given as an address/, 'not the LAN side');
  t.throws(bad('inbound 192.0.2.1/24\noutbound gw.example.net\nadvertise 198.51.100.1 home.example.net\n'), /not an outbound address/, 'an outbound name has nothing to advertise');
  t.throws(bad('inbound 192.0.2.1/24\noutbound 198.51.100.1\nadvertise 198.51.100.1 -bad-\n'), /not an IP address/, 'neither address nor name');
  t.throws(bad('inbound 192.0.2.1/24\noutbound 198.51.100.1\noutbound-check 5\n'), /outbound-check serves/, 'outbound-check still wants something to look up');
});

t.test('resolved at start; the watch follows the name; a change to one of our own addresses is refused', async (t) => {
  const cfg = validate(parseConfig(cfgText, 'f'));
  const records: Record<string, string[]> = { 'home.example.net': ['2001:db8:7::1', '203.0.113.7'] };
  await resolveAdvertised(cfg, dns(records));
  t.equal(cfg.advertise[0].public.addr, '203.0.113.7', 'the address of LOCAL\'s family');
  await t.rejects(resolveAdvertised(validate(parseConfig(cfgText, 'f')), dns({ 'home.example.net': ['2001:db8:7::1'] })), /advertise 198\.51\.100\.1 home\.example\.net: cannot resolve to an IPv4 address/);

  const { engine, masq } = buildEngine(cfg, { now: () => 0 });
  const out1 = sent(engine.handle(invite(1), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')));
  t.equal(out1.length, 1);
  t.equal(`${out1[0].from.addr}`, '198.51.100.1', 'sent from LOCAL (the router forwards to it)');
  t.match(out1[0].data, /^Via: SIP\/2\.0\/UDP 203\.0\.113\.7:5060;/m, 'the Via names the router\'s address');
  t.match(out1[0].data, /^Contact: <sip:alice@203\.0\.113\.7:5060;sp64n=/m);
  t.match(out1[0].data, /^c=IN IP4 203\.0\.113\.7\r$/m, 'and so does the SDP');
  t.notMatch(out1[0].data, /198\.51\.100\.1/, 'LOCAL is never written');

  const lines: string[] = [];
  const [w] = watchAdvertised(cfg, masq, engine, createLogger('plain', 'info', (l) => lines.push(l)), dns(records));
  t.teardown(() => w.stop());
  t.equal(await w.check(), 60, 'looked up again at the record\'s TTL');
  t.equal(engine.counters.get('public-address-changed') ?? 0, 0, 'the same address: no change');
  records['home.example.net'] = ['203.0.113.8'];
  await w.check();
  t.match(lines.join('\n'), /advertised address changed: new calls and registrations use the new one name=home\.example\.net was=203\.0\.113\.7 now=203\.0\.113\.8/);
  t.equal(engine.counters.get('public-address-changed'), 1, 'counted');
  const out2 = sent(engine.handle(invite(2), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')))[0];
  t.match(out2.data, /^Via: SIP\/2\.0\/UDP 203\.0\.113\.8:5060;/m, 'the next message names the new address');
  t.match(out2.data, /^c=IN IP4 203\.0\.113\.8\r$/m);
  t.notMatch(out2.data, /203\.0\.113\.7/, 'the old one is not written');

  // The callee's BYE along our Record-Route, to alice's Contact, at the new address: ours, and it reaches alice.
  const contact = (/^Contact: <([^>]+)>/m.exec(out2.data) as RegExpExecArray)[1];
  const rr = (/^Record-Route: (.+)\r$/m.exec(out2.data) as RegExpExecArray)[1];
  t.match(rr, /^<sip:203\.0\.113\.8:5060;/, 'our Record-Route names it too');
  const bye = `BYE ${contact} SIP/2.0\r\nRoute: ${rr}\r\nVia: SIP/2.0/UDP 203.0.113.30:5060;branch=z9hG4bKb2\r\nMax-Forwards: 70\r\nFrom: <sip:carol@203.0.113.30>;tag=c2\r\nTo: <sip:alice@192.0.2.1>;tag=a2\r\nCall-ID: c2@192.0.2.10\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`;
  const toAlice = sent(engine.handle(bye, hp('203.0.113.30:5060'), hp('198.51.100.1:5060')));
  t.same(toAlice.map((a) => `${a.to.addr}:${a.to.port}`), ['192.0.2.10:5060'], 'a request to the new address goes to the LAN phone');
  t.match(toAlice[0].data, /^BYE sip:alice@192\.0\.2\.10:5060 SIP\/2\.0/);
  t.notMatch(toAlice[0].data, /^Route:/m, 'our Route entry is taken off (RFC 3261 16.4)');

  // alice hangs up the call set up before the change: her route set names the former
  // address, still ours (RFC 3261 16.4), so her BYE goes on to carol, not out to it.
  t.ok(engine.map.isOurs('203.0.113.7'), 'the former address is still ours');
  t.equal(sent(byeFromAlice(out1[0].data, 1, engine)).map((a) => `${a.to.addr}:${a.to.port}`).join(), '203.0.113.30:5060', 'a LAN phone\'s BYE along a route set through the former address reaches the party');
  const toFormer = sent(engine.handle(invite(9).replace('INVITE sip:carol@203.0.113.30', 'INVITE sip:carol@203.0.113.7'), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')));
  t.match(toFormer.map((a) => `${a.to.addr} ${a.data.split('\r\n')[0]}`).join(), /^192\.0\.2\.10 SIP\/2\.0 403 /, 'a request for the former address is refused as for our own (403)');

  records['home.example.net'] = ['192.0.2.1'];
  await w.check();
  t.match(lines.join('\n'), /the advertised name gives an address it cannot be: still writing the old one name=home\.example\.net now=192\.0\.2\.1/);
  t.match(sent(engine.handle(invite(3), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')))[0].data, /^Via: SIP\/2\.0\/UDP 203\.0\.113\.8:5060;/m, 'still the last good one');
  t.equal(engine.counters.get('public-address-changed'), 1);
});

t.test('the former advertised address stays ours for rtp-hold-timeout, then is let go', async (t) => {
  const cfg = validate(parseConfig(cfgText + 'rtp-hold-timeout 1\n', 'f'));
  const records: Record<string, string[]> = { 'home.example.net': ['203.0.113.7'] };
  await resolveAdvertised(cfg, dns(records));
  const { engine, masq } = buildEngine(cfg, { now: () => 0 });
  const out1 = sent(engine.handle(invite(1), hp('192.0.2.10:5060'), hp('192.0.2.1:5060')))[0];
  const [w] = watchAdvertised(cfg, masq, engine, createLogger('plain', 'error'), dns(records));
  t.teardown(() => w.stop());
  records['home.example.net'] = ['203.0.113.8'];
  await w.check();
  t.ok(engine.map.isOurs('203.0.113.8'), 'the new address is ours');
  t.ok(await waitFor(() => !engine.map.isOurs('203.0.113.7'), 10000, 50), 'the former one is let go after rtp-hold-timeout');
  t.ok(engine.map.isOurs('203.0.113.8'), 'the new one stays');
  t.equal(sent(byeFromAlice(out1.data, 1, engine)).map((a) => `${a.to.addr}:${a.to.port}`).join(), '203.0.113.7:5060', 'a route through it is a foreign hop again (the address may be someone else\'s now)');
  // The name goes back to the former address before its timer: that one is not let go.
  records['home.example.net'] = ['203.0.113.7'];
  await w.check();
  records['home.example.net'] = ['203.0.113.8'];
  await w.check();
  records['home.example.net'] = ['203.0.113.7'];
  await w.check();
  // A timer set now fires after those of the changes above (Node runs timers by when they expire).
  await new Promise((r) => setTimeout(r, 1100));
  t.notOk(engine.map.isOurs('203.0.113.8'), 'the address left last is let go');
  t.ok(engine.map.isOurs('203.0.113.7'), 'the one in use is kept, though a timer for it from an earlier change has run');
});
