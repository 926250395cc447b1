// keepalive for a phone on TCP (RFC 5626 4.4.1): a ping goes on the connection the phone
// opened, or nowhere: SipTcp never opens a connection for one. Real sockets on loopback.
import t from 'tap';
import net from 'node:net';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { engineOf } from '../../lib/engine.js';

const freePort = (): Promise<number> => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => res(p));
  });
});

t.test('a ping rides the phone\'s connection; without one it is unreachable at once', async (t) => {
  const { engine } = engineOf('generic4 127.0.0.1\ngeneric6 ::1\nrtp-ports 30000-30099\n');
  const delivered: Action[] = [];
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), (a) => delivered.push(...a), { transport: 'tcp', idleMs: 10000, connectTimeoutMs: 2000, handshakeMs: 2000, maxPerSource: 4, maxPerDestination: 4, maxConnections: 16 });
  const port = await freePort();
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  const phone = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => phone.destroy());
  let got = '';
  phone.on('data', (d) => (got += d.toString('latin1')));
  await new Promise((r) => phone.once('connect', r));
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the phone\'s connection is there');
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  let lost = 0;
  const ping = (toPort: number): Extract<Action, { type: 'send' }> => ({ type: 'send', from, to: { addr: '127.0.0.1', family: 4, port: toPort }, data: '\r\n\r\n', transport: 'tcp', ping: true, unreachable: () => (lost++, []) });
  tcp.send(ping(phone.localPort!));
  t.ok(await waitFor(() => got === '\r\n\r\n', 3000, 10), 'CRLFCRLF arrives on the phone\'s connection');
  t.equal(lost, 0);
  phone.write('\r\n'); // its pong (RFC 5626 4.4.1)
  tcp.send(ping(await freePort()));
  t.equal(lost, 1, 'to an address with no connection: unreachable, at once');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(tcp.size, 1, 'and no connection was opened for it');
  t.same(delivered, [], 'the pong is taken quietly');
  t.notOk(phone.destroyed, 'the phone\'s connection stays');
});
