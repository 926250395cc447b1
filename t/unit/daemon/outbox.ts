// A read's sends go out together (src/daemon/outbox.ts): the outbox's own rules, the addon's
// SIP sockets under sipHold (one sendmmsg a socket after the last hold), and a TCP
// connection's answers to one read's messages in one write (Node's cork), counted in the
// kernel's own segment count. Real sockets on loopback.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Action } from '../../../src/core/types.js';
import { errnoName, loadNative } from '../../../src/daemon/datapath-native.js';
import { createLogger } from '../../../src/daemon/log.js';
import { Outbox } from '../../../src/daemon/outbox.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { udpPeer } from '../../lib/udp-peer.js';
import { engineOf } from '../../lib/engine.js';

t.test('the outbox: hooks at the outermost hold, closes on a throw, every close runs', (t) => {
  const o = new Outbox();
  const seen: string[] = [];
  o.hook(() => seen.push('open'), () => seen.push(`close ${o.holding}`));
  o.hook(null, () => {
    seen.push('second');
    throw new Error('a hook that fails');
  });
  o.hook(null, () => seen.push('third'));
  t.notOk(o.holding);
  t.throws(() => o.run(() => {
    seen.push(`in ${o.holding}`);
    o.run(() => seen.push('nested'));
    seen.push('after nested');
  }), /a hook that fails/, 'a close hook\'s error comes out after the others ran');
  t.same(seen, ['open', 'in true', 'nested', 'after nested', 'close false', 'second', 'third'], 'one open and one close for the nested holds');
  t.notOk(o.holding);
  const p = new Outbox();
  let closed = 0;
  p.hook(null, () => closed++);
  t.throws(() => p.run(() => {
    throw new Error('the handler');
  }), /the handler/);
  t.equal(closed, 1, 'a handler that throws still lets go');
  t.notOk(p.holding);
  t.end();
});

t.test('sipHold: sipSend queues until the last hold closes; failures reported then', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const port = await freePort();
  const reports: string[] = [];
  const h = addon.sipOpen(4, port, (...list) => void (typeof list[0] === 'number' && reports.push(`${errnoName(-list[0])} ${list[1]}`)), '127.0.0.2');
  t.type(h, 'object');
  t.teardown(() => addon.sipClose(h));
  const { port: cport, back } = await udpPeer(t);
  t.equal(addon.sipHold(true), 1, 'one hold open');
  t.equal(addon.sipHold(true), 2, 'two');
  t.same([addon.sipSend(h, 'one', '127.0.0.2', '127.0.0.1', cport), addon.sipSend(h, 'x', '127.0.0.2', '255.255.255.255', 9), addon.sipSend(h, 'two', '127.0.0.2', '127.0.0.1', cport)], [3, 1, 3], 'queued: each returns its length');
  t.equal(addon.sipHold(false), 1, 'the inner hold closes: nothing sent yet');
  await new Promise((r) => setTimeout(r, 50));
  t.same(back.map(String), [], 'nothing arrived while a hold is open');
  t.equal(addon.sipHold(false), 0, 'the last closes');
  t.same(reports, ['EACCES 1'], 'the refused one reported to its socket\'s callback, at once');
  t.ok(await waitFor(() => back.length === 2, 5000), 'the others arrive');
  t.same(back.map(String), ['one', 'two'], 'in order');
  t.equal(addon.sipHold(false), 0, 'a close with none open does nothing');
  t.equal(addon.sipSend(h, 'x', '127.0.0.2', '255.255.255.255', 9), -13, 'no hold: sent at once, -EACCES returned');
  t.throws(() => (addon.sipHold as (...a: unknown[]) => number)(), TypeError, 'sipHold() needs its flag');
});

/** Segments the kernel sent on loopback connections from `port` (ss's segs_out). */
function segsOut(port: number): number {
  const r = spawnSync('ss', ['-Htin', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/segs_out:(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

t.test('tcp: the answers to one read\'s messages go out in one write', async (t) => {
  t.equal(spawnSync('ss', ['-V']).status, 0, 'ss (iproute2) is here');
  const answers = async (outbox: Outbox | undefined): Promise<{ got: string[]; segs: number }> => {
    const port = await freePort();
    const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\nflood-limit 1000000\nanswer-limit 1000000\n`);
    const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
    const tcp: SipTcp = new SipTcp(engine, createLogger('plain', 'error'), (acts: Action[]) => {
      for (const a of acts) if (a.type === 'send') tcp.send(a);
    }, { transport: 'tcp', outbox, idleMs: 60000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 60000, maxUnsentPerConnection: 1 << 20, maxPerSource: 8, maxPerDestination: 4, budget });
    await tcp.start([parseIp('127.0.0.1')!], port);
    t.teardown(() => tcp.close());
    const s = net.connect({ host: '127.0.0.1', port });
    t.teardown(() => s.destroy());
    let text = '';
    s.on('data', (d) => (text += d.toString('latin1')));
    await new Promise((r) => s.once('connect', r));
    const before = segsOut(port);
    // Twenty OPTIONS with Max-Forwards 0 in one write: each answered 483 by the proxy.
    s.write(Array.from({ length: 20 }, (_, i) => `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5090;branch=z9hG4bKo${i}\r\nMax-Forwards: 0\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: o${i}\r\nCSeq: ${i + 1} OPTIONS\r\nContent-Length: 0\r\n\r\n`).join(''));
    await waitFor(() => (text.match(/SIP\/2\.0 483 /g) ?? []).length === 20, 5000, 5);
    return { got: [...text.matchAll(/CSeq: (\d+) OPTIONS/g)].map((m) => m[1]), segs: segsOut(port) - before };
  };
  const held = await answers(new Outbox());
  t.same(held.got, Array.from({ length: 20 }, (_, i) => String(i + 1)), 'with the outbox: all twenty, in order');
  const alone = await answers(undefined);
  t.same(alone.got, held.got, 'without it: the same');
  // The kernel's count: 20 writes with Nagle off (SIP over TCP sets noDelay on the ones it
  // opens; accepted ones too) against one; acknowledgements add a few to both.
  t.ok(held.segs < 8, `with the outbox, ${held.segs} segments`);
  t.ok(alone.segs >= 15, `without, ${alone.segs} segments`);
});
