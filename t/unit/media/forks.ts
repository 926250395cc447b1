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

t.test('after a CANCEL, a branch that never answered at all is not waited for (RFC 3261 9.1)', async (t) => {
  const f = new Forks();
  f.open('c1', 'live', 'h');
  f.open('c1', 'dead', 'h'); // a stale binding: nothing ever comes back on it
  f.heard('c1', 'live'); //     100 Trying, 180 Ringing
  f.open('c1', 'live', 'h'); // a retransmission of its INVITE keeps what was heard
  t.equal(f.end('c1', 'live', true), true, 'the caller gives up: the CANCEL of the live branch ends the call\'s media');
  f.open('c2', 'live', 'h');
  f.open('c2', 'slow', 'h');
  f.heard('c2', 'live');
  t.equal(f.end('c2', 'live'), false, 'a final error on the live branch: the silent one may still answer');
  f.open('c3', 'a', 'h');
  f.open('c3', 'b', 'h');
  f.heard('c3', 'a');
  f.heard('c3', 'b');
  t.equal(f.end('c3', 'a', true), false, 'a CANCEL of one of two ringing branches: the other rings on');
  t.equal(f.end('c3', 'b', true), true, 'and its CANCEL is the last');
  f.open('c4', 'only', 'h'); //  silent, as every branch is before its 100 Trying
  t.equal(f.end('c4', 'strangers', true), false, 'SPEC 11: a CANCEL that ends no branch of the call (a stranger\'s: another Via branch) ends nothing');
  t.equal(f.end('c4', 'only', true), true);
  f.heard('c9', 'x'); // nothing of a call not recorded
  t.equal(f.size, 2, 'c1 (its silent branch remembered) and c2 (ringing on)');
});

t.test('a silent branch a CANCEL left behind: its INVITE\'s retransmissions take no media; a new INVITE starts afresh', async (t) => {
  const f = new Forks();
  f.open('c1', 'live', 'h');
  f.open('c1', 'dead', 'h');
  f.heard('c1', 'live');
  t.equal(f.end('c1', 'live', true), true, 'the CANCEL ends the call\'s media');
  t.equal(f.end('c1', 'live'), true, 'its 487');
  t.ok(f.gone('c1', 'dead'), 'a retransmission on the silent branch is known as such, after the 487 too');
  t.notOk(f.gone('c1', 'live'), 'the cancelled branch itself is not (its INVITE is not retransmitted after a 180)');
  t.equal(f.size, 1, 'the call is remembered (within 100,000 calls)');
  f.open('c1', 'new', 'h'); // a new INVITE transaction with the Call-ID: a call of its own
  t.notOk(f.gone('c1', 'dead'), 'and forgets the old one');
  t.equal(f.end('c1', 'new'), true);
  t.equal(f.size, 0);
});
