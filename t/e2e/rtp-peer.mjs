#!/usr/bin/env node
// A real RTP party for the end-to-end tests, started by SIPp (<exec>) once the SDP is known.
//   node rtp-peer.mjs BIND_ADDR BIND_PORT DEST_ADDR DEST_PORT COUNT OUT_FILE GOT_FAMILY WANT_FAMILY
// Binds the address its own SDP advertised, sends COUNT G.711-sized RTP packets (172 bytes,
// every 20 ms) to the relay address the peer's SDP gave, counts what arrives, and writes
// {sent, received, familyOk} to OUT_FILE. Bounded: it ends COUNT*20 + 1500 ms after start.
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [bindAddr, bindPort, destAddr, destPort, countArg, out, gotFam, wantFam] = process.argv.slice(2);
const count = Number(countArg);
const v6 = bindAddr.includes(':');
const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
let sent = 0;
let received = 0;
let seqOk = true;
let lastSeq = -1;
sock.on('error', () => {});
sock.on('message', (msg) => {
  if (msg.length !== 172 || msg[0] !== 0x80) return;
  received++;
  const seq = msg.readUInt16BE(2);
  if (seq <= lastSeq) seqOk = false;
  lastSeq = seq;
});
sock.bind(Number(bindPort), bindAddr, () => {
  const ssrc = Math.floor(Math.random() * 2 ** 32);
  setTimeout(() => {
    const t = setInterval(() => {
      const p = Buffer.alloc(172, 0xd5);
      p[0] = 0x80; // V=2
      p[1] = 0; //    PT 0 (PCMU)
      p.writeUInt16BE(sent, 2);
      p.writeUInt32BE(sent * 160, 4);
      p.writeUInt32BE(ssrc, 8);
      sock.send(p, Number(destPort), destAddr);
      if (++sent >= count) clearInterval(t);
    }, 20);
  }, 300);
  setTimeout(() => {
    writeFileSync(out, JSON.stringify({ sent, received, inOrder: seqOk, familyOk: gotFam === wantFam, dest: `${destAddr}:${destPort}` }));
    sock.close();
    process.exit(0);
  }, 300 + count * 20 + 1500);
});
