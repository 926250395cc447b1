#!/usr/bin/env node
// Inside a namespace whose only way out is a veth shaped to 100 kbit/s: SipUdp (sip-io
// IO) sends COUNT 60 KB datagrams from 192.0.2.201:5060, faster than the link drains them.
// With a third argument `answer`, the sends are made as answers are: inside the callback of
// a datagram the socket read (sip-io native queues them and sends them after it).
// Each send is mirrored as HEP to a collector behind the same link (hep.ts).
// Prints what it counted, and how many warnings it logged, as one JSON line.
//   node send-full.mjs IO COUNT [answer]
import dgram from 'node:dgram';
import { parseConfig, validate } from '../../dist/src/config/config.js';
import { buildEngine } from '../../dist/src/daemon/compose.js';
import { HepMirror } from '../../dist/src/daemon/hep.js';
import { createLogger } from '../../dist/src/daemon/log.js';
import { SipUdp } from '../../dist/src/daemon/sip-udp.js';

const [io, count, answer] = process.argv.slice(2);
const cfg = validate(parseConfig('generic4 192.0.2.201\ngeneric6 2001:db8::1\n', 'send-full'));
const { engine } = buildEngine(cfg, { product: 'send-full' });
const warnings = [];
const from = { addr: '192.0.2.201', family: 4, port: 5060 };
const to = { addr: '192.0.2.202', family: 4, port: 5060 };
const data = 'SIP/2.0 200 OK\r\n' + 'X'.repeat(60000);
// hep: each datagram mirrored to a collector behind the same link, as the daemon mirrors a
// send (through the addon's socket with sip-io native, queued with the answers).
let hep = null;
const sendAll = () => {
  for (let i = 0; i < Number(count); i++) {
    udp.send({ type: 'send', from, to, data, transport: 'udp' });
    hep.sip(data, from, to, 'udp');
  }
};
let answered = false;
const deliver = () => {
  if (!answer || answered) return;
  answered = true;
  sendAll();
};
const udp = new SipUdp(engine, createLogger('plain', 'info', (l) => { if (/warn/.test(l)) warnings.push(l); }), deliver, io);
await udp.start([{ addr: '192.0.2.201', family: 4 }], 5060);
hep = new HepMirror({ addr: '192.0.2.202', family: 4, port: 9060 }, 2001, Date.now, udp.addon);
// dgram's socket connects in a later turn (copies before it are counted failed): wait for it, bounded.
for (let i = 0; i < 500 && hep.io === 'js' && hep.via === 'connecting'; i++) await new Promise((r) => setTimeout(r, 10));
if (answer) {
  // One datagram in (the engine drops it as no SIP; deliver answers all the same), then
  // wait for the callback: the queued sends and their report come before the next task.
  const c = dgram.createSocket('udp4');
  await new Promise((r) => c.bind(0, '192.0.2.201', r));
  c.send('hello', 5060, '192.0.2.201');
  for (let i = 0; i < 500 && !answered; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setImmediate(r));
  c.close();
} else sendAll();
// js: what Node's dgram holds (what the kernel took is the rest of what was not dropped).
const sock = [...(udp.sockets?.values() ?? [])][0];
const waiting = sock ? sock.getSendQueueSize() : 0;
const queued = sock ? sock.getSendQueueCount() : 0;
const taken = Number(count) - queued - (engine.counters.get('drop:send-buffer-full') ?? 0);
// dgram calls back a send the kernel took in a later turn: wait for those (bounded).
const hepQueued = () => hep.sock?.getSendQueueCount() ?? 0;
for (let i = 0; i < 500 && hep.sent + hep.failed + hepQueued() < Number(count); i++) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ io: udp.io, answered, counters: Object.fromEntries(engine.counters), warnings, waiting, taken, hep: { io: hep.io, sent: hep.sent, failed: hep.failed, queued: hepQueued(), waiting: hep.waiting() } }));
hep.close();
udp.close();
process.exit(0);
