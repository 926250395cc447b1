#!/usr/bin/env node
// Inside t/e2e/send-full.ts's namespace: a relay (media-datapath PATH) whose IPv4 side
// (192.0.2.201) sends to a party behind the veth shaped to 100 kbit/s (192.0.2.202), fed
// COUNT packets of 200 bytes by an IPv6 party on loopback, faster than the link drains them.
// Prints what the relay counted as one JSON line.
//   node relay-full.mjs PATH COUNT
import dgram from 'node:dgram';
import { Relay } from '../../dist/src/daemon/relay.js';

const [path, count] = process.argv.slice(2);
const relay = new Relay({ ports: [24980, 24989], media4: { addr: '192.0.2.201', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000, datapath: path, threads: 1 });
const p6 = await new Promise((ok) => { const s = dgram.createSocket('udp6'); s.bind(0, '::1', () => ok(s)); });
// The IPv4 party gave its own signalling address in its SDP: proven, so media goes to it at once.
const port = relay.table.update('c1', 0, 4, { addr: '192.0.2.202', rtp: 40000, rtcp: 40001, mux: false, signal: '192.0.2.202' });
relay.table.update('c1', 0, 6, { addr: '::1', rtp: p6.address().port, rtcp: p6.address().port + 1, mux: false, signal: '::1' });
await new Promise((r) => setTimeout(r, 200)); // time for the datapath to take the pair
const pkt = Buffer.alloc(200, 0x80);
const seen = () => { const s = relay.stats; return s.packets4 + [...s.drops.values()].reduce((a, b) => a + b, 0); };
let sent = 0;
while (sent < Number(count)) {
  // Bursts the relay's receive buffer holds; the next once the relay has read most of what
  // came before (bounded: on a busy machine the rest is lost in that buffer, uncounted).
  for (let i = 0; i < 100; i++, sent++) p6.send(pkt, port, '::1');
  for (let w = 0; w < 200 && seen() < sent - 300; w++) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setImmediate(r));
}
// Until the relay has read every packet it will read (its count stops moving).
let last = -1;
for (let i = 0; i < 100; i++) {
  if (seen() === last) break;
  last = seen();
  await new Promise((r) => setTimeout(r, 100));
}
const s = relay.stats;
console.log(JSON.stringify({ path: relay.path.kind, sent, relayed: s.packets4, drops: Object.fromEntries(s.drops), rss: process.memoryUsage().rss }));
relay.closeAll();
p6.close();
process.exit(0);
