// bench/rtp: RTP relayed by RTPproxy64 between IPv4 and IPv6 for many concurrent sessions,
// 50 packets/s each way per session (172-byte packets, like G.711). Run inside a namespace
// made by bench/rtp-run (root). It starts the daemon itself, sets the sessions up with real
// SIP (it plays both phones), sends, counts loss, and steps the session count up.
//   node dist/bench/rtp.js CONF SECONDS N1 N2 ...
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [conf, secsArg, ...steps] = process.argv.slice(2);
const secs = Number(secsArg ?? 5);
const CRLF = (s: string): string => s.replace(/\n/g, '\r\n');

function sock(type: 'udp4' | 'udp6', addr: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, recvBufferSize: 1 << 22, sendBufferSize: 1 << 22 });
    s.once('error', reject);
    s.bind(port, addr, () => resolve(s));
  });
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function main(): Promise<void> {
  console.log(`RTPproxy64 relay, ${secs}s per step, proxy on cpu0, load generator (node) on cpu1`);
  console.log(`(pkts/s: the send rate measured at the generator)\nsessions  pkts/s  sent      received  lost  proxy-cpu-s/100k-pkts`);
  for (const step of steps) {
    const n = Number(step);
    const base = 0;
    const proxy = spawn('taskset', ['-c', '0', process.execPath, 'dist/src/cli/main.js', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((r) => setTimeout(r, 1000));
    const alice = await sock('udp4', '127.0.0.10', 5060);
    const carol = await sock('udp6', '2001:db8:1::20', 5060);
    // Set up n calls: alice INVITEs carol through carol's IPv4 face; carol answers.
    const relay4: number[] = [];
    const relay6: number[] = [];
    const got = new Promise<void>((resolve) => {
      let answered = 0;
      carol.removeAllListeners('message');
      alice.removeAllListeners('message');
      carol.on('message', (msg) => {
        const t = msg.toString('latin1');
        if (!t.startsWith('INVITE')) return;
        const i = Number(/Call-ID: b(\d+)/.exec(t)![1]);
        relay6[i] = Number(/m=audio (\d+)/.exec(t)![1]);
        const via = t.split('\r\n').filter((l) => l.startsWith('Via:')).join('\r\n');
        const rr = t.split('\r\n').filter((l) => l.startsWith('Record-Route:')).join('\r\n');
        const sdp = CRLF(`v=0\no=c 1 1 IN IP6 2001:db8:1::20\ns=-\nc=IN IP6 2001:db8:1::20\nt=0 0\nm=audio ${41000 + 2 * i} RTP/AVP 0\n`);
        const ok = CRLF(`SIP/2.0 200 OK\n${via}\n${rr}\nFrom: <sip:alice@[2001:db8:64::10]>;tag=a\nTo: <sip:carol@[2001:db8:1::20]>;tag=c\nCall-ID: b${i}\nCSeq: 1 INVITE\nContact: <sip:carol@[2001:db8:1::20]>\nContent-Type: application/sdp\nContent-Length: ${sdp.length}\n\n`) + sdp;
        carol.send(Buffer.from(ok, 'latin1'), 5060, '2001:db8:64::10');
      });
      alice.on('message', (msg) => {
        const t = msg.toString('latin1');
        const m = /^SIP\/2.0 200[\s\S]*Call-ID: b(\d+)[\s\S]*m=audio (\d+)/.exec(t);
        if (!m) return;
        relay4[Number(m[1])] = Number(m[2]);
        if (++answered === n - base) resolve();
      });
    });
    for (let i = base; i < n; i++) {
      const sdp = CRLF(`v=0\no=a 1 1 IN IP4 127.0.0.10\ns=-\nc=IN IP4 127.0.0.10\nt=0 0\nm=audio ${41000 + 2 * i} RTP/AVP 0\n`);
      const inv = CRLF(`INVITE sip:carol@127.0.0.120 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKb${i}\nMax-Forwards: 70\nFrom: <sip:alice@127.0.0.10>;tag=a\nTo: <sip:carol@127.0.0.120>\nCall-ID: b${i}\nCSeq: 1 INVITE\nContact: <sip:alice@127.0.0.10>\nContent-Type: application/sdp\nContent-Length: ${sdp.length}\n\n`) + sdp;
      alice.send(Buffer.from(inv, 'latin1'), 5060, '127.0.0.120');
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    await got;
    // Media sockets for the new sessions.
    const pairs: Array<{ a: dgram.Socket; c: dgram.Socket; r4: number; r6: number }> = [];
    let received = 0;
    for (let i = 0; i < n; i++) {
      const a = await sock('udp4', '127.0.0.10', 41000 + 2 * i);
      const c = await sock('udp6', '2001:db8:1::20', 41000 + 2 * i);
      a.on('message', () => received++);
      c.on('message', () => received++);
      pairs.push({ a, c, r4: relay4[i], r6: relay6[i] });
    }
    const pkt = Buffer.alloc(172, 0xd5);
    pkt[0] = 0x80;
    let sent = 0;
    const cpu0 = cpuOf(proxy.pid!);
    const ticks = secs * 50;
    const start = Date.now();
    for (let k = 0; k < ticks; k++) {
      const t0 = Date.now();
      for (const p of pairs) {
        p.a.send(pkt, p.r4, '127.0.0.2');
        p.c.send(pkt, p.r6, '2001:db8::2');
        sent += 2;
      }
      const wait = 20 - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const actual = Math.round(sent / ((Date.now() - start) / 1000));
    await new Promise((r) => setTimeout(r, 500));
    const cpu = cpuOf(proxy.pid!) - cpu0;
    console.log(`${String(n).padStart(8)}  ${String(actual).padStart(6)}  ${String(sent).padEnd(8)}  ${String(received).padEnd(8)}  ${String(sent - received).padEnd(4)}  ${(cpu / sent * 100000).toFixed(2)}`);
    for (const p of pairs) {
      p.a.close();
      p.c.close();
    }
    alice.close();
    carol.close();
    proxy.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
  }
}

void main();
