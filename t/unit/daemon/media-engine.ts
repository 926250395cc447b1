// media-engine rtpengine in the daemon (issue 18): while an offer is being asked, a phone's
// retransmission of it is dropped and counted (media-engine-busy); the first copy goes on once
// the engine answers, and a copy after that is asked again. A real UDP socket is the engine.
import t, { Test } from 'tap';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { Config } from '../../../src/config/config.js';
import { Engine } from '../../../src/core/engine.js';
import { Action } from '../../../src/core/types.js';
import { MediaEngine } from '../../../src/daemon/media-engine.js';
import { createLogger } from '../../../src/daemon/log.js';
import { Reason } from '../../../src/sip/reasons.js';

const udp = async (): Promise<dgram.Socket> => {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
};
const wait = async (f: () => boolean): Promise<void> => { for (let i = 0; i < 250 && !f(); i++) await new Promise((r) => setTimeout(r, 20)); };

/** A MediaEngine whose one rtpengine is a socket of the test's: what it was asked, what it counted. */
async function withEngine(t: Test) {
  const sock = await udp();
  const asked: { cookie: string; port: number }[] = [];
  sock.on('message', (msg, rinfo) => asked.push({ cookie: msg.toString('latin1').split(' ')[0], port: rinfo.port }));
  const drops: string[] = [];
  const engine = { countDrop: (r: Reason) => drops.push(r.code), count: () => {}, ngSweep: () => [] } as unknown as Engine;
  const cfg = { rtpengines: [{ addr: '127.0.0.1', family: 4, port: sock.address().port }] } as unknown as Config;
  const media = new MediaEngine(cfg, engine, createLogger('plain', 'error', () => {}));
  t.teardown(() => { media.stop(); sock.close(); });
  return { sock, asked, drops, media };
}

t.test('a retransmission while the engine is asked: dropped as media-engine-busy, the first copy goes on', async (t) => {
  const { sock, asked, drops, media } = await withEngine(t);
  await wait(() => asked.length >= 1); // the statistics poll at start
  const answer = (i: number): void => void sock.send(`${asked[i].cookie} d6:result2:ok3:sdp4:v=0\re`, asked[i].port, '127.0.0.1');
  answer(0);
  const delivered: string[] = [];
  const offer: Extract<Action, { type: 'media' }> = { type: 'media', key: 'c1', ng: { command: 'offer', 'call-id': 'c1', 'from-tag': 'a', sdp: 'v=0\r' }, then: (sdp) => (delivered.push(String(sdp)), []) };
  media.handle(offer, () => {});
  await wait(() => asked.length >= 2);
  media.handle(offer, () => {}); // the phone's retransmission, the engine not answered yet
  t.same(drops, ['media-engine-busy'], 'the second copy is dropped and counted');
  t.equal(asked.length, 2, 'and not asked of the engine');
  answer(1);
  await wait(() => delivered.length >= 1);
  t.same(delivered, ['v=0\r'], 'the first copy goes on with the engine\'s SDP');
  media.handle(offer, () => {}); // a copy after the answer: asked again (the engine answers it from its call)
  await wait(() => asked.length >= 3);
  t.equal(asked.length, 3);
  t.same(drops, ['media-engine-busy']);
});

t.test('an answer from a stranger on the ng socket: counted as media-engine-stranger, the engine\'s own still taken', async (t) => {
  const { sock, asked, drops, media } = await withEngine(t);
  const stranger = await udp();
  t.teardown(() => stranger.close());
  await wait(() => asked.length >= 1); // the statistics poll at start
  sock.send(`${asked[0].cookie} d6:result2:oke`, asked[0].port, '127.0.0.1');
  const delivered: string[] = [];
  const offer: Extract<Action, { type: 'media' }> = { type: 'media', key: 'c1', ng: { command: 'offer', 'call-id': 'c1', 'from-tag': 'a', sdp: 'v=0\r' }, then: (sdp) => (delivered.push(String(sdp)), []) };
  media.handle(offer, () => {});
  await wait(() => asked.length >= 2);
  // The stranger knows the cookie (say, it watched the wire) and answers first, from its own port.
  stranger.send(`${asked[1].cookie} d6:result2:ok3:sdp9:v=0\rforge`, asked[1].port, '127.0.0.1');
  await wait(() => drops.length >= 1);
  t.same(drops, ['media-engine-stranger'], 'counted under its reason');
  t.same(delivered, [], 'and not taken');
  sock.send(`${asked[1].cookie} d6:result2:ok3:sdp4:v=0\re`, asked[1].port, '127.0.0.1');
  await wait(() => delivered.length >= 1);
  t.same(delivered, ['v=0\r'], 'the engine\'s own answer goes on');
});

t.test('a sweep\'s query: held() hears ok as held, "Unknown call-id" as gone (the engine\'s own timeout), another error as not known', async (t) => {
  const { sock, asked, media } = await withEngine(t);
  await wait(() => asked.length >= 1); // the statistics poll at start
  const heard: Array<boolean | null> = [];
  const answers = ['d6:result2:oke', 'd6:result5:error12:error-reason15:Unknown call-ide', 'd6:result5:error12:error-reason12:Out of portse'];
  for (const [i, answer] of answers.entries()) {
    media.handle({ type: 'media', key: `q${i}`, ng: { command: 'query', 'call-id': `q${i}` }, held: (k) => heard.push(k) }, () => {});
    await wait(() => asked.length >= i + 2);
    sock.send(`${asked[i + 1].cookie} ${answer}`, asked[i + 1].port, '127.0.0.1');
    await wait(() => heard.length >= i + 1);
  }
  t.same(heard, [true, false, null]);
});
