// A public address that changes (issue 17): what an interface or a name gives, the watch that
// follows it, and the engine writing the new address while the old one is still served.
import t from 'tap';
import { Action } from '../../../src/core/types.js';
import { hostAddresses, IfAddr, lookupPublic, parseIpJson, pickPublic, PublicWatch, readIface } from '../../../src/daemon/public.js';
import { DnsApi } from '../../../src/daemon/resolver.js';
import { Addr, parseHostPort, parseIp } from '../../../src/net/addr.js';
import { configOf, engineOf } from '../../lib/engine.js';
import { waitFor } from '../../lib/netns.js';
import { parseConfig, validate } from '../../../src/config/config.js';

const ip = (s: string): Addr => parseIp(s) as Addr;
const ifa = (s: string, flags: Partial<IfAddr> = {}): IfAddr => ({ addr: ip(s), deprecated: false, temporary: false, tentative: false, ...flags });

t.test('an interface gives one address per family, the inbound\'s first; not deprecated, temporary, tentative or link-local', async (t) => {
  const list = [ifa('fe80::1'), ifa('2001:db8::1', { deprecated: true }), ifa('2001:db8::2', { temporary: true }), ifa('2001:db8::3'), ifa('169.254.1.1'), ifa('198.51.100.1', { deprecated: true }), ifa('198.51.100.2', { tentative: true })];
  t.same(pickPublic(list, 6).map((a) => a.addr), ['2001:db8::3', '198.51.100.1'], 'a deprecated address when nothing else is left (better than none)');
  t.same(pickPublic(list, 4).map((a) => a.addr), ['198.51.100.1', '2001:db8::3'], 'the inbound\'s family first');
  t.same(pickPublic([ifa('198.51.100.1', { deprecated: true }), ifa('198.51.100.2')], 4).map((a) => a.addr), ['198.51.100.2'], 'renumbering: the new one once the old is deprecated');
  t.same(pickPublic([], 4), [], 'nothing: none');
});

t.test('ip -j addr is read with its flags; scopes other than global are left out', async (t) => {
  const text = '[{"ifname":"m-wan","addr_info":[{"family":"inet","local":"198.51.100.9","scope":"global","deprecated":true},{"family":"inet","local":"198.51.100.10","scope":"global","secondary":true},{"family":"inet6","local":"2001:db8::9","scope":"global","tentative":true},{"family":"inet6","local":"fe80::1","scope":"link"},{"family":"inet","local":"010.0.0.1","scope":"global"}]}]';
  t.same(parseIpJson(text), [ifa('198.51.100.9', { deprecated: true }), ifa('198.51.100.10'), ifa('2001:db8::9', { tentative: true })]);
  t.same(parseIpJson(''), []);
  t.throws(() => parseIpJson('{'), 'not JSON: readIface falls back to Node\'s list');
  t.same(await readIface('lo'), [], 'lo is there and has no global address');
  t.equal(await readIface('nosuch-if0'), null, 'no such interface');
  t.ok(hostAddresses().has('127.0.0.1'), 'this host holds 127.0.0.1');
});

const dnsOf = (recs: Record<string, Array<{ address: string; ttl: number }>>, hosts: Record<string, string[]> = {}): DnsApi & { asked: number } => {
  const api = {
    asked: 0,
    resolveSrv: async () => [],
    resolveIp: async (n: string, f: 4 | 6) => {
      api.asked++;
      const r = (recs[n] ?? []).filter((x) => (x.address.includes(':') ? 6 : 4) === f);
      if (!r.length) throw new Error('ENOTFOUND');
      return r;
    },
    lookup: async (n: string, f: 4 | 6) => {
      const r = (hosts[n] ?? []).filter((x) => (x.includes(':') ? 6 : 4) === f);
      if (!r.length) throw new Error('ENOTFOUND');
      return r;
    },
  };
  return api;
};

t.test('outbound NAME: DNS gives the address and its TTL; the other family only when this host holds it', async (t) => {
  const api = dnsOf({ 'gw.example.net': [{ address: '198.51.100.1', ttl: 120 }, { address: '2001:db8::1', ttl: 60 }] });
  t.same(await lookupPublic(api, 'gw.example.net', 4, () => false, 10), { addrs: [ip('198.51.100.1')], ttl: 60 }, 'an AAAA this host does not hold is not ours (looked at again at its TTL)');
  t.same(await lookupPublic(api, 'gw.example.net', 4, (a) => a === '2001:db8::1', 10), { addrs: [ip('198.51.100.1'), ip('2001:db8::1')], ttl: 60 }, 'a dual-stack line under one name: the shorter TTL');
  t.same(await lookupPublic(dnsOf({ n: [{ address: '198.51.100.1', ttl: 1 }] }), 'n', 4, () => false, 10), { addrs: [ip('198.51.100.1')], ttl: 5 }, 'at least 5 s between looks');
  t.same(await lookupPublic(dnsOf({}, { gw: ['198.51.100.7'] }), 'gw', 4, () => false, 10), { addrs: [ip('198.51.100.7')], ttl: 10 }, '/etc/hosts (no TTL): looked up again at outbound-check');
  t.same(await lookupPublic(dnsOf({}), 'gone.example', 4, () => false, 10), { addrs: [], ttl: 10 }, 'not resolved: nothing, and again soon');
});

t.test('the watch calls change when the addresses differ, keeps the old ones when nothing is found or the change fails', async (t) => {
  let list: IfAddr[] | null = [ifa('198.51.100.1')];
  const changes: string[] = [];
  let accept = true;
  const rounds: number[] = [];
  const w = new PublicWatch({ name: null, iface: 'm-wan', first: 4, checkSeconds: 3 }, { dns: dnsOf({}), readIface: async () => list, held: () => new Set(['198.51.100.1']) }, [ip('198.51.100.1')], async (now, was) => {
    changes.push(`${was.map((a) => a.addr)} -> ${now.map((a) => a.addr)}`);
    return accept;
  }, (held) => rounds.push(held.size));
  t.equal(await w.check(), 3, 'the next look after outbound-check');
  t.same(changes, [], 'the same address: no change');
  list = [ifa('198.51.100.1', { deprecated: true }), ifa('198.51.100.2')];
  accept = false;
  await w.check();
  t.same(changes, ['198.51.100.1 -> 198.51.100.2'], 'a new address');
  accept = true;
  await w.check();
  t.same(changes.length, 2, 'a change that could not be made is tried again');
  await w.check();
  t.same(changes.length, 2, 'once made, not again');
  list = null;
  await w.check();
  list = [];
  await w.check();
  t.same(changes.length, 2, 'an interface gone or without addresses for a moment: the old address stays');
  t.same(rounds, [1, 1, 1, 1, 1, 1], 'each round reports what the host holds');
  w.stop();
});

// The kernel's word that an address changed (deps.events, rtnetlink in the daemon): a look at
// once, not at outbound-check (an hour here, so only the nudge can bring it); a burst of
// nudges is one look; one during a look brings another after it, never two at once.
t.test('a nudge brings a look at once; a burst is one look; one during a look follows it', async (t) => {
  let list: IfAddr[] = [ifa('198.51.100.1')];
  let looks = 0;
  let running = 0;
  let most = 0;
  let hold: (() => void) | null = null;
  const readIface = async (): Promise<IfAddr[]> => {
    looks++;
    most = Math.max(most, ++running);
    if (hold === null) await new Promise<void>((r) => (hold = r));
    running--;
    return list;
  };
  let nudge: () => void = () => {};
  let stopped = 0;
  const events = (n: () => void): (() => void) => {
    nudge = n;
    return () => void stopped++;
  };
  const changes: string[] = [];
  const w = new PublicWatch({ name: null, iface: 'm-wan', first: 4, checkSeconds: 3600 }, { dns: dnsOf({}), readIface, held: () => new Set(), events }, [ip('198.51.100.1')], async (now) => {
    changes.push(now.map((a) => a.addr).join(','));
    return true;
  });
  w.start();
  t.equal(looks, 0, 'no look at start (the first is at outbound-check)');
  list = [ifa('198.51.100.2')];
  for (let i = 0; i < 50; i++) nudge();
  t.ok(await waitFor(() => looks === 1, 5000, 10), 'fifty nudges: a look');
  nudge(); // during the look: another follows it
  nudge();
  (hold as unknown as () => void)();
  hold = () => {}; // the next looks do not wait
  t.ok(await waitFor(() => looks === 2 && changes.length === 1, 5000, 10), 'the look asked for during the first follows it');
  t.same(changes, ['198.51.100.2'], 'the new address, once');
  t.equal(most, 1, 'never two looks at once');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(looks, 2, 'and no more (the next at outbound-check)');
  w.stop();
  t.equal(stopped, 1, 'stop ends the notifications');
  nudge();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(looks, 2, 'a nudge after stop brings no look');
});

const INVITE = (ruri: string) => `INVITE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=1\r\nTo: <${ruri}>\r\nCall-ID: c1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10:5060>\r\nContent-Length: 0\r\n\r\n`;

t.test('after a change the engine writes the new address and still serves the old one until it is forgotten', async (t) => {
  const { engine: e, masq } = engineOf('inbound 192.0.2.1/24\noutbound 198.51.100.1\nrtp-ports 30000-30099\n');
  const nat = masq!.nat;
  t.same(nat.setPublic(ip('198.51.100.2'), null), ['198.51.100.1'], 'the old address is kept');
  e.map.setOwn('198.51.100.2', true);
  const out = e.handle(INVITE('sip:carol@198.51.100.20'), parseHostPort('192.0.2.10:5060')!, parseHostPort('192.0.2.1:5060')!);
  const send = out.find((a): a is Extract<Action, { type: 'send' }> => a.type === 'send');
  t.equal(send?.from.addr, '198.51.100.2', 'a new call leaves from the new address');
  t.match(send?.data, /Via: SIP\/2.0\/UDP 198\.51\.100\.2:5060;branch=/, 'and names it in Via');
  t.match(send?.data, /Record-Route: <sip:198\.51\.100\.2[;:>]/, 'and in Record-Route');
  t.equal(nat.realmOf('198.51.100.1'), 'wan', 'the old address is still the public side');
  t.ok(masq!.serves('198.51.100.1'), 'served: requests of calls set up on it are taken');
  t.notOk(nat.isLan(ip('198.51.100.1')), 'and never taken for the LAN');
  nat.forget('198.51.100.1');
  t.equal(nat.realmOf('198.51.100.1'), null, 'forgotten once the host no longer holds it');
  t.same(nat.setPublic(ip('198.51.100.2'), ip('2001:db8::1')), [], 'a second family added: nothing replaced');
  t.equal(nat.addrOf('wan', 6).addr, '2001:db8::1');
});

t.test('outbound if:IFACE and outbound-check in the config', async (t) => {
  const c = configOf('inbound 192.0.2.1/24\noutbound if:ppp0\noutbound-check 5\n');
  t.equal(c.outboundIface, 'ppp0');
  t.equal(c.outboundCheck, 5);
  t.equal(c.outbound, null, 'read by the daemon at start');
  const err = (s: string): string => {
    try {
      validate(parseConfig(s, 'f.conf'));
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };
  t.equal(err('inbound 192.0.2.1\noutbound if:bad/name'), 'f.conf:2: "bad/name" is not an interface name');
  t.match(err('inbound 192.0.2.1\noutbound if:ppp0\noutbound 198.51.100.1'), /outbound is given again \(first at f\.conf:2\); once per family, a name or an interface once/);
  t.match(err('inbound 192.0.2.1\noutbound 198.51.100.1\noutbound-check 5'), /outbound-check serves outbound NAME, outbound if:IFACE or advertise LOCAL NAME/);
  t.match(err('inbound 192.0.2.1\noutbound if:ppp0\noutbound-check 0'), /out of range 1-3600/);
});
