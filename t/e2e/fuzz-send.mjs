#!/usr/bin/env node
// Sends COUNT hostile datagrams (fixture messages mutated, truncated, random bytes) to the
// daemon's SIP sockets from inside the test's namespace, then exits.
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
function mutate(b) {
  let s = b.toString('latin1');
  const k = rnd(4);
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
