#!/usr/bin/env node
// Sends COUNT hostile datagrams (fixture messages mutated, truncated, random bytes, SDP ports
// no UDP port can be) to the daemon's SIP sockets from inside the test's namespace, then exits.
//   node fuzz-send.mjs CASES_DIR COUNT TARGET...   (TARGET = addr:port or [addr]:port)
import dgram from 'node:dgram';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, countArg, ...targets] = process.argv.slice(2);
const seeds = [];
for (const c of readdirSync(dir)) for (const f of readdirSync(join(dir, c))) if (/^\d+\.sip$/.test(f)) seeds.push(readFileSync(join(dir, c, f)));
let x = 12345;
const rnd = (n) => ((x = (x * 1103515245 + 12345) >>> 0) % n);
const specials = [':', ';', '<', '>', '[', ']', '"', '\\', ',', '@', ' ', '\r\n', '\x00', '\xff', '::', 'sip:', 'IN IP6 ', 'Content-Length: 99999'];
// SDP ports at and past the ends of a UDP port, in m= and a=rtcp:, with Content-Length kept
// right so that the body is read: what the relay is handed (its parties) comes from these.
const PORTS = ['0', '1', '65534', '65535', '65536', '99999', '4294967297'];
function sdpPort(s) {
  s = rnd(2) ? s.replace(/^(m=\S+ )\d+/m, `$1${PORTS[rnd(PORTS.length)]}`) : s.replace(/^(m=\S+ \d+ .*\r\n)/m, `$1a=rtcp:${PORTS[rnd(PORTS.length)]}\r\n`);
  const body = s.indexOf('\r\n\r\n');
  return body < 0 ? s : s.replace(/^(Content-Length|l)\s*:\s*\d*/im, `$1: ${s.length - body - 4}`);
}
function mutate(b) {
  let s = b.toString('latin1');
  const k = rnd(5);
  if (k === 4) return Buffer.from(sdpPort(s), 'latin1');
  if (k === 0) return Buffer.from(s.slice(0, rnd(s.length + 1)), 'latin1');
  if (k === 1) { const r = Buffer.alloc(rnd(1500)); for (let i = 0; i < r.length; i++) r[i] = rnd(256); return r; }
  for (let i = 0, n = 1 + rnd(6); i < n; i++) {
    const at = rnd(s.length + 1);
    const op = rnd(3);
    if (op === 0) s = s.slice(0, at) + specials[rnd(specials.length)] + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + 1 + rnd(20));
    else s = s.slice(0, at) + String.fromCharCode(rnd(256)) + s.slice(at + 1);
  }
  return Buffer.from(s, 'latin1');
}
const parsed = targets.map((t) => { const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(t); return { addr: m[1], port: Number(m[2]) }; });
const s4 = dgram.createSocket('udp4'); const s6 = dgram.createSocket('udp6');
s4.on('error', () => {}); s6.on('error', () => {});
s4.on('message', () => {}); s6.on('message', () => {});
await new Promise((r) => s4.bind(0, '127.0.0.66', r));
await new Promise((r) => s6.bind(0, '2001:db8::99', r));
const count = Number(countArg);
for (let i = 0; i < count; i++) {
  const t = parsed[i % parsed.length];
  const msg = mutate(seeds[rnd(seeds.length)]);
  (t.addr.includes(':') ? s6 : s4).send(msg, t.port, t.addr);
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 2));
}
await new Promise((r) => setTimeout(r, 500));
s4.close(); s6.close();
console.log(`sent ${count}`);
