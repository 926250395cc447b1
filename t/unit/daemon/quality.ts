// Quality figures and verdicts (issue 19), pure: RFC 3550 A.1/A.3 loss, A.8 jitter, the verdicts.
import t from 'tap';
import { newQuality, observe, report } from '../../../src/daemon/quality.js';
import { verdictOf } from '../../../src/daemon/verdict.js';
import { fromFigures } from '../../../src/daemon/quality.js';

const rtp = (seq: number, ts: number): Buffer => {
  const b = Buffer.alloc(12);
  b[0] = 0x80;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  return b;
};

t.test('jitter: 0 for packets on time, about the spread for packets that wobble; the clock rate learnt', async (t) => {
  const even = newQuality();
  for (let i = 0; i < 100; i++) observe(even, false, rtp(i, i * 160), i * 20000);
  t.equal(report(even, 100 * 20000).jitterMs, 0, 'G.711 every 20 ms: no jitter');
  t.equal(even.rate, 8000);
  const wobble = newQuality();
  for (let i = 0; i < 500; i++) observe(wobble, false, rtp(i, i * 960), i * 20000 + (i % 2) * 4000);
  t.equal(wobble.rate, 48000, 'Opus: 960 a packet every 20 ms is 48 kHz');
  const j = report(wobble, 0).jitterMs;
  t.ok(j > 3 && j < 4.5, `4 ms of wobble every other packet: about 4 ms of jitter (${j})`);
  const late = newQuality();
  for (const [seq, at] of [[0, 0], [2, 40000], [1, 60000], [3, 60000]]) observe(late, false, rtp(seq, seq * 160), at);
  t.match(report(late, 60000), { expected: 4, lost: 0 }, 'reordered: nothing lost');
  const restart = newQuality();
  for (let i = 0; i < 5; i++) observe(restart, false, rtp(0xf000 + i, (0xf000 + i) * 160), i * 20000);
  for (let i = 0; i < 50; i++) if (i !== 10) observe(restart, false, rtp(i, i * 160), 100000 + i * 20000);
  t.match(report(restart, 0), { expected: 50, lost: 1 }, 'a jump past MAX_DROPOUT starts the count again (RFC 3550 A.1): probes then media, one lost');
  t.ok(report(restart, 0).jitterMs < 1, 'and no jitter from the jump');
  const notRtp = newQuality();
  observe(notRtp, false, Buffer.from('hello, this is not rtp'), 1000);
  observe(notRtp, false, Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), 1000); // RTCP SR on a muxed port
  t.match(report(notRtp, 3000), { packets: 2, expected: 0, lost: 0, idleMs: 2 }, 'counted, not measured');
});

const q = (packets: number, idleMs: number | null, foreign = 0) => fromFigures(packets, packets * 172, packets, packets, 0.5, idleMs ?? -1, foreign, foreign ? { addr: '198.51.100.7', port: 4000 } : null);
const names = ['IPv4', 'IPv6'] as const;

t.test('verdicts', async (t) => {
  const v = (held: boolean, ageMs: number, a: ReturnType<typeof q>, b: ReturnType<typeof q>) => verdictOf({ held, ageMs, q: [a, b], parties: ['192.0.2.10:4000', '[2001:db8::20]:5000'] }, names);
  t.same(v(false, 20000, q(500, 20), q(500, 15)), { kind: 'ok', text: 'ok' });
  t.same(v(true, 20000, q(0, null), q(0, null)), { kind: 'held', text: 'held' });
  t.same(v(false, 12000, q(600, 20), q(0, null)), { kind: 'one-way', text: 'one-way: no media from the IPv6 party for 12 s while the IPv4 party sends' });
  t.same(v(false, 60000, q(600, 20), q(300, 30000)), { kind: 'one-way', text: 'one-way: no media from the IPv6 party for 30 s while the IPv4 party sends' }, 'it stopped half a minute ago');
  t.same(v(false, 2000, q(100, 20), q(0, null)), { kind: 'waiting', text: 'waiting for media from the IPv6 party' }, 'a young stream: not yet');
  t.same(v(false, 9000, q(0, null), q(0, null)), { kind: 'no-media', text: 'no media at all' });
  t.same(v(false, 60000, q(10, 40000), q(10, 41000)), { kind: 'no-media', text: 'no media either way for 40 s' });
  t.same(v(false, 9000, q(0, null, 40), q(300, 10)), { kind: 'never-latched', text: 'never latched: packets for the IPv4 side arrive only from 198.51.100.7:4000, not the party\'s address (192.0.2.10:4000); only rtp-latch any would accept it' });
  t.match(verdictOf({ held: false, ageMs: 9000, q: [q(300, 10), fromFigures(0, 0, 0, 0, 0, -1, 5, { addr: '2001:db8::99', port: 5000 })], parties: ['192.0.2.10:4000', '[2001:db8::20]:5000'] }, names).text, /rtp-latch prefix would accept it/, 'an IPv6 source of the party\'s /64');
});
