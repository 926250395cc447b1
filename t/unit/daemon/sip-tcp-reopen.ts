// RFC 3261 18.2.2 over TCP: a response goes on the connection its request came on while that
// is open; once it has closed, on a new connection to received= and the sent-by port (where
// a server listens), not to rport=, the closed connection's port. Real sockets on loopback.
import t from 'tap';
import net from 'node:net';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

t.test('a response reopens to the sent-by port once its connection has closed', async (t) => {
  const port = await freePort();
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\ntcp yes\nrtp-ports 30000-30099\n`);
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => {}, { transport: 'tcp', idleMs: 10000, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 4, maxPerDestination: 4, budget: { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 } });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  // The peer's server (its sent-by port), and its connection to us from another port.
  let atServer = '';
  const server = net.createServer((s) => s.on('data', (d) => (atServer += d.toString('latin1'))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const sentBy = (server.address() as net.AddressInfo).port;
  const peer = net.connect({ host: '127.0.0.1', port });
  let onConn = '';
  peer.on('data', (d) => (onConn += d.toString('latin1')));
  await new Promise((r) => peer.once('connect', r));
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the peer\'s connection is accepted');
  const rport = peer.localPort!; // what the proxy stamped as rport= on the request's Via
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  const response = (n: number): Extract<Action, { type: 'send' }> => ({ type: 'send', from, to: { addr: '127.0.0.1', family: 4, port: rport }, reopen: { addr: '127.0.0.1', family: 4, port: sentBy }, data: `SIP/2.0 200 OK\r\nX-N: ${n}\r\nContent-Length: 0\r\n\r\n`, transport: 'tcp' });
  tcp.send(response(1));
  t.ok(await waitFor(() => onConn.includes('X-N: 1'), 3000, 10), 'while it is open: on the request\'s connection');
  t.equal(atServer, '', 'not at the sent-by port');
  const closed = new Promise((r) => peer.once('close', r));
  peer.end();
  await closed;
  t.ok(await waitFor(() => tcp.size === 0, 3000, 10), 'the proxy has seen it close');
  tcp.send(response(2));
  t.ok(await waitFor(() => atServer.includes('X-N: 2'), 3000, 10), 'then on a new connection to the sent-by port (RFC 3261 18.2.2)');
  t.notMatch(onConn, 'X-N: 2');
  t.equal(engine.counters.get('tcp-unsent') ?? 0, 0, 'nothing lost');
});
