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
