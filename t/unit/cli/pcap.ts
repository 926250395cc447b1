// rewrite --pcap (issue 19): our capture reader and writer. What the writer makes, tshark
// (Wireshark's) decodes with good checksums; tshark's pcapng form of it, our reader reads;
// TCP streams are framed across segments, retransmissions skipped; damage is skipped.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { frames, PcapError, PcapWriter, sipPackets } from '../../../src/cli/pcap.js';
import { runPcap } from '../../../src/cli/rewrite.js';
import { HostPort } from '../../../src/net/addr.js';
import { engineOf } from '../../lib/engine.js';
import { tempDir } from '../../lib/tmp.js';

const dir = tempDir(t, 'sp64pcap-');
const hp = (addr: string, port: number): HostPort => ({ addr, family: addr.includes(':') ? 6 : 4, port });
const INVITE = 'INVITE sip:carol@127.0.0.120:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.10>;tag=1\r\nTo: <sip:carol@127.0.0.120>\r\nCall-ID: p1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.10>\r\nContent-Length: 0\r\n\r\n';
const OPTIONS = INVITE.replace(/INVITE/g, 'OPTIONS').replace('Call-ID: p1@x', 'Call-ID: p2@x');
const hasTshark = spawnSync('sh', ['-c', 'command -v tshark']).status === 0;

function capture(): Buffer {
  const w = new PcapWriter();
  w.add(1_700_000_000_000_000, hp('127.0.0.10', 5060), hp('127.0.0.120', 5060), 'udp', Buffer.from(INVITE));
  w.add(1_700_000_000_100_000, hp('2001:db8:1::20', 5060), hp('2001:db8:64::10', 5060), 'udp', Buffer.from('not SIP at all'));
  w.add(1_700_000_000_200_000, hp('2001:db8:1::20', 40000), hp('2001:db8:64::10', 5060), 'tcp', Buffer.from(OPTIONS).subarray(0, 100)); // half a message
  return w.toBuffer();
}

t.test('the writer\'s capture read back: UDP SIP, not what is not SIP', async (t) => {
  const got = sipPackets(capture());
  t.equal(got.length, 1, 'the INVITE; the datagram that is not SIP and the half TCP message are no messages');
  t.match(got[0], { n: 1, tsUs: 1_700_000_000_000_000, src: { addr: '127.0.0.10', port: 5060 }, dst: { addr: '127.0.0.120', port: 5060 }, transport: 'udp' });
  t.equal(got[0].data.toString('latin1'), INVITE);
});

t.test('TCP: framed across segments, retransmissions skipped; as tls when told', async (t) => {
  const w = new PcapWriter();
  const a = hp('2001:db8:1::20', 40000), b = hp('2001:db8:64::10', 5060);
  const stream = Buffer.from(OPTIONS + INVITE.replace('UDP', 'TCP'));
  w.add(1, a, b, 'tcp', stream.subarray(0, 100));
  const first = w.toBuffer();
  w.add(2, a, b, 'tcp', stream.subarray(100));
  const again = Buffer.concat([w.toBuffer(), first.subarray(24)]); // the first segment once more, at the end
  const got = sipPackets(again, 'tls');
  t.same(got.map((p) => p.data.toString('latin1').split(' ')[0]), ['OPTIONS', 'INVITE'], 'two messages out of two segments; the retransmitted one adds nothing');
  t.same(got.map((p) => p.transport), ['tls', 'tls']);
  t.equal(got[1].n, 2, 'a message counts from the packet that completed it');
});

t.test('damage: not a capture, truncated, bad lengths, random bytes', async (t) => {
  t.throws(() => frames(Buffer.from('hello, not a capture at all!!')), /not a pcap or pcapng capture/);
  t.throws(() => frames(Buffer.alloc(3)), /too short/);
  t.ok(new PcapError('x') instanceof Error);
  const c = capture();
  t.equal(sipPackets(c.subarray(0, c.length - 5)).length, 1, 'a truncated last record is left out');
  const bad = Buffer.from(c);
  bad.writeUInt32LE(0xffffff, 24 + 8); // the first record claims 16 MB
  t.same(sipPackets(bad), [], 'a record running past the end ends the capture');
  let threw = 0;
  for (let i = 0; i < 300; i++) {
    const junk = Buffer.from(c);
    for (let k = 0; k < 8; k++) junk[24 + Math.floor(Math.random() * (junk.length - 24))] = Math.floor(Math.random() * 256);
    try {
      sipPackets(junk);
    } catch {
      threw++;
    }
  }
  t.equal(threw, 0, 'random damage in 300 captures: skipped, never thrown');
});

t.test('tshark decodes what the writer wrote; our reader reads tshark\'s pcapng of it', { skip: hasTshark ? false : 'tshark is not installed (t/run-all installs it)' }, async (t) => {
  const file = join(dir, 'w.pcap');
  const w = new PcapWriter();
  w.add(1_700_000_000_000_000, hp('127.0.0.10', 5060), hp('127.0.0.120', 5060), 'udp', Buffer.from(INVITE));
  w.add(1_700_000_000_001_000, hp('2001:db8:64::10', 5060), hp('2001:db8:1::20', 5062), 'udp', Buffer.from(INVITE));
  w.add(1_700_000_000_002_000, hp('2001:db8:1::20', 40000), hp('2001:db8:64::10', 5060), 'tcp', Buffer.from(OPTIONS));
  writeFileSync(file, w.toBuffer());
  const r = spawnSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'udp.dstport', '-e', 'tcp.dstport', '-e', 'sip.Method', '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'tcp.checksum.status'], { encoding: 'utf8' });
  t.same(r.stdout.trim().split('\n'), ['127.0.0.10|||5060||INVITE|1|1|', '|2001:db8:64::10|2001:db8:1::20|5062||INVITE||1|', '|2001:db8:1::20|2001:db8:64::10||5060|OPTIONS|||1'], `tshark: addresses, ports, methods; IP, UDP and TCP checksums verified good (1) ${r.stderr.slice(0, 200)}`);
  const ng = join(dir, 'w.pcapng');
  spawnSync('tshark', ['-r', file, '-F', 'pcapng', '-w', ng]);
  const back = sipPackets(readFileSync(ng));
  t.same(back.map((p) => `${p.src.addr}>${p.dst.addr}:${p.dst.port} ${p.transport}`), ['127.0.0.10>127.0.0.120:5060 udp', '2001:db8:64::10>2001:db8:1::20:5062 udp', '2001:db8:1::20>2001:db8:64::10:5060 tcp'], 'pcapng');
  t.same(back.map((p) => p.tsUs), [1_700_000_000_000_000, 1_700_000_000_001_000, 1_700_000_000_002_000], 'with its times');
});

t.test('runPcap: each message through one engine; what it sends, written as a capture', async (t) => {
  const { engine } = engineOf('generic4 127.0.0.1\ngeneric6 2001:db8::1\nmap 127.0.0.10 2001:db8:64::10\nmap 2001:db8:1::20 127.0.0.120\nrtp-ports 30000-30099\n');
  const w = new PcapWriter();
  const text = await runPcap(engine, null, capture(), 'tcp', w);
  t.match(text, /^# packet 1 2023-11-14T22:13:20\.000Z 127\.0\.0\.10:5060 -> 127\.0\.0\.120:5060 udp\nsend \[2001:db8:64::10\]:5060 \[2001:db8:1::20\]:5060\nINVITE sip:carol@\[2001:db8:1::20\]:5060 SIP\/2\.0\r\n/);
  t.match(text, /# 1 SIP message in the capture\n$/);
  t.match(sipPackets(w.toBuffer()), [{ src: { addr: '2001:db8:64::10', port: 5060 }, dst: { addr: '2001:db8:1::20', port: 5060 }, transport: 'udp', tsUs: 1_700_000_000_000_000 }], 'the proxy\'s INVITE, at the time of the one it came from');
});
