// rtpengine's ng protocol (issue 18): bencode both ways, malformed input refused, the engine of
// a call by rendezvous hashing (the same for every instance; only a gone engine's calls move).
import t from 'tap';
import { bdecode, bencode, rank } from '../../../src/daemon/ng.js';
import { HostPort } from '../../../src/net/addr.js';

t.test('bencode: strings are bytes, keys sorted; decode gives back what was encoded', async (t) => {
  t.equal(bencode({ command: 'offer', 'call-id': 'c1', replace: ['origin', 'session-connection'], n: 5 }), 'd7:call-id2:c17:command5:offer1:ni5e7:replacel6:origin18:session-connectionee');
  t.equal(bencode('é'), '1:é', 'a latin1 string: one byte a character, as sent');
  const v = { sdp: 'v=0\r\nc=IN IP6 2001:db8::3\r\n', result: 'ok', list: ['a', 'b'], d: { x: -3 } };
  t.same(bdecode(bencode(v))[0], v);
});

t.test('bdecode refuses what is malformed, never runs past the end', async (t) => {
  for (const bad of ['', 'i12', 'ie', 'i1.5e', '5:abc', 'd3:abce', 'l', 'di1ei2ee', '999999999:x', 'x', 'd'.repeat(40) + 'e'.repeat(40)]) {
    t.throws(() => bdecode(bad), JSON.stringify(bad.slice(0, 20)));
  }
  t.same(bdecode('d6:result2:oke trailing')[0], { result: 'ok' }, 'one value; what follows is not read');
});

t.test('rank: each call has one first engine, the same for every instance; a gone engine moves only its calls', async (t) => {
  const e = (p: number): HostPort => ({ addr: '127.0.0.1', family: 4, port: p });
  const three = [e(2223), e(2224), e(2225)];
  const firsts = new Map<number, number>();
  const moved = { own: 0, others: 0 };
  for (let i = 0; i < 300; i++) {
    const key = `call-${i}@example.net`;
    const r = rank(three, key);
    t.same(rank([...three].reverse(), key), r, 'independent of the order of the list');
    firsts.set(r[0].port, (firsts.get(r[0].port) ?? 0) + 1);
    const without = rank([e(2223), e(2225)], key)[0];
    if (r[0].port === 2224) moved.own++;
    else if (without.port !== r[0].port) moved.others++;
  }
  for (const p of [2223, 2224, 2225]) t.ok((firsts.get(p) ?? 0) > 60, `engine ${p} is first for about a third of the calls: ${firsts.get(p)}`);
  t.equal(moved.others, 0, 'taking one engine away moves none of the other engines\' calls');
});
