// Captures for `sipproxy64 rewrite --pcap` (issue 19): reads pcap (either byte order, micro-
// or nanosecond) and pcapng (section header, interface description, enhanced and simple
// packet blocks), link types Ethernet (with VLAN tags), Linux cooked (SLL and SLL2) and raw
// IP; IPv4 (unfragmented) and IPv6 (no extension headers); UDP and TCP (one stream per
// direction, in sequence order, framed by Content-Length). Writes what the proxy sends as a
// pcap of Ethernet frames. Our own small reader: no registry package reads pcapng and the
// cooked headers without native code. Malformed input is skipped, never thrown past here.
import type { Transport } from '../core/transport.js';
import { addrBytes, addrFromBytes, Family, HostPort } from '../net/addr.js';
import { StreamFramer } from '../sip/stream.js';

export interface SipPacket {
  readonly n: number; //      the capture's packet number (1-based)
  readonly tsUs: number; //   capture time, microseconds since the epoch
  readonly src: HostPort;
  readonly dst: HostPort;
  readonly transport: Transport;
  readonly data: Buffer;
}

export class PcapError extends Error {}

interface Frame {
  readonly n: number;
  readonly tsUs: number;
  readonly link: number;
  readonly data: Buffer;
}

const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_SLL = 113;
const LINK_SLL2 = 276;

/** The frames of a pcap or pcapng file. */
export function frames(file: Buffer): Frame[] {
  if (file.length < 24) throw new PcapError('not a capture: too short');
  const magic = file.readUInt32LE(0);
  if (magic === 0x0a0d0d0a) return pcapng(file);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const be = file.readUInt32BE(0) === 0xa1b2c3d4 || file.readUInt32BE(0) === 0xa1b23c4d;
  if (!le && !be) throw new PcapError('not a pcap or pcapng capture');
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const nano = (le ? magic : file.readUInt32BE(0)) === 0xa1b23c4d;
  const link = u32(20) & 0xffff;
  const out: Frame[] = [];
  for (let o = 24, n = 1; o + 16 <= file.length; n++) {
    const incl = u32(o + 8);
    if (o + 16 + incl > file.length) break; // truncated: what came before stands
    out.push({ n, tsUs: u32(o) * 1e6 + (nano ? Math.floor(u32(o + 4) / 1000) : u32(o + 4)), link, data: file.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return out;
}

function pcapng(file: Buffer): Frame[] {
  const out: Frame[] = [];
  let le = true;
  let links: Array<{ link: number; unitsPerSec: number }> = [];
  for (let o = 0, n = 1; o + 12 <= file.length;) {
    const type = le ? file.readUInt32LE(o) : file.readUInt32BE(o);
    if (type === 0x0a0d0d0a) {
      le = file.readUInt32LE(o + 8) === 0x1a2b3c4d; // the section's byte order
      links = [];
    }
    const u32 = (x: number): number => (le ? file.readUInt32LE(x) : file.readUInt32BE(x));
    const len = u32(o + 4);
    if (len < 12 || len % 4 !== 0 || o + len > file.length) break;
    if (type === 1 && len >= 20) links.push({ link: le ? file.readUInt16LE(o + 8) : file.readUInt16BE(o + 8), unitsPerSec: tsResol(file, o, len, le) });
    else if (type === 6 && len >= 32) {
      const ifc = links[u32(o + 8)];
      const cap = u32(o + 20);
      if (ifc && 28 + cap <= len) {
        const ticks = u32(o + 12) * 2 ** 32 + u32(o + 16);
        out.push({ n: n++, tsUs: Math.floor((ticks / ifc.unitsPerSec) * 1e6), link: ifc.link, data: file.subarray(o + 28, o + 28 + cap) });
      }
    } else if (type === 3 && len >= 16 && links[0]) {
      out.push({ n: n++, tsUs: 0, link: links[0].link, data: file.subarray(o + 12, o + 12 + Math.min(u32(o + 8), len - 16)) });
    }
    o += len;
  }
  return out;
}

/** if_tsresol (option 9) of an interface description block: ticks a second (default 10^6). */
function tsResol(file: Buffer, o: number, len: number, le: boolean): number {
  for (let p = o + 16; p + 4 <= o + len - 4;) {
    const code = le ? file.readUInt16LE(p) : file.readUInt16BE(p);
    const olen = le ? file.readUInt16LE(p + 2) : file.readUInt16BE(p + 2);
    if (code === 0) break;
    if (code === 9 && olen >= 1) {
      const v = file[p + 4];
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
    }
    p += 4 + olen + ((4 - (olen % 4)) % 4);
  }
  return 1e6;
}

/** The IP packet inside a frame of a link type, or null. */
function ipOf(f: Frame): Buffer | null {
  const d = f.data;
  let o: number;
  let ethertype: number;
  if (f.link === LINK_ETHERNET) {
    if (d.length < 14) return null;
    o = 14;
    ethertype = d.readUInt16BE(12);
    while ((ethertype === 0x8100 || ethertype === 0x88a8) && d.length >= o + 4) {
      ethertype = d.readUInt16BE(o + 2);
      o += 4;
    }
  } else if (f.link === LINK_SLL) {
    if (d.length < 16) return null;
    o = 16;
    ethertype = d.readUInt16BE(14);
  } else if (f.link === LINK_SLL2) {
    if (d.length < 20) return null;
    o = 20;
    ethertype = d.readUInt16BE(0);
  } else if (f.link === LINK_RAW) {
    o = 0;
    ethertype = d.length > 0 && d[0] >> 4 === 6 ? 0x86dd : 0x0800;
  } else return null;
  return ethertype === 0x0800 || ethertype === 0x86dd ? d.subarray(o) : null;
}

interface Segment {
  readonly src: HostPort;
  readonly dst: HostPort;
  readonly proto: 6 | 17;
  readonly payload: Buffer;
  readonly seq: number;
  readonly syn: boolean;
}

/** UDP or TCP in an IPv4 or IPv6 packet. */
function segmentOf(ip: Buffer): Segment | null {
  if (ip.length < 20) return null;
  let f: Family, proto: number, o: number, s: string, d: string, end: number;
  if (ip[0] >> 4 === 4) {
    const ihl = (ip[0] & 15) * 4;
    if (ihl < 20 || ip.length < ihl || (ip.readUInt16BE(6) & 0x3fff) !== 0) return null; // fragments: not reassembled
    f = 4; proto = ip[9]; o = ihl;
    s = addrFromBytes(ip.subarray(12, 16)).addr; d = addrFromBytes(ip.subarray(16, 20)).addr;
    end = Math.min(ip.length, ip.readUInt16BE(2) || ip.length);
  } else if (ip[0] >> 4 === 6 && ip.length >= 40) {
    f = 6; proto = ip[6]; o = 40;
    s = addrFromBytes(ip.subarray(8, 24)).addr; d = addrFromBytes(ip.subarray(24, 40)).addr;
    end = Math.min(ip.length, 40 + ip.readUInt16BE(4));
  } else return null;
  if (proto === 17 && end >= o + 8) {
    return { src: { addr: s, family: f, port: ip.readUInt16BE(o) }, dst: { addr: d, family: f, port: ip.readUInt16BE(o + 2) }, proto: 17, payload: ip.subarray(o + 8, end), seq: 0, syn: false };
  }
  if (proto === 6 && end >= o + 20) {
    const off = (ip[o + 12] >> 4) * 4;
    if (off < 20 || o + off > end) return null;
    return { src: { addr: s, family: f, port: ip.readUInt16BE(o) }, dst: { addr: d, family: f, port: ip.readUInt16BE(o + 2) }, proto: 6, payload: ip.subarray(o + off, end), seq: ip.readUInt32BE(o + 4), syn: (ip[o + 13] & 2) !== 0 };
  }
  return null;
}

const looksSip = (b: Buffer): boolean => /^(SIP\/2\.0 \d{3}|[A-Z]+ \S+ SIP\/2\.0\r?\n)/.test(b.subarray(0, 300).toString('latin1').split('\n')[0] + '\n');

/**
 * The SIP messages of a capture, in order. UDP: each datagram that starts like SIP. TCP:
 * each direction of a connection framed as a stream (RFC 3261 18.3); a segment already
 * seen (a retransmission) is skipped; the transport is given as `tcpAs` (tcp, or tls when
 * the capture holds the decrypted stream).
 */
export function sipPackets(file: Buffer, tcpAs: 'tcp' | 'tls' = 'tcp'): SipPacket[] {
  const out: SipPacket[] = [];
  const flows = new Map<string, { framer: StreamFramer; next: number | null }>();
  for (const f of frames(file)) {
    const ip = ipOf(f);
    const seg = ip && segmentOf(ip);
    if (!seg) continue;
    if (seg.proto === 17) {
      if (looksSip(seg.payload)) out.push({ n: f.n, tsUs: f.tsUs, src: seg.src, dst: seg.dst, transport: 'udp', data: Buffer.from(seg.payload) });
      continue;
    }
    const key = `${seg.src.addr}|${seg.src.port}|${seg.dst.addr}|${seg.dst.port}`;
    let flow = flows.get(key);
    if (!flow || seg.syn) {
      flow = { framer: new StreamFramer(), next: null };
      flows.set(key, flow);
    }
    let payload = seg.payload;
    const seq = seg.syn ? (seg.seq + 1) >>> 0 : seg.seq;
    if (flow.next !== null) {
      const ahead = (seq - flow.next) | 0;
      if (ahead > 0) flow.framer = new StreamFramer(); // a gap: what was pending is lost
      else if (ahead < 0) payload = payload.subarray(Math.min(payload.length, -ahead)); // seen before
    }
    flow.next = (seq + seg.payload.length) >>> 0;
    if (payload.length === 0) continue;
    const framed = flow.framer.push(Buffer.from(payload));
    for (const m of framed.messages) out.push({ n: f.n, tsUs: f.tsUs, src: seg.src, dst: seg.dst, transport: tcpAs, data: m });
    if (framed.error) flows.delete(key);
  }
  return out;
}

/** What the proxy sends, as a pcap: Ethernet frames with IPv4/IPv6 and UDP or TCP headers. */
export class PcapWriter {
  private readonly parts: Buffer[] = [];
  private readonly seqs = new Map<string, number>();

  constructor() {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(LINK_ETHERNET, 20);
    this.parts.push(h);
  }

  add(tsUs: number, src: HostPort, dst: HostPort, transport: Transport, data: Buffer): void {
    const tcp = transport !== 'udp';
    const l4 = tcp ? this.tcpHeader(src, dst, data.length) : udpHeader(src, dst, data.length);
    const body = Buffer.concat([l4, data]);
    const ipH = src.family === 4 ? ipv4Header(src, dst, tcp ? 6 : 17, body.length) : ipv6Header(src, dst, tcp ? 6 : 17, body.length);
    if (!tcp) body.writeUInt16BE(checksum(src, dst, 17, body), 6); // RFC 768 / RFC 8200 8.1: needed over IPv6
    else body.writeUInt16BE(checksum(src, dst, 6, body), 16);
    const eth = Buffer.alloc(14);
    eth.write('020000000002020000000001', 0, 'hex');
    eth.writeUInt16BE(src.family === 4 ? 0x0800 : 0x86dd, 12);
    const frame = Buffer.concat([eth, ipH, body]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(tsUs / 1e6), 0);
    rec.writeUInt32LE(Math.floor(tsUs % 1e6), 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    this.parts.push(rec, frame);
  }

  private tcpHeader(src: HostPort, dst: HostPort, len: number): Buffer {
    const key = `${src.addr}|${src.port}|${dst.addr}|${dst.port}`;
    const seq = this.seqs.get(key) ?? 1;
    this.seqs.set(key, (seq + len) >>> 0);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(src.port, 0);
    h.writeUInt16BE(dst.port, 2);
    h.writeUInt32BE(seq, 4);
    h[12] = 5 << 4;
    h[13] = 0x18; // PSH, ACK
    h.writeUInt16BE(65535, 14);
    return h;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function udpHeader(src: HostPort, dst: HostPort, len: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(src.port, 0);
  h.writeUInt16BE(dst.port, 2);
  h.writeUInt16BE(8 + len, 4);
  return h;
}


function ipv4Header(src: HostPort, dst: HostPort, proto: number, len: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + len, 2);
  h[8] = 64;
  h[9] = proto;
  addrBytes(src).copy(h, 12);
  addrBytes(dst).copy(h, 16);
  h.writeUInt16BE(sum16(h), 10);
  return h;
}

function ipv6Header(src: HostPort, dst: HostPort, proto: number, len: number): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(len, 4);
  h[6] = proto;
  h[7] = 64;
  addrBytes(src).copy(h, 8);
  addrBytes(dst).copy(h, 24);
  return h;
}

/** The Internet checksum (RFC 1071) of some bytes. */
function sum16(b: Buffer, start = 0): number {
  let s = start;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** UDP/TCP checksum over the pseudo-header (RFC 768, RFC 8200 8.1). */
function checksum(src: HostPort, dst: HostPort, proto: number, body: Buffer): number {
  const pseudo = Buffer.concat([addrBytes(src), addrBytes(dst), Buffer.from([0, proto]), Buffer.from([(body.length >> 8) & 0xff, body.length & 0xff])]);
  const pre = ~sum16(pseudo) & 0xffff;
  const c = sum16(body, pre);
  return proto === 17 && c === 0 ? 0xffff : c;
}
