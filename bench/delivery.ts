// The driver of bench/delivery: ROUNDS reads of BATCH datagrams (850 bytes, one source) into
// one sip-io native socket on 127.0.0.2, with a callback that only counts. Run under
// callgrind with only on_readable collected, it gives the instructions of handing a datagram
// from the kernel to JavaScript (src/native/sipsock.c), the engine's work excluded.
//   node dist/bench/delivery.js TREE BATCH ROUNDS   (TREE: a checkout whose addon is built)
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [tree, batch, rounds] = [resolve(process.argv[2] ?? '.'), Number(process.argv[3] ?? 8), Number(process.argv[4] ?? 500)];
const PORT = 25_900;
const { loadNative } = await import(pathToFileURL(`${tree}/dist/src/daemon/datapath-native.js`).href);
const addon = loadNative();
if (addon instanceof Error) throw addon;
let got = 0;
// Three values a datagram on a bound socket, whether they come one datagram a call (before
// a9f3366) or a read's datagrams a call.
const h = addon.sipOpen(4, PORT, (...a: unknown[]) => void (got += a.length / 3), '127.0.0.2');
if (typeof h === 'number') throw new Error(`cannot bind 127.0.0.2:${PORT}: errno ${-h}`);
const s = dgram.createSocket('udp4');
await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
const msg = Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\nX-Pad: ${'x'.repeat(800)}\r\n\r\n`);
for (let i = 0; i < rounds; i++) {
  const want = got + batch;
  for (let k = 0; k < batch; k++) s.send(msg, PORT, '127.0.0.2');
  // Polled with setImmediate: a callback that sent the next read would be counted in on_readable.
  while (got < want) await new Promise((r) => setImmediate(r));
}
console.log(`delivered ${got}`);
addon.sipClose(h);
s.close();
