// SPEC 11: the bytes of messages not yet complete are bounded on all connections together
// (budget.maxPending): the connection whose read passes the bound is closed and counted, and
// a closed connection's bytes leave the budget; and in time (messageMs): a message must end
// within it of its first byte. Real sockets on loopback.
import t from 'tap';
import net from 'node:net';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

t.test('partial messages on all connections: at most maxPending bytes', async (t) => {
  const port = await freePort();
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  const budget = { open: 0, max: 16, pending: 0, maxPending: 100_000, unsent: 0, maxUnsent: 1 << 25 };
  let delivered = 0;
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), (acts) => (delivered += acts.length), { transport: 'tcp', idleMs: 10000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 8, maxPerDestination: 4, budget });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  // Headers that never end: 40 KB each, held until the message completes.
  const open = async (first = ''): Promise<net.Socket> => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    t.teardown(() => s.destroy());
    await new Promise((r) => s.once('connect', r));
    const before = budget.pending;
    const head = first + 'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nX-Pad: ' + 'x'.repeat(40_000);
    s.write(head);
    // All of it read (it may come in several reads), or the connection closed.
    await waitFor(() => budget.pending >= before + head.length || s.destroyed || s.readableEnded, 3000, 10);
    return s;
  };
  const closed = (s: net.Socket) => waitFor(() => s.readableEnded || s.destroyed, 3000, 10);
  const a = await open();
  const b = await open();
  t.ok(budget.pending > 80_000 && budget.pending <= 100_000, `two hold ${budget.pending} bytes`);
  // The third's read completes a message, then starts one that passes 100,000 bytes.
  const whole = 'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKw\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: w\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
  const c = await open(whole);
  t.ok(await closed(c), 'the third passes 100,000 bytes: closed');
  t.ok(await waitFor(() => delivered === 1, 3000, 10), 'the message its read completed was handled first');
  t.equal(engine.counters.get('drop:tcp-pending-limit'), 1, 'and counted');
  t.ok(await waitFor(() => budget.pending <= 100_000, 3000, 10), `its bytes left the budget (${budget.pending})`);
  t.notOk(a.readableEnded || b.readableEnded, 'the first two stay open');
  a.destroy();
  t.ok(await waitFor(() => budget.pending < 50_000, 3000, 10), 'a closed connection\'s bytes leave the budget');
  const d = await open();
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(d.readableEnded, 'so another may hold as much again');
  t.equal(engine.counters.get('drop:tcp-pending-limit'), 1);
});

t.test('a message must be complete within messageMs of its first byte', async (t) => {
  const port = await freePort();
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
  let delivered = 0;
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), (acts) => (delivered += acts.length), { transport: 'tcp', idleMs: 60000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 1000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 8, maxPerDestination: 4, budget });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  const connect = async (): Promise<net.Socket> => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    t.teardown(() => s.destroy());
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const msg = (n: number) => `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKs${n}\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: s${n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  // Four messages, each cut in two; every read ends one and begins the next, 400 ms apart:
  // 1.2 s in all, but no message takes more than 400 ms.
  const a = await connect();
  const half = (n: number) => msg(n).slice(0, 40);
  const rest = (n: number) => msg(n).slice(40);
  a.write(half(1));
  for (let n = 1; n <= 3; n++) {
    await sleep(400);
    a.write(rest(n) + half(n + 1));
  }
  await sleep(400);
  a.write(rest(4));
  t.ok(await waitFor(() => delivered === 4, 3000, 10), `four messages handled (${delivered})`);
  t.notOk(a.readableEnded || a.destroyed, 'a message ended within 1 s of its first byte: the connection stays');
  t.notOk(engine.counters.get('drop:tcp-read-timeout'), 'none timed out');
  // A byte every 200 ms: the message never ends; closed about 1 s after its first byte.
  const b = await connect();
  const started = Date.now();
  const text = msg(5);
  let i = 0;
  while (!(b.readableEnded || b.destroyed) && i < text.length && Date.now() - started < 8000) {
    b.write(text[i++]);
    await sleep(200);
  }
  t.ok(await waitFor(() => b.readableEnded || b.destroyed, 3000, 10), `the dribbler is closed after ${i} bytes`);
  t.ok(i < text.length, 'before its message ended');
  t.equal(engine.counters.get('drop:tcp-read-timeout'), 1, 'counted as tcp-read-timeout');
  t.ok(await waitFor(() => budget.pending === 0, 3000, 10), 'its bytes left the budget');
  t.equal(delivered, 4);
});
