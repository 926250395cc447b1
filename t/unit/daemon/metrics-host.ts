// The status endpoint against DNS rebinding and idle connections (SPEC 11): real HTTP on
// loopback. A request whose Host names something other than an address, localhost or this
// host gets 421 and no data; an address gets the data.
import t from 'tap';
import http from 'node:http';
import { hostname } from 'node:os';
import { parseConfig, validate } from '../../../src/config/config.js';
import { buildEngine } from '../../../src/daemon/compose.js';
import { hostAllowed, serveMetrics } from '../../../src/daemon/metrics.js';
import { Relay } from '../../../src/daemon/relay.js';

t.test('hostAllowed: addresses, localhost and our name; no other name', async (t) => {
  for (const h of [undefined, '127.0.0.1', '127.0.0.1:9064', '[::1]:9064', '[2001:db8::1]', '192.0.2.1:80', 'localhost', 'LOCALHOST:9064', 'localhost.:9064', 'gw:9064'])
    t.equal(hostAllowed(h, 'gw'), true, String(h));
  for (const h of ['rebind.example', 'rebind.example:9064', 'gw.rebind.example', '127.0.0.1.rebind.example', '::1', '[::1', '[localhost]:9064', '', ':9064', '010.0.0.1', '0x7f.1', 'a b', '[::1]:9064:1'])
    t.equal(hostAllowed(h, 'gw'), false, h);
});

const get = (port: number, path: string, host: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });

t.test('a rebound name gets 421 and no data; the address gets it', async (t) => {
  const cfg = validate(parseConfig('generic4 127.0.0.1\ngeneric6 ::1\nmap 127.0.0.10 2001:db8::10\nrtp-ports 24950-24959\n', 'test'));
  const { engine } = buildEngine(cfg, { product: 'sipproxy64/test' });
  const relay = new Relay({ ports: [24950, 24959], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, datapath: 'js', io: 'auto', threads: 1 });
  t.teardown(() => relay.closeAll());
  const server = await serveMetrics({ addr: '127.0.0.1', family: 4, port: 0 }, engine, relay, [], () => {}, () => ({ registrations: [{ user: 'alice' }] }), () => [{ transport: 'tcp', size: 3, registered: 2 }]);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  for (const path of ['/sessions', '/registrations', '/metrics', '/']) {
    const bad = await get(port, path, `rebind.example:${port}`);
    t.equal(bad.status, 421, `${path} for rebind.example: 421`);
    t.notMatch(bad.body, /alice|sipproxy64_|\[/, 'and nothing of the data');
  }
  const reg = await get(port, '/registrations', `127.0.0.1:${port}`);
  t.equal(reg.status, 200, 'by address: 200');
  t.match(reg.body, /"alice"/, 'with the data');
  const metrics = await get(port, '/metrics', `127.0.0.1:${port}`);
  t.match(metrics.body, /^sipproxy64_sip_connections\{transport="tcp"\} 3$/m, 'SIP connections open, by transport');
  t.match(metrics.body, /^sipproxy64_sip_connections_registered\{transport="tcp"\} 2$/m, 'and those a registration keeps open');
  t.equal((await get(port, '/sessions', `localhost:${port}`)).status, 200, 'localhost: 200');
  t.equal((await get(port, '/sessions', `${hostname()}:${port}`)).status, 200, 'this host\'s name: 200');
  t.equal(server.maxConnections, 32, 'at most 32 connections at once');
  t.equal(server.headersTimeout, 10000, 'ten seconds for a request head');
});
