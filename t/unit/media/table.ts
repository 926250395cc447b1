import t from 'tap';
import { MediaTable, MAX_STREAMS_PER_CALL } from '../../../src/media/table.js';

const party = { addr: '192.0.2.10', rtp: 4000, rtcp: 4001, mux: false };

t.test('even RTP port, odd RTCP partner, round robin, exhaustion, release', async (t) => {
  const opened: number[] = [];
  const closed: string[] = [];
  const m = new MediaTable([20001, 20008], () => 7, { open: (s) => opened.push(s.port), close: (s, why) => closed.push(`${s.port}:${why}`) });
  t.equal(m.capacity, 3, 'pairs 20002/3, 20004/5, 20006/7');
  t.equal(m.update('a', 0, 4, party), 20002);
  t.equal(m.update('a', 0, 6, { ...party, addr: '2001:db8::5' }), 20002, 'the answer completes the same session');
  t.equal(m.update('b', 0, 4, party), 20004);
  t.equal(m.update('c', 0, 4, party), 20006);
  t.equal(m.update('d', 0, 4, party), 'exhausted', 'exhausted');
  t.equal(m.release('b', 'bye'), 1);
  t.equal(m.update('d', 0, 4, party), 20004, 'a released pair is reused');
  t.same(opened, [20002, 20004, 20006, 20004]);
  t.same(closed, ['20004:bye']);
  const s = m.get('a', 0)!;
  t.equal(s.party6?.addr, '2001:db8::5');
  t.equal(s.created, 7);
  t.equal(m.portsInUse, 3);
});

t.test('streams per call are limited', async (t) => {
  const m = new MediaTable([20000, 29999]);
  for (let i = 0; i < MAX_STREAMS_PER_CALL; i++) t.ok(m.update('x', i, 4, party));
  t.equal(m.update('x', MAX_STREAMS_PER_CALL, 4, party), 'too-many-streams');
});

t.test('rtp-quota holds per source, and an IPv6 source is its /64 (SPEC 11: one host has them all)', async (t) => {
  const m = new MediaTable([20000, 20999], () => 0, {}, 2); // two streams a stranger source
  const from = (signal: string, trusted = false) => ({ ...party, signal, trusted });
  t.equal(typeof m.update('a', 0, 6, from('2001:db8:5::1')), 'number');
  t.equal(typeof m.update('b', 0, 6, from('2001:db8:5::2')), 'number', 'another address of that /64: the second of two');
  t.equal(m.update('c', 0, 6, from('2001:db8:5::ffff:3')), 'source-quota', 'a third address of the /64 is over the quota');
  t.equal(typeof m.update('c', 0, 6, from('2001:db8:5:1::1')), 'number', 'the next /64 is another source');
  t.equal(typeof m.update('d', 0, 4, from('192.0.2.10')), 'number');
  t.equal(typeof m.update('e', 0, 4, from('192.0.2.11')), 'number', 'IPv4: each address is a source');
  t.equal(typeof m.update('f', 0, 6, from('2001:db8:5::9', true)), 'number', 'a configured party has no quota');
  m.release('a', 'bye');
  t.equal(typeof m.update('g', 0, 6, from('2001:db8:5::7')), 'number', 'a released stream gives the /64 its place back');
  t.equal(m.update('h', 0, 6, from('2001:db8:5::8')), 'source-quota');
});

t.test('legs of a call that comes back through the proxy (SPEC 6)', async (t) => {
  const table = new MediaTable([20000, 20099]);
  const party = { addr: '192.0.2.10', rtp: 4000, rtcp: 4001, mux: false, signal: '192.0.2.10' };
  t.equal(table.legKey('c', 'a b'), 'c', 'the first leg is the Call-ID');
  table.update('c', 0, 4, party, null, 'a b');
  t.equal(table.get('c', 0)?.via, 'a b', 'a stream remembers the leg that made it');
  const k2 = table.newLeg('c', 'a d');
  t.equal(k2, 'c leg2');
  t.equal(table.legKey('c', 'a d'), 'c', 'a leg that holds no stream yet is no leg: another message on its addresses meets the first leg');
  const v6 = { ...party, addr: '2001:db8::2', signal: '2001:db8:1::5' };
  table.update(k2 as string, 0, 6, v6, null, 'a d');
  t.equal(table.legKey('c', 'a d'), 'c leg2', 'found again by its addresses once it holds a stream');
  t.equal(table.legKey('c', 'x y'), 'c', 'unknown addresses: the first leg');
  t.equal(table.newLeg('c', 'x y'), 'c leg3', 'a leg that made no stream');
  t.equal(table.newLeg('c', 'x y'), 'c leg4', 'is no leg, and holds no place (made again)');
  for (const [via, want] of [['e f', 'c leg5'], ['g h', 'c leg6']]) {
    const k = table.newLeg('c', via);
    t.equal(k, want);
    table.update(k as string, 0, 6, v6, null, via);
  }
  t.equal(table.newLeg('c', 'i j'), null, 'at most four legs (SPEC 11)');
  table.release(k2 as string, 'bye');
  t.equal(table.legKey('c', 'a d'), 'c', 'a leg whose streams are gone is forgotten');
  t.equal(table.newLeg('c', 'k l'), 'c leg7', 'and its place taken by a leg of a new name');
  table.release('c', 'bye');
  t.equal(table.legKey('c', 'k l'), 'c', 'the first leg gone: later legs that never held a stream go with it');
});
