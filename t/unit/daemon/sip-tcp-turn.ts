// SPEC 11: a connection that keeps its socket full does not hold the event loop. libuv reads
// a readable TCP socket up to 32 times 64 KiB in one turn of the loop, so one peer's 2 MiB
// went through the engine before any other socket was read: at 5,000 calls/s over TCP
// (bench/sip) the IPv6 UDP socket's queue overflowed meanwhile and dropped 11,539 datagrams,
// responses and BYEs of calls in progress; a stranger's flood would do the same to everyone.
// Real sockets on loopback: 4 MiB written at once is handled over many turns, every message.
import t, { Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { type ConnectionBudget, READ_TURN_BYTES } from '../../../src/daemon/tcp-limits.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

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
  }, { transport: 'tcp', idleMs: 10000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 25, maxPerSource: 8, maxPerDestination: 4, budget });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  const msg = (n: number): string => `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt${n}\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: t${n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  let total = 0;
  let bytes = 0;
  const parts: string[] = [];
  while (bytes < 4 << 20) bytes += parts[parts.push(msg(total++)) - 1].length;
  // The peer is another process, so that its 4 MiB reach the kernel whatever our loop does (a
  // peer in this process writes only as our loop lets it: a turn then held what the last wrote).
  const data = join(t.testdir(), 'burst');
  writeFileSync(data, parts.join(''));
  const peer = spawn(process.execPath, ['-e', `const s = require('net').connect(${port}, '127.0.0.1', () => s.write(require('fs').readFileSync(process.argv[1]))); s.resume(); s.on('error', () => {}); s.on('close', () => process.exit(0)); setTimeout(() => process.exit(1), 30000);`, data], { stdio: 'ignore' });
  t.teardown(() => peer.kill());
  await waitFor(() => handled === total, 25000, 10);
  const bound = Math.ceil((2 * READ_TURN_BYTES) / parts[0].length) + 1; // a turn's own read, and the one held for it
  await new Promise((r) => setImmediate(r)); // the last wait, if any, ends at this check phase
  return { perTurn, bound, handled, total, open: peer.exitCode === null, mostWaiting, waitingAfter: budget.waitingTurn ?? 0 };
}

t.test('4 MiB written at once: at most about READ_TURN_BYTES handled a turn, every message handled', async (t) => {
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
