// SPEC 11: a connection that keeps its socket full does not hold the event loop. libuv reads
// a readable TCP socket up to 32 times 64 KiB in one turn of the loop, so one peer's 2 MiB
// went through the engine before any other socket was read: at 5,000 calls/s over TCP
// (bench/sip) the IPv6 UDP socket's queue overflowed meanwhile and dropped 11,539 datagrams,
// responses and BYEs of calls in progress; a stranger's flood would do the same to everyone.
// Real sockets on loopback: 4 MiB written at once is handled over many turns, every message.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/daemon/log.js';
import { READ_TURN_BYTES, SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

t.test('4 MiB written at once: at most about READ_TURN_BYTES handled a turn, every message handled', async (t) => {
  const port = await freePort();
  const { engine } = engineOf(`flood-limit 1000000\ngeneric4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
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
  t.ok(await waitFor(() => handled === total, 25000, 10), `every message handled (${handled} of ${total})`);
  const most = Math.max(...perTurn.values());
  const bound = Math.ceil((2 * READ_TURN_BYTES) / parts[0].length) + 1; // a turn's own read, and the one held for it
  t.ok(most <= bound, `at most ${bound} messages a turn: ${most}, over ${perTurn.size} turns`);
  t.equal(peer.exitCode, null, 'the connection stays open');
});
