// rtpengine's ng protocol (issue 18): bencode both ways, malformed input refused, the engine of
// a call by rendezvous hashing (the same for every instance; only a gone engine's calls move).
import t from 'tap';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { bdecode, bencode, NgClient, rank } from '../../../src/daemon/ng.js';
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
  // An answer's key "__proto__" must not become the dictionary's prototype (it would lend
  // the answer a result it does not have).
  const [proto] = bdecode('d9:__proto__d6:result2:okee') as [Record<string, unknown>, number];
  t.equal(proto.result, undefined, 'a "__proto__" key gives no inherited result');
  t.same(Object.keys(proto), ['__proto__'], 'it is an ordinary key');
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

t.test('the client takes an answer only from the engine asked, under its cookie (SPEC 11)', async (t) => {
  const engine = dgram.createSocket('udp4');
  const stranger = dgram.createSocket('udp4');
  t.teardown(() => { engine.close(); stranger.close(); });
  engine.bind(0, '127.0.0.1');
  stranger.bind(0, '127.0.0.1');
  await Promise.all([once(engine, 'listening'), once(stranger, 'listening')]);
  const port = engine.address().port;
  let ignored = 0;
  const client = new NgClient([{ addr: '127.0.0.1', family: 4, port }], { timeoutMs: 2000, tries: 1, downMs: 1000, onIgnored: () => ignored++ });
  t.teardown(() => client.close());
  const cookies: string[] = [];
  // The engine: the stranger learns each request (as an on-path attacker would) and answers
  // first with an SDP of its choosing; the engine's own answer follows.
  engine.on('message', (msg, rinfo) => {
    const cookie = msg.toString('latin1').split(' ')[0];
    cookies.push(cookie);
    stranger.send(`${cookie} d6:result2:ok3:sdp9:c=STRANGEe`, rinfo.port, rinfo.address, () => {
      stranger.send(`${cookie} d6:result2:ok3:sdp6:c=OURSe`, rinfo.port, rinfo.address, () => {
        engine.send(`${cookie} d6:result2:ok3:sdp6:c=OURSe`, rinfo.port, rinfo.address);
      });
    });
  });
  const r = await client.request('call-1', { command: 'offer', 'call-id': 'call-1' });
  t.equal(r?.sdp, 'c=OURS', 'the engine\'s answer, not the stranger\'s');
  t.equal(ignored, 2, 'both of the stranger\'s answers counted and ignored');
  const r2 = await client.request('call-2', { command: 'offer', 'call-id': 'call-2' });
  t.equal(r2?.sdp, 'c=OURS');
  t.equal(ignored, 4);
  t.equal(cookies.length, 2);
  t.not(cookies[0].split('_')[1], cookies[1].split('_')[1], 'each request has its own random part');
  t.match(cookies[0], /^\d+_[0-9a-f]{16}$/, 'a counter and 64 random bits');
  // An answer for a cookie nobody awaits (late, or guessed) from the engine's own address is ignored too.
  engine.send(`${cookies[0]} d6:result2:oke`, client['socks'].get(4)!.address().port, '127.0.0.1');
  for (let i = 0; i < 250 && ignored < 5; i++) await new Promise((res) => setTimeout(res, 20)); // bounded: 5 s
  t.equal(ignored, 5, 'a late answer is counted and ignored');
});

t.test('a query that no engine holds while another was silent is not known either way (null); an offer gets the error', async (t) => {
  const answering = dgram.createSocket('udp4');
  const silent = dgram.createSocket('udp4');
  t.teardown(() => { answering.close(); silent.close(); });
  answering.bind(0, '127.0.0.1');
  silent.bind(0, '127.0.0.1');
  await Promise.all([once(answering, 'listening'), once(silent, 'listening')]);
  answering.on('message', (msg, rinfo) => answering.send(`${msg.toString('latin1').split(' ')[0]} d6:result5:error12:error-reason15:Unknown call-ide`, rinfo.port, rinfo.address));
  const client = new NgClient([answering, silent].map((s) => ({ addr: '127.0.0.1', family: 4 as const, port: s.address().port })), { timeoutMs: 200, tries: 1, downMs: 1000 });
  t.teardown(() => client.close());
  t.equal(await client.request('c', { command: 'query', 'call-id': 'c' }), null, 'query: the silent engine may hold it');
  t.match(await client.request('c', { command: 'offer', 'call-id': 'c' }), { result: 'error', 'error-reason': 'Unknown call-id' }, 'an offer: the answering engine\'s error');
  const one = new NgClient([{ addr: '127.0.0.1', family: 4, port: answering.address().port }], { timeoutMs: 200, tries: 1, downMs: 1000 });
  t.teardown(() => one.close());
  t.match(await one.request('c', { command: 'query', 'call-id': 'c' }), { result: 'error' }, 'every engine answered: the error');
});
