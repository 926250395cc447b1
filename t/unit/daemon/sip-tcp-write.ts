// SPEC 11: a peer that does not read what the proxy sends it must not grow the proxy's
// memory. Bytes the kernel has not taken are bounded on one connection
// (maxUnsentPerConnection), on all (budget.maxUnsent), and in time (writeMs); past any, the
// connection is closed and counted, and its bytes leave the budget. A peer that reads is
// never touched. Real sockets on loopback; each request is answered 483 with its 200 Vias
// copied (about 11 KB), so a few hundred fill the kernel's buffers.
import t, { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import type { ConnectionBudget } from '../../../src/daemon/tcp-limits.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

const vias = Array.from({ length: 200 }, (_, i) => `Via: SIP/2.0/TCP 127.0.0.1:${10000 + i};branch=z9hG4bKw${i}\r\n`).join('');
const request = (n: number): string =>
  `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n${vias}Max-Forwards: 0\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: w${n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

/** A self-signed key and certificate for SIP over TLS (openssl, as t/e2e/tls.ts makes them). */
function selfSigned(): { key: Buffer; cert: Buffer } {
  const d = mkdtempSync(join(tmpdir(), 'sip-tcp-write-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: d, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    return { key: readFileSync(join(d, 'key.pem')), cert: readFileSync(join(d, 'cert.pem')) };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

async function proxy(t: Test, budget: ConnectionBudget, writeMs: number, perConnection: number, transport: 'tcp' | 'tls' = 'tcp') {
  const port = await freePort();
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\nflood-limit 1000000\nanswer-limit 1000000\n`);
  let answered = 0;
  const tcp: SipTcp = new SipTcp(engine, createLogger('plain', 'error'), (acts: Action[]) => {
    for (const a of acts) if (a.type === 'send') tcp.send(a);
    answered += acts.length;
  }, { transport, tls: transport === 'tls' ? selfSigned() : undefined, idleMs: 60000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs, maxUnsentPerConnection: perConnection, maxPerSource: 8, maxPerDestination: 4, budget });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  return { engine, port, tcp, answered: () => answered };
}

/** A peer; `reads`: takes what it is sent (counting the answers), or never reads. */
async function peer(t: Test, port: number, answered: () => number, reads: boolean, transport: 'tcp' | 'tls' = 'tcp') {
  const s = transport === 'tls' ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  t.teardown(() => s.destroy());
  let answers = 0;
  let text = '';
  if (reads) {
    s.on('data', (d) => {
      text += d.toString('latin1');
      const parts = text.split('SIP/2.0 483 ');
      answers += parts.length - 1;
      text = parts[parts.length - 1];
    });
  } else s.pause();
  // A peer that does not read learns of the close only when it reads again.
  let closed = false;
  s.on('close', () => (closed = true));
  await new Promise((r) => s.once(transport === 'tls' ? 'secureConnect' : 'connect', r));
  /** Send requests, 5 at a time, each batch answered by the proxy before the next (so that
   *  none is still on its way when `until` holds), until `until` or n of them. */
  const send = async (n: number, until: () => boolean): Promise<number> => {
    let sent = 0;
    while (sent < n && !until() && !closed) {
      const base = answered();
      s.write(Array.from({ length: 5 }, (_, i) => request(sent + i)).join(''));
      sent += 5;
      if (!(await waitFor(() => answered() >= base + 5 || until(), 10000, 1))) break;
    }
    return sent;
  };
  /** Read again: the answers that waited arrive, or the close. */
  const resume = (): void => {
    s.on('data', (d) => (answers += d.toString('latin1').split('SIP/2.0 483 ').length - 1));
    s.resume();
  };
  return { s, send, resume, answers: () => answers, closed: () => closed };
}

for (const transport of ['tcp', 'tls'] as const) t.test(`${transport}: a peer that does not read is closed past the bound on its connection; one that reads is not`, async (t) => {
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
  const { engine, port, tcp, answered } = await proxy(t, budget, 60000, 256 * 1024, transport);
  const reader = await peer(t, port, answered, true, transport);
  const mute = await peer(t, port, answered, false, transport);
  t.ok(await waitFor(() => tcp.size === 2, 3000, 10), 'both connected');
  // The kernel's buffers (on loopback up to some MB each way) fill first; then the proxy's own.
  const sent = await mute.send(4000, () => (engine.counters.get('drop:tcp-write-limit') ?? 0) > 0);
  t.ok(await waitFor(() => tcp.size === 1, 5000, 10), `the peer that does not read is closed (after ${sent} requests)`);
  mute.resume();
  t.ok(await waitFor(() => mute.closed(), 5000, 10), 'it learns so when it reads again');
  t.equal(engine.counters.get('drop:tcp-write-limit'), 1, 'counted once (tcp-write-limit)');
  t.ok(await waitFor(() => budget.unsent === 0, 5000, 10), `its bytes left the budget (${budget.unsent} left)`);
  // The same load to a peer that reads: every answer arrives, the connection stays.
  await reader.send(sent, () => false);
  t.ok(await waitFor(() => reader.answers() >= sent, 10000, 10), `the peer that reads got all ${sent} answers (${reader.answers()})`);
  t.notOk(reader.closed(), 'and stays connected');
  t.equal(engine.counters.get('drop:tcp-write-limit'), 1, 'nothing more counted');
});

t.test('bytes that wait writeMs without moving close the connection', async (t) => {
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
  const { engine, port, tcp, answered } = await proxy(t, budget, 1000, 1 << 25);
  const mute = await peer(t, port, answered, false);
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'connected');
  // Just past the kernel's buffers: some bytes wait in the proxy.
  await mute.send(4000, () => budget.unsent > 0);
  t.ok(budget.unsent > 0, `bytes wait (${budget.unsent})`);
  t.ok(await waitFor(() => tcp.size === 0, 5000, 10), 'closed once they waited writeMs');
  t.equal(engine.counters.get('drop:tcp-write-timeout'), 1, 'counted (tcp-write-timeout)');
  t.ok(await waitFor(() => budget.unsent === 0, 5000, 10), 'its bytes left the budget');
});

t.test('on all connections together: the write that would pass maxUnsent closes its connection', async (t) => {
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 300 * 1024 };
  const { engine, port, tcp, answered } = await proxy(t, budget, 60000, 256 * 1024);
  const a = await peer(t, port, answered, false);
  const b = await peer(t, port, answered, false);
  t.ok(await waitFor(() => tcp.size === 2, 3000, 10), 'both connected');
  // a holds up to 256 KiB; b's share of the 300 KiB is what a leaves.
  const sentA = await a.send(4000, () => budget.unsent > 100 * 1024);
  t.ok(await waitFor(() => answered() === sentA, 5000, 10), 'the proxy answered all of a\'s requests');
  const held = budget.unsent;
  t.ok(held > 100 * 1024 && tcp.size === 2, `a holds ${held} bytes, within its own bound`);
  await b.send(4000, () => (engine.counters.get('drop:tcp-write-limit') ?? 0) > 0);
  t.ok(await waitFor(() => tcp.size === 1, 5000, 10), 'b, whose write would pass 300 KiB on all, is closed');
  t.equal(engine.counters.get('drop:tcp-write-limit'), 1, 'counted (tcp-write-limit)');
  t.ok(await waitFor(() => budget.unsent === held, 5000, 10), `b's bytes left the budget (${budget.unsent}, a's ${held})`);
  a.resume();
  t.ok(await waitFor(() => a.answers() === sentA && budget.unsent === 0, 10000, 10), `a, which stayed, gets every answer when it reads (${a.answers()} of ${sentA})`);
  t.notOk(a.closed(), 'and stays connected');
});

t.test('messages waiting for a connection to open are held within the same bounds', async (t) => {
  // A TLS next hop that accepts the TCP connection and never answers the handshake: the
  // proxy's connection stays not open until connectTimeoutMs.
  const silent = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  const port = (silent.address() as net.AddressInfo).port;
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${await freePort()}\nrtp-ports 30000-30099\n`);
  const budget = { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 };
  let unreachable = 0;
  const tcp = new SipTcp(engine, createLogger('plain', 'error', () => {}), () => {}, { transport: 'tls', tls: selfSigned(), idleMs: 60000, connectTimeoutMs: 1500, handshakeMs: 2000, messageMs: 60000, writeMs: 60000, maxUnsentPerConnection: 256 * 1024, maxPerSource: 8, maxPerDestination: 4, budget });
  t.teardown(() => tcp.close());
  const data = 'MESSAGE sip:a@127.0.0.1 SIP/2.0\r\n' + 'X'.repeat(60000);
  for (let i = 0; i < 20; i++) {
    tcp.send({ type: 'send', from: { addr: '127.0.0.1', family: 4, port: 5061 }, to: { addr: '127.0.0.1', family: 4, port }, data, transport: 'tls', unreachable: () => (unreachable++, []) });
  }
  t.equal(engine.counters.get('drop:tcp-write-limit'), 16, 'four wait (256 KiB); the other 16 are counted (tcp-write-limit)');
  t.equal(unreachable, 16, 'and each is told unreachable (its UDP form or a 503)');
  t.equal(budget.unsent, 4 * data.length, 'the four are in the budget');
  t.ok(await waitFor(() => unreachable === 20, 5000, 10), 'the connection never opens: the four are told too');
  t.equal(budget.unsent, 0, 'and leave the budget');
});
