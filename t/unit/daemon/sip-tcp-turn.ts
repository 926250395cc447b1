// SPEC 11: a connection that keeps its socket full does not hold the event loop. libuv reads
// a readable TCP socket up to 32 times 64 KiB in one turn of the loop, so one peer's 2 MiB
// went through the engine before any other socket was read: at 5,000 calls/s over TCP
// (bench/sip) the IPv6 UDP socket's queue overflowed meanwhile and dropped 11,539 datagrams,
// responses and BYEs of calls in progress; a stranger's flood would do the same to everyone.
// Real sockets on loopback: 4 MiB written at once is handled over many turns, every message.
import t, { Test } from 'tap';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { type ConnectionBudget, READ_TURN_MESSAGES, READ_TURN_MESSAGES_UDP_BEHIND } from '../../../src/daemon/tcp-limits.js';
import { SipUdp } from '../../../src/daemon/sip-udp.js';
import { currentTurn, FULL_READ, udpBehind } from '../../../src/daemon/turn.js';
import { parseIp } from '../../../src/net/addr.js';
import { R } from '../../../src/sip/reasons.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

const tcpOptions = (budget: ConnectionBudget) => ({ transport: 'tcp' as const, idleMs: 10000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 25, maxPerSource: 8, maxPerDestination: 4, budget });
const options = (port: number, id: string): string => `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK${id}\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

/** 4 MiB of OPTIONS written at once to `port` by a peer in another process, so that they reach
 *  the kernel whatever our loop does (a peer in this process writes only as our loop lets it:
 *  a turn then held what the last wrote). */
function writer(t: Test, port: number, tag: string): { total: number; peer: ReturnType<typeof spawn> } {
  let total = 0;
  let bytes = 0;
  const parts: string[] = [];
  while (bytes < 4 << 20) bytes += parts[parts.push(options(port, `${tag}${total++}`)) - 1].length;
  const data = join(t.testdir(), 'burst');
  writeFileSync(data, parts.join(''));
  const peer = spawn(process.execPath, ['-e', `const s = require('net').connect(${port}, '127.0.0.1', () => s.write(require('fs').readFileSync(process.argv[1]))); s.resume(); s.on('error', () => {}); s.on('close', () => process.exit(0)); setTimeout(() => process.exit(1), 30000);`, data], { stdio: 'ignore' });
  t.teardown(() => peer.kill());
  return { total, peer };
}

/** A peer in another process writes 4 MiB of OPTIONS at once; the messages handled in each loop turn. */
async function burst(t: Test, maxWaitingTurn?: number): Promise<{ perTurn: Map<number, number>; bound: number; handled: number; total: number; open: boolean; mostWaiting: number; waitingAfter: number }> {
  const port = await freePort();
  const { engine } = engineOf(`flood-limit 1000000\ngeneric4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  let mostWaiting = 0; // connections waiting for their turn, the most the budget counted
  const budget = new Proxy<ConnectionBudget>({ open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25, maxWaitingTurn }, {
    set(o, k, v) {
      if (k === 'waitingTurn') mostWaiting = Math.max(mostWaiting, v as number);
      return Reflect.set(o, k, v);
    },
  });
  // The loop's turns, counted as the check phase (setImmediate) passes; messages handled in each.
  let turn = 0;
  let ticking = false;
  const perTurn = new Map<number, number>();
  let handled = 0;
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => {
    handled++;
    perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    if (!ticking) {
      ticking = true;
      setImmediate(() => {
        turn++;
        ticking = false;
      });
    }
  }, tcpOptions(budget));
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  const { total, peer } = writer(t, port, 't');
  await waitFor(() => handled === total, 25000, 10);
  const bound = READ_TURN_MESSAGES;
  await new Promise((r) => setImmediate(r)); // the last wait, if any, ends at this check phase
  return { perTurn, bound, handled, total, open: peer.exitCode === null, mostWaiting, waitingAfter: budget.waitingTurn ?? 0 };
}

t.test('4 MiB written at once: at most READ_TURN_MESSAGES handled a turn, every message handled', async (t) => {
  const { perTurn, bound, handled, total, open, mostWaiting, waitingAfter } = await burst(t);
  t.equal(handled, total, 'every message handled');
  const most = Math.max(...perTurn.values());
  t.ok(most <= bound, `at most ${bound} messages a turn: ${most}, over ${perTurn.size} turns`);
  t.equal(mostWaiting, 1, 'it waited for its turn, counted in the budget');
  t.equal(waitingAfter, 0, 'and the count went back to 0');
  t.ok(open, 'the connection stays open');
});

// SPEC 11: each waiting connection holds one read (64 KiB) until the check phase; past
// maxWaitingTurn of them at once, a connection reads on as libuv gives it. At 0, all do.
t.test('past maxWaitingTurn waiting connections, a connection reads on', async (t) => {
  const { handled, total, mostWaiting } = await burst(t, 0);
  t.equal(mostWaiting, 0, 'no connection waited');
  t.equal(handled, total, 'every message handled all the same');
});

// What a connection framed beyond its turn's share waits in its queue: it is handled all the
// same when the stream then breaks (the messages before a framing error go through, as they
// did before the share) and when the peer closes its connection before their turn comes.
for (const end of ['a message without Content-Length', 'the peer closes']) {
  t.test(`more than a turn's share framed at once, then ${end}: every message handled`, async (t) => {
    const port = await freePort();
    const { engine } = engineOf(`flood-limit 1000000\ngeneric4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
    const budget: ConnectionBudget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
    let handled = 0;
    const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => handled++, tcpOptions(budget));
    await tcp.start([parseIp('127.0.0.1')!], port);
    t.teardown(() => tcp.close());
    const total = 3 * READ_TURN_MESSAGES;
    let data = '';
    for (let n = 0; n < total; n++) data += options(port, `q${n}`);
    const broken = end.startsWith('a message');
    if (broken) data += `OPTIONS sip:127.0.0.1 SIP/2.0\r\nCall-ID: x\r\n\r\n`;
    let closed = false;
    const s = net.connect(port, '127.0.0.1', () => (broken ? s.write(data) : s.end(data)));
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    s.resume();
    t.teardown(() => s.destroy());
    await waitFor(() => handled === total && (closed || !broken), 10000, 10);
    t.equal(handled, total, 'every message before the end handled');
    if (broken) {
      t.ok(closed, 'the broken stream is closed');
      t.equal(engine.counters.get(`drop:${R.streamWithoutContentLength.code}`), 1, 'and counted');
    }
  });
}

// turn.ts: UDP has no flow control and TCP has, so while a UDP socket reads whole batches
// (more may wait in its queue, and what the queue cannot hold is lost), a connection handles
// READ_TURN_MESSAGES_UDP_BEHIND a turn, not READ_TURN_MESSAGES; never none. Real sockets: a
// process floods the UDP socket (bounded: 3 s, 300,000 datagrams, loopback) while another
// writes 4 MiB on a connection; sip-io native and js.
for (const io of ['native', 'js'] as const) {
  t.test(`sip-io ${io}: while a UDP socket is behind, a connection handles its smaller share`, async (t) => {
    const port = await freePort();
    const { engine } = engineOf(`flood-limit 1000000\ngeneric4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
    const budget: ConnectionBudget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
    const tcpPerTurn = new Map<number, { n: number; behind: boolean }>(); // by turn.ts's turn: messages, and whether UDP was behind at each
    let tcpHandled = 0;
    let udpHandled = 0;
    const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => {
      tcpHandled++;
      const k = currentTurn();
      const e = tcpPerTurn.get(k) ?? { n: 0, behind: true };
      tcpPerTurn.set(k, { n: e.n + 1, behind: e.behind && udpBehind() });
    }, tcpOptions(budget));
    const udp = new SipUdp(engine, createLogger('plain', 'error'), () => udpHandled++, io);
    await tcp.start([parseIp('127.0.0.1')!], port);
    await udp.start([parseIp('127.0.0.1')!], port);
    t.teardown(() => {
      tcp.close();
      udp.close();
    });
    const flooder = spawn(process.execPath, ['-e', `const s = require('dgram').createSocket('udp4'); const m = Buffer.from(${JSON.stringify(options(port, 'f').replace('TCP', 'UDP'))}); let n = 0; const end = Date.now() + 3000;
      const go = () => { for (let i = 0; i < 200 && n < 300000; i++, n++) s.send(m, ${port}, '127.0.0.1'); if (n < 300000 && Date.now() < end) setImmediate(go); else s.close(); }; go();`], { stdio: 'ignore' });
    t.teardown(() => flooder.kill());
    await waitFor(() => udpHandled > 1000, 10000, 5); // the flood is on
    const { total } = writer(t, port, 'u');
    await waitFor(() => tcpHandled === total, 25000, 10);
    const behind = [...tcpPerTurn.values()].filter((e) => e.behind);
    const free = [...tcpPerTurn.values()].filter((e) => !e.behind);
    t.ok(behind.length > 0, `turns with UDP behind while the connection was served: ${behind.length} of ${tcpPerTurn.size}`);
    const most = Math.max(...behind.map((e) => e.n));
    t.ok(most <= READ_TURN_MESSAGES_UDP_BEHIND, `at most ${READ_TURN_MESSAGES_UDP_BEHIND} messages in those turns: ${most}`);
    t.ok(Math.max(0, ...free.map((e) => e.n)) <= READ_TURN_MESSAGES, `at most ${READ_TURN_MESSAGES} in the others`);
    t.equal(tcpHandled, total, 'every message of the connection handled');
    t.ok((engine.counters.get(FULL_READ) ?? 0) > 0, `the full reads counted (sipproxy64_sip_udp_full_reads_total): ${engine.counters.get(FULL_READ)}`);
  });
}
