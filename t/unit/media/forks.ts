// The open branches of calls' first INVITEs (src/media/forks.ts, RFC 3261 16.7).
import t from 'tap';
import { Forks } from '../../../src/media/forks.js';

t.test('a call\'s media goes with the last open branch; only the first branch\'s hop opens more (SPEC 11)', async (t) => {
  const f = new Forks();
  t.equal(f.end('c1', 'b1'), true, 'a branch of a call with none recorded is the last');
  f.open('c1', 'b1', '2001:db8:1::5');
  f.open('c1', 'b2', '2001:db8:1::5');
  f.open('c1', 'b1', '2001:db8:1::5'); // a retransmission
  f.open('c1', 'bx', '192.0.2.66'); //    a stranger's INVITE with the live Call-ID
  t.equal(f.end('c1', 'b1'), false, 'the first branch ends, the second still rings');
  t.equal(f.end('c1', 'bx'), false, 'the stranger\'s branch was never one of the call\'s');
  t.equal(f.end('c1', 'b2'), true, 'the last branch ends');
  t.equal(f.size, 0, 'and nothing of the call stays');
  for (let i = 0; i < 40; i++) f.open('c2', `b${i}`, 'h');
  let open = 0;
  for (let i = 0; i < 40; i++) if (!f.end('c2', `b${i}`)) open++;
  t.equal(open, 15, 'at most 16 branches a call are counted; the rest end nothing early');
});
