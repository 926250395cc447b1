#!/usr/bin/env node
// A real RTP party for the end-to-end tests, started by SIPp (<exec>) once the SDP is known.
//   node rtp-peer.mjs BIND_ADDR BIND_PORT DEST_ADDR DEST_PORT COUNT OUT_FILE GOT_FAMILY WANT_FAMILY
// Binds the address its own SDP advertised, then sends uncounted probe packets (PT 13,
// comfort noise) until it hears the other party through the relay (both are bound and
// latched: a busy machine may start the two parties a second apart), then COUNT counted
// G.711-sized RTP packets (PT 0, 172 bytes, every 20 ms) to the relay address the peer's SDP
// gave; it counts the PT 0 packets that arrive and writes {sent, received, familyOk} to
// OUT_FILE. Bounded: probing stops after 5 s; after its last packet it ends once it has all
// COUNT, or 600 ms after the last one it heard (a peer that heard us late sends late), and
// within 3 s in any case.
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [bindAddr, bindPort, destAddr, destPort, countArg, out, gotFam, wantFam] = process.argv.slice(2);
const count = Number(countArg);
const v6 = bindAddr.includes(':');
const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
let sent = 0;
let received = 0;
let heard = false;
let seqOk = true;
let lastSeq = -1;
let heardAt = 0;
sock.on('error', () => {});
sock.on('message', (msg) => {
  if (msg.length !== 172 || msg[0] !== 0x80) return;
  heard = true;
  heardAt = Date.now();
  if (msg[1] !== 0) return; // a probe
  received++;
  const seq = msg.readUInt16BE(2);
  if (seq <= lastSeq) seqOk = false;
  lastSeq = seq;
});
sock.bind(Number(bindPort), bindAddr, () => {
  const ssrc = Math.floor(Math.random() * 2 ** 32);
  const packet = (pt, seq) => {
    const p = Buffer.alloc(172, 0xd5);
    p[0] = 0x80; // V=2
    p[1] = pt; //   0: PCMU (counted), 13: comfort noise (a probe)
    p.writeUInt16BE(seq, 2);
    p.writeUInt32BE(seq * 160, 4);
    p.writeUInt32BE(ssrc, 8);
    return p;
  };
  const started = Date.now();
  let probes = 0;
  const t = setInterval(() => {
    if (!heard && Date.now() - started < 5000) {
      sock.send(packet(13, 0xf000 + (probes++ & 0xfff)), Number(destPort), destAddr);
      return;
    }
    sock.send(packet(0, sent), Number(destPort), destAddr);
    if (++sent >= count) {
      clearInterval(t);
      // Late packets; not long, since the peer holds SIPp's inherited socket until it exits.
      const done = Date.now();
      const wait = setInterval(() => {
        const now = Date.now();
        if (received < count && now - Math.max(heardAt, done) < 600 && now - done < 3000) return;
        clearInterval(wait);
        writeFileSync(out, JSON.stringify({ sent, received, inOrder: seqOk, familyOk: gotFam === wantFam, dest: `${destAddr}:${destPort}` }));
        sock.close();
        process.exit(0);
      }, 50);
    }
  }, 20);
});
