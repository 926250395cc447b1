#!/usr/bin/env node
// The stranger and the victim of t/e2e/attack.ts, inside the test's namespace only.
//   node attacker.mjs PLAN_JSON
// PLAN: { from: "addr", port?: n, listen: ["addr:port" | "[v6]:port", ...],
//         listenTcp: ["addr:port", ...],
//         send: [{ to: "addr", port: n, data: "latin1 text", count: n, perSecond?: n,
//                  after?: "regexp", delayMs?: n }],
//         waitMs: n }
// Binds `from` (and each listener), sends each datagram `count` times (paced when perSecond
// is given; bounded in count and time; first waiting, at most 8 s, for a received datagram
// whose first line matches `after`, then `delayMs`), waits `waitMs` for whatever comes back,
// and prints { sent, sentBytes, got: { "from->listener": { n, bytes } }, gotBytes,
// answers: [first lines], full: [the first three datagrams received, whole], tcp: connections
// accepted by the TCP listeners }.
import dgram from 'node:dgram';
import net from 'node:net';

const plan = JSON.parse(process.argv[2]);
const v6 = (a) => a.includes(':');
const split = (hp) => {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hp);
  return { addr: m[1], port: Number(m[2]) };
};
const got = {};
let gotBytes = 0;
const answers = [];
const full = [];
const note = (to) => (msg, r) => {
  const k = `${r.address}->${to}`;
  got[k] ??= { n: 0, bytes: 0 };
  got[k].n++;
  got[k].bytes += msg.length;
  gotBytes += msg.length;
  if (answers.length < 40) answers.push(msg.toString('latin1').split('\r\n', 1)[0]);
  if (full.length < 3) full.push(msg.toString('latin1'));
};
const bind = (addr, port) => new Promise((resolve) => {
  const s = dgram.createSocket(v6(addr) ? 'udp6' : 'udp4');
  s.on('error', () => {});
  s.on('message', note(`${addr}:${port}`));
  s.bind(port, addr, () => resolve(s));
});
let tcp = 0;
const tcpListeners = await Promise.all((plan.listenTcp ?? []).map((hp) => new Promise((resolve) => {
  const { addr, port } = split(hp);
  const srv = net.createServer((c) => { tcp++; c.on('error', () => {}); c.destroy(); });
  srv.on('error', () => {});
  srv.listen(port, addr, () => resolve(srv));
})));
const listeners = await Promise.all((plan.listen ?? []).map((hp) => { const { addr, port } = split(hp); return bind(addr, port); }));
const me = await bind(plan.from, plan.port ?? 0);
let sent = 0;
let sentBytes = 0;
const deadline = Date.now() + 10_000; // never more than 10 s of sending
for (const s of plan.send ?? []) {
  const data = Buffer.from(s.data, 'latin1');
  const count = Math.min(s.count ?? 1, 20_000);
  const gap = s.perSecond ? 1000 / s.perSecond : 0;
  if (s.after) {
    const re = new RegExp(s.after);
    for (let waited = 0; waited < 8000 && !answers.some((l) => re.test(l)); waited += 50) await new Promise((r) => setTimeout(r, 50));
  }
  if (s.delayMs) await new Promise((r) => setTimeout(r, Math.min(s.delayMs, 10_000)));
  const t0 = Date.now();
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const d = s.vary ? Buffer.from(s.data.replaceAll('@N@', String(i)), 'latin1') : data;
    me.send(d, s.port, s.to);
    sent++;
    sentBytes += d.length;
    if (gap && i % 10 === 9) {
      const ahead = t0 + (i + 1) * gap - Date.now();
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    } else if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
}
await new Promise((r) => setTimeout(r, plan.waitMs ?? 500));
process.stdout.write(JSON.stringify({ sent, sentBytes, got, gotBytes, answers, full, tcp }));
me.close();
for (const l of listeners) l.close();
for (const l of tcpListeners) l.close();
process.exit(0);
