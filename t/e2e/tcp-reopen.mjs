#!/usr/bin/env node
// RFC 3261 18.2.2 end to end, for t/e2e/tcp.ts: a caller over TCP whose connection closes
// before the answer, and the callee over UDP, both played here (neither SIPp nor Kamailio
// closes a connection mid-transaction on demand).
//   node tcp-reopen.mjs CALLER_ADDR PROXY_ADDR CALLEE_ADDR
// The caller listens on CALLER_ADDR:5060 (its Via's sent-by) and sends an INVITE from
// another port to PROXY_ADDR:5060 over TCP. The callee, on [CALLEE_ADDR]:5060 over UDP, takes
// it; then the caller closes its connection, and once the proxy has closed its side too (ss
// shows no such connection) the callee answers 200. Prints {"answered":true} when the 200
// arrives on a connection to CALLER_ADDR:5060. Each wait is bounded (5 s).
import dgram from 'node:dgram';
import net from 'node:net';
import { execFileSync } from 'node:child_process';

const [caller, proxy, callee] = process.argv.slice(2);
const done = (r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
};
setTimeout(() => done({ answered: false, why: 'timeout' }), 15000).unref();
let heard = '';
const server = net.createServer((s) => s.on('data', (d) => {
  heard += d.toString('latin1');
  if (/^SIP\/2\.0 200 /m.test(heard)) done({ answered: true });
}));
const udp = dgram.createSocket('udp6');
await new Promise((r) => server.listen(5060, caller, r));
await new Promise((r) => udp.bind(5060, callee, r));
const conn = net.connect({ host: proxy, port: 5060, localAddress: caller });
conn.on('error', () => {});
await new Promise((r) => conn.once('connect', r));
const port = conn.localPort;
conn.write([
  `INVITE sip:carol@${proxy} SIP/2.0`,
  `Via: SIP/2.0/TCP ${caller}:5060;branch=z9hG4bKreopen${process.pid}`,
  'Max-Forwards: 70',
  `From: <sip:alice@${caller}>;tag=r1`,
  `To: <sip:carol@${proxy}>`,
  `Call-ID: reopen${process.pid}@${caller}`,
  'CSeq: 1 INVITE',
  `Contact: <sip:alice@${caller};transport=tcp>`,
  'Content-Length: 0',
  '', '',
].join('\r\n'));
const [invite, from] = await new Promise((r) => udp.once('message', (m, rinfo) => r([m.toString('latin1'), rinfo])));
conn.end();
await new Promise((r) => conn.once('close', r));
// Ready when the proxy has closed its end: no connection from our port is left in the namespace.
const open = () => execFileSync('ss', ['-Htn', 'state', 'all'], { encoding: 'utf8' }).split('\n').some((l) => l.includes(`${caller}:${port} `) && !/TIME-WAIT|TIME_WAIT/.test(l));
for (let i = 0; i < 50 && open(); i++) await new Promise((r) => setTimeout(r, 100));
if (open()) done({ answered: false, why: 'the proxy kept the connection' });
const head = invite.split('\r\n\r\n')[0].split('\r\n').slice(1);
const keep = head.filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l));
const to = head.find((l) => /^To:/i.test(l));
const ok = ['SIP/2.0 200 OK', ...keep, `${to};tag=c1`, `Contact: <sip:carol@[${callee}]:5060>`, 'Content-Length: 0', '', ''].join('\r\n');
udp.send(ok, from.port, from.address);
