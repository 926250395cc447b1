#!/usr/bin/env node
// Inside send-full.ts's namespace, where 198.51.100.0/24 has no route until this script adds
// one (via 192.0.2.202, the veth's static neighbour): the HEP mirror (IO: native or js) is
// started towards a collector there, mirrors five copies, then five more once the route
// exists. Prints what it counted before and after, as one JSON line.
//   node hep-route.mjs IO
import { spawnSync } from 'node:child_process';
import { loadNative } from '../../dist/src/daemon/datapath-native.js';
import { HepMirror } from '../../dist/src/daemon/hep.js';

const io = process.argv[2];
const addon = io === 'native' ? loadNative() : null;
if (addon instanceof Error) throw addon;
const hep = new HepMirror({ addr: '198.51.100.9', family: 4, port: 9060 }, 2001, Date.now, addon);
const at = { addr: '192.0.2.201', family: 4, port: 5060 };
const settle = async (n) => {
  for (let i = 0; i < 500 && hep.sent + hep.failed < n; i++) await new Promise((r) => setTimeout(r, 10));
};
// dgram's connect answers in a later turn (here: that there is no route): wait for it, bounded.
for (let i = 0; i < 500 && io === 'js' && hep.via === 'connecting'; i++) await new Promise((r) => setTimeout(r, 10));
for (let i = 0; i < 5; i++) hep.sip(`OPTIONS sip:a${i} SIP/2.0\r\n\r\n`, at, at, 'udp');
await settle(5);
const before = { sent: hep.sent, failed: hep.failed };
const r = spawnSync('ip', ['route', 'add', '198.51.100.0/24', 'via', '192.0.2.202']);
for (let i = 0; i < 5; i++) hep.sip(`OPTIONS sip:b${i} SIP/2.0\r\n\r\n`, at, at, 'udp');
await settle(10);
spawnSync('ip', ['route', 'del', '198.51.100.0/24']);
console.log(JSON.stringify({ io: hep.io, route: r.status, before, after: { sent: hep.sent - before.sent, failed: hep.failed - before.failed } }));
hep.close();
process.exit(0);
