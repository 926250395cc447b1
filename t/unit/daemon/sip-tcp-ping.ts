// keepalive for a phone on TCP (RFC 5626 4.4.1): a ping goes on the connection the phone
// opened, or nowhere: SipTcp never opens a connection for one; pings that come in are
// answered one pong a read, and the rest counted; a registration keeps its connection open.
// Real sockets on loopback.
import t, { Test } from 'tap';
import net from 'node:net';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { parseIp } from '../../../src/net/addr.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';

/** SipTcp on a free loopback port (its sip-port too), and a peer connected to it; what the peer receives in got(). */
async function connected(t: Test, deliver: (tcp: SipTcp) => (a: Action[]) => void, idleMs = 10000) {
  const port = await freePort();
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  const tcp: SipTcp = new SipTcp(engine, createLogger('plain', 'error'), (a) => deliver(tcp)(a), { transport: 'tcp', idleMs, connectTimeoutMs: 2000, handshakeMs: 2000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 4, maxPerDestination: 4, budget: { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 } });
  await tcp.start([parseIp('127.0.0.1')!], port);
  t.teardown(() => tcp.close());
  const peer = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => peer.destroy());
  let text = '';
  peer.on('data', (d) => (text += d.toString('latin1')));
  await new Promise((r) => peer.once('connect', r));
  return { tcp, engine, port, peer, got: () => text };
}

t.test('a ping rides the phone\'s connection; without one it is unreachable at once', async (t) => {
  const delivered: Action[] = [];
  const { tcp, port, peer: phone, got } = await connected(t, () => (a) => delivered.push(...a));
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the phone\'s connection is there');
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  let lost = 0;
  const ping = (toPort: number): Extract<Action, { type: 'send' }> => ({ type: 'send', from, to: { addr: '127.0.0.1', family: 4, port: toPort }, data: '\r\n\r\n', transport: 'tcp', ping: true, unreachable: () => (lost++, []) });
  tcp.send(ping(phone.localPort!));
  t.ok(await waitFor(() => got() === '\r\n\r\n', 3000, 10), 'CRLFCRLF arrives on the phone\'s connection');
  t.equal(lost, 0);
  phone.write('\r\n'); // its pong (RFC 5626 4.4.1)
  tcp.send(ping(await freePort()));
  t.equal(lost, 1, 'to an address with no connection: unreachable, at once');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(tcp.size, 1, 'and no connection was opened for it');
  t.same(delivered, [], 'the pong is taken quietly');
  t.notOk(phone.destroyed, 'the phone\'s connection stays');
});

t.test('pongs: one for a ping, one a read for a flood of them (RFC 5626 4.4.1; SPEC 11)', async (t) => {
  const { engine, port, peer, got } = await connected(t, (tcp) => (acts) => {
    for (const a of acts) if (a.type === 'send') tcp.send(a);
  });
  peer.write('\r\n\r\n');
  t.ok(await waitFor(() => got() === '\r\n', 3000, 10), 'a ping: one CRLF back');
  // 50,000 pings (200 KB) in one write, then a request the proxy answers on this connection:
  // its answer comes after every pong (one stream, in order). Before: 100,000 bytes of pongs.
  peer.write('\r\n\r\n'.repeat(50000));
  peer.write(`OPTIONS sip:127.0.0.1:${port};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${peer.localPort};branch=z9hG4bKpong\r\nMax-Forwards: 70\r\n` +
    `From: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: pong\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
  t.ok(await waitFor(() => got().includes('SIP/2.0 '), 5000, 10), `the request answered after the flood${got().length < 300 ? ': ' + JSON.stringify(got()) : ''}`);
  const pongs = got().indexOf('SIP/2.0 ') - 2;
  t.ok(pongs >= 0 && pongs <= 2 * 100 && /^(\r\n)*$/.test(got().slice(0, pongs + 2)), `${pongs} bytes of pongs for 50,000 pings (at most a CRLF a read)`);
  t.equal((engine.counters.get('drop:keepalive') ?? 0) + pongs / 2, 50000, 'each ping of the flood got a pong or was counted (drop: keepalive)');
  t.notOk(peer.destroyed, 'a ping flood is not an error: the connection stays');
});

t.test('a request with a flow goes on the party\'s own connection first, else to its address (RFC 5626 5.3)', async (t) => {
  const { tcp, port, peer: phone, got } = await connected(t, () => () => {});
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the phone\'s connection is there');
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  // The phone "listens" on a port where nothing listens: only its own connection reaches it.
  const contact = await freePort();
  let lost = 0;
  const req = (flow?: number): Extract<Action, { type: 'send' }> => ({ type: 'send', from, to: { addr: '127.0.0.1', family: 4, port: contact }, data: 'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n', transport: 'tcp', flow, unreachable: () => (lost++, []) });
  tcp.send(req(phone.localPort!));
  t.ok(await waitFor(() => got().startsWith('OPTIONS'), 3000, 10), 'it arrives on the phone\'s connection');
  t.equal(tcp.size, 1, 'no connection was opened');
  tcp.send(req(await freePort())); // a flow whose connection is gone: the Contact's port, refused there
  t.ok(await waitFor(() => lost === 1, 3000, 10), 'without its connection: a new one to the address, refused, and unreachable');
});

t.test('a registration keeps its connection open past tcp-idle while it lasts (RFC 5626 5.3)', async (t) => {
  const { tcp, port, peer: phone } = await connected(t, () => () => {}, 300);
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the phone\'s connection is there');
  let closed = false;
  phone.on('close', () => (closed = true));
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  const ok = (aor: string, lasts: number): Extract<Action, { type: 'send' }> => ({ type: 'send', from, to: { addr: '127.0.0.1', family: 4, port: phone.localPort! }, data: 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', transport: 'tcp', registration: { aor, lasts } });
  tcp.send(ok('sip:alice@192.0.2.105', 60)); // the registrar granted 60 s to each of two accounts
  tcp.send(ok('sip:alice2@192.0.2.105', 60));
  await new Promise((r) => setTimeout(r, 1500)); // five times tcp-idle
  t.notOk(closed, 'still open after five times tcp-idle with nothing on it');
  t.equal(tcp.registered, 1, 'one connection kept by a registration (sipproxy64_sip_connections_registered)');
  tcp.send(ok('sip:alice2@192.0.2.105', 0)); // one account unregistered: the other keeps it
  await new Promise((r) => setTimeout(r, 1500));
  t.notOk(closed, 'still open while the other account is registered');
  tcp.send(ok('sip:alice@192.0.2.105', 0)); // no registration left: tcp-idle again
  t.equal(tcp.registered, 0, 'none kept once none is left');
  t.ok(await waitFor(() => closed, 5000, 10), 'closed after tcp-idle once no registration is left');
});

t.test('without a registration, tcp-idle closes the connection', async (t) => {
  const { tcp, peer: phone } = await connected(t, () => () => {}, 300);
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the phone\'s connection is there');
  let closed = false;
  phone.on('close', () => (closed = true));
  t.ok(await waitFor(() => closed, 5000, 10), 'closed');
});
