// A TLS server proves the host name its address was resolved from (RFC 5922 7.3), not the
// address: a provider's certificate names its domain only. Real TLS on loopback, with a
// certificate made here by openssl that names provider.example and no address.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { Action } from '../../../src/core/types.js';
import { createLogger } from '../../../src/daemon/log.js';
import { SipTcp } from '../../../src/daemon/sip-tcp.js';
import { serverIdentity } from '../../../src/daemon/tls-identity.js';
import { waitFor } from '../../lib/netns.js';
import { freePort } from '../../lib/ports.js';
import { engineOf } from '../../lib/engine.js';
import { tempDir } from '../../lib/tmp.js';

const dir = tempDir(t, 'sp64-tls-');
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem',
  '-days', '2', '-subj', '/CN=provider.example', '-addext', 'subjectAltName=DNS:provider.example'], { cwd: dir, encoding: 'utf8' });
if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));

t.test('serverIdentity: any of the names, the first in SNI; none checks the address', (t) => {
  const peer = { subject: { CN: 'provider.example' }, subjectaltname: new X509Certificate(cert).subjectAltName } as tls.PeerCertificate;
  t.same(serverIdentity([]), {}, 'no name: Node checks the address it connects to');
  const one = serverIdentity(['provider.example']);
  t.equal(one.servername, 'provider.example');
  t.equal(one.checkServerIdentity!('192.0.2.5', peer), undefined, 'the name, not the address, is checked');
  t.equal(serverIdentity(['other.example', 'provider.example']).checkServerIdentity!('192.0.2.5', peer), undefined, 'any of the names will do');
  t.match(serverIdentity(['other.example']).checkServerIdentity!('192.0.2.5', peer)?.message, /other\.example.*not in the cert's altnames/, 'another name is refused');
  t.match(serverIdentity(['a.example', 'b.example', 'c.example', 'd.example', 'provider.example']).checkServerIdentity!('192.0.2.5', peer)?.message, /a\.example/, 'at most four names are tried (SPEC 11)');
  t.end();
});

t.test('SipTcp over TLS reaches a server by the name its address was resolved from', async (t) => {
  let sni: string | false = false;
  let got = '';
  const server = tls.createServer({ key, cert }, (s) => {
    sni = (s as unknown as { servername: string | false }).servername;
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  let names: readonly string[] = [];
  const { engine } = engineOf('generic4 127.0.0.1\ngeneric6 ::1\nrtp-ports 30000-30099\n');
  const warnings: string[] = [];
  const log = createLogger('plain', 'warn', (line) => warnings.push(line));
  const opts = { transport: 'tls' as const, tls: { key, cert, ca: cert }, names: () => names, idleMs: 10000, connectTimeoutMs: 3000, handshakeMs: 3000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 4, maxPerDestination: 4, budget: { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 } };
  let lost = 0;
  const send = (tcp: SipTcp, n: number): void => tcp.send({ type: 'send', from: { addr: '127.0.0.1', family: 4, port: 5061 }, to: { addr: '127.0.0.1', family: 4, port }, data: `OPTIONS sip:p@provider.example SIP/2.0\r\nX-N: ${n}\r\n\r\n`, transport: 'tls', unreachable: (): Action[] => (lost++, []) });
  const client = (): SipTcp => {
    const tcp = new SipTcp(engine, log, () => {}, opts);
    t.teardown(() => tcp.close());
    return tcp;
  };
  send(client(), 1); // no name: the certificate names none of 127.0.0.1
  t.ok(await waitFor(() => lost === 1, 5000, 10), 'the address alone is refused: the request is unreachable (its 503)');
  t.equal(got, '', 'nothing was sent to the server');
  t.match(warnings.join('\n'), /next hop unreachable.*ERR_TLS_CERT_ALTNAME_INVALID.*127\.0\.0\.1/, 'the warning says why');
  names = ['other.example'];
  send(client(), 2);
  t.ok(await waitFor(() => lost === 2, 5000, 10), 'a name the certificate does not name is refused');
  names = ['provider.example'];
  send(client(), 3);
  t.ok(await waitFor(() => got.includes('X-N: 3'), 5000, 10), 'the name the address was resolved from: the request arrives');
  t.equal(sni, 'provider.example', 'and the name went in SNI');
  t.equal(lost, 2);
});

t.test('a server that asks for a client certificate gets ours (mutual TLS, RFC 5922 7.4)', async (t) => {
  let authorized: boolean | null = null;
  let got = '';
  const server = tls.createServer({ key, cert, ca: cert, requestCert: true, rejectUnauthorized: true }, (s) => {
    authorized = s.authorized;
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const { engine } = engineOf('generic4 127.0.0.1\ngeneric6 ::1\nrtp-ports 30000-30099\n');
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => {}, { transport: 'tls', tls: { key, cert, ca: cert }, names: () => ['provider.example'], idleMs: 10000, connectTimeoutMs: 3000, handshakeMs: 3000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 4, maxPerDestination: 4, budget: { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 } });
  t.teardown(() => tcp.close());
  let lost = 0;
  tcp.send({ type: 'send', from: { addr: '127.0.0.1', family: 4, port: 5061 }, to: { addr: '127.0.0.1', family: 4, port }, data: 'OPTIONS sip:p@provider.example SIP/2.0\r\n\r\n', transport: 'tls', unreachable: (): Action[] => (lost++, []) });
  t.ok(await waitFor(() => got.startsWith('OPTIONS') || lost > 0, 5000, 10), 'the request arrives (or is refused)');
  t.equal(lost, 0, 'not refused');
  t.equal(authorized, true, 'the server verified the proxy\'s certificate (tls-cert)');
});

t.test('a connection a peer opened from a named server\'s address carries no request for it (RFC 5922 7.3; SPEC 11)', async (t) => {
  // The proxy listens for TLS; an impostor connects from 127.0.0.2:P, the address and port of
  // a provider known by name. Requests for the provider must go on a connection the proxy
  // opens and the provider's certificate proves; nobody listens there, so they are
  // unreachable (their 503), and the impostor hears none of them.
  const port = await freePort('127.0.0.1');
  const { engine } = engineOf(`generic4 127.0.0.1\ngeneric6 ::1\nsip-port ${port}\nrtp-ports 30000-30099\n`);
  let names: readonly string[] = ['provider.example'];
  const tcp = new SipTcp(engine, createLogger('plain', 'error'), () => {}, { transport: 'tls', tls: { key, cert, ca: cert }, names: () => names, idleMs: 10000, connectTimeoutMs: 3000, handshakeMs: 3000, messageMs: 60000, writeMs: 10000, maxUnsentPerConnection: 1 << 18, maxPerSource: 4, maxPerDestination: 4, budget: { open: 0, max: 16, pending: 0, maxPending: 1 << 25, unsent: 0, maxUnsent: 1 << 25 } });
  await tcp.start([{ addr: '127.0.0.1', family: 4 }], port);
  t.teardown(() => tcp.close());
  const p = await freePort('127.0.0.2');
  const raw = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2', localPort: p });
  const impostor = tls.connect({ socket: raw, rejectUnauthorized: false });
  t.teardown(() => impostor.destroy());
  let heard = '';
  impostor.on('data', (d) => (heard += d.toString('latin1')));
  impostor.on('error', () => {});
  await new Promise((r) => impostor.once('secureConnect', r));
  t.ok(await waitFor(() => tcp.size === 1, 3000, 10), 'the impostor\'s connection is accepted');
  let lost = 0;
  const from = { addr: '127.0.0.1', family: 4 as const, port };
  const to = { addr: '127.0.0.2', family: 4 as const, port: p };
  const request = (n: number, flow?: number): void => tcp.send({ type: 'send', from, to, data: `OPTIONS sip:p@provider.example SIP/2.0\r\nX-N: ${n}\r\n\r\n`, transport: 'tls', method: 'OPTIONS', flow, unreachable: (): Action[] => (lost++, []) });
  request(1);
  t.ok(await waitFor(() => lost === 1, 5000, 10), 'a request for the provider is unreachable: no connection of its own opens');
  t.equal(heard, '', 'the impostor heard nothing');
  tcp.send({ type: 'send', from, to, data: 'SIP/2.0 200 OK\r\nX-N: 2\r\n\r\n', transport: 'tls' });
  t.ok(await waitFor(() => heard.includes('X-N: 2'), 3000, 10), 'a response goes back on the connection its request came on (RFC 3261 18.2.2)');
  request(3, p);
  t.ok(await waitFor(() => heard.includes('X-N: 3'), 3000, 10), 'a party\'s own flow, named by ;sp64t=, is its connection (RFC 5626 5.3)');
  names = [];
  request(4);
  t.ok(await waitFor(() => heard.includes('X-N: 4'), 3000, 10), 'an address known by no name (a phone): its own connection, as before');
  t.equal(lost, 1);
});
