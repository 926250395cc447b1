#!/usr/bin/env node
// A provider's second node for the end-to-end tests, started by SIPp (<exec>) once the call
// is answered: it ends the call with a BYE of its own, from an address no SIP of the call
// came from (RFC 3261 15.1.2: the answer to the BYE ends the session, wherever it came from).
//   node bye-node.mjs BIND_ADDR BIND_PORT DEST RURI ROUTES FROM_TAG TO_TAG_PARAM CALL_ID OUT DELAY_MS
// DEST is host:port ([v6]:port), ROUTES SIPp's [routes] line (empty without Record-Route),
// TO_TAG_PARAM its [peer_tag_param] (";tag=..."). After DELAY_MS it sends the BYE,
// retransmitted as RFC 3261 17.1.2.2 (Timer E: 500 ms doubling, up to 4 s), and writes
// {status} to OUT: the final response's status, or 0 when none came within 8 s.
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [bindAddr, bindPort, dest, ruri, routes, fromTag, toTagParam, callId, out, delay] = process.argv.slice(2);
const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(dest);
if (!m) throw new Error(`bad DEST ${dest}`);
const [, destHost, destPort] = m;
const v6 = bindAddr.includes(':');
const host = v6 ? `[${bindAddr}]` : bindAddr;
const bye = [
  `BYE ${ruri} SIP/2.0`,
  `Via: SIP/2.0/UDP ${host}:${bindPort};branch=z9hG4bKnode${process.pid};rport`,
  ...(routes.trim() ? [routes.trim()] : []),
  'Max-Forwards: 70',
  `From: <sip:node@${host}>;tag=${fromTag}`,
  `To: <sip:callee@${host}>${toTagParam}`,
  `Call-ID: ${callId}`,
  'CSeq: 7 BYE',
  'Content-Length: 0',
  '', '',
].join('\r\n');
const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
let timer = null;
const done = (status) => {
  writeFileSync(out, JSON.stringify({ status }));
  clearTimeout(timer);
  sock.close();
};
sock.on('error', () => done(0));
sock.on('message', (msg) => {
  const s = /^SIP\/2\.0 (\d{3}) /.exec(msg.toString('latin1'));
  if (s && Number(s[1]) >= 200 && msg.includes('CSeq: 7 BYE')) done(Number(s[1]));
});
sock.bind(Number(bindPort), bindAddr, () => {
  let interval = 500;
  let spent = 0;
  const send = () => {
    sock.send(bye, Number(destPort), destHost);
    if (spent >= 8000) return done(0);
    timer = setTimeout(send, interval);
    spent += interval;
    interval = Math.min(interval * 2, 4000);
  };
  setTimeout(send, Number(delay));
});
