// What each side's party sends (issue 19), the same count in both datapaths (src/native/path.c
// path_observe): packets and bytes its latch accepted; from the RTP header, loss (RFC 3550
// A.1, A.3) and interarrival jitter (A.8); the time of its last packet; packets from other
// sources (foreign) and the latest such source.
import { Peer } from './datapath.js';

export interface QualityState {
  packets: number;
  bytes: number;
  rtp: number;
  rtpBase: number; // rtp when the sequence was last (re)started
  ssrc: number;
  baseSeq: number;
  maxSeq: number;
  cycles: number;
  firstUs: number;
  lastUs: number;
  firstTs: number;
  lastTs: number;
  rate: number;
  jitter: number; // timestamp units
  lastAnyUs: number; // 0: none
  foreign: number;
  foreignSrc: Peer | null;
}

/** What a stream's side reports (PairInfo). */
export interface Quality {
  readonly packets: number; //       accepted from the party, RTP and RTCP
  readonly bytes: number;
  readonly lost: number; //          RTP packets expected but not received (RFC 3550 A.3), never below 0
  readonly expected: number;
  readonly jitterMs: number; //       RFC 3550 A.8
  readonly idleMs: number | null; //  since its last packet; null: none yet
  readonly foreign: number; //        packets from other sources, dropped
  readonly foreignFrom: Peer | null; // the latest of them
}

export const newQuality = (): QualityState => ({ packets: 0, bytes: 0, rtp: 0, rtpBase: 0, ssrc: 0, baseSeq: 0, maxSeq: 0, cycles: 0, firstUs: 0, lastUs: 0, firstTs: 0, lastTs: 0, rate: 8000, jitter: 0, lastAnyUs: 0, foreign: 0, foreignSrc: null });

const RATES = [8000, 16000, 32000, 44100, 48000, 90000];
/** RFC 3550 A.1: a forward jump this large, or a new SSRC, restarts the count (a new source). */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

/** The monotonic clock in microseconds. */
export const monoUs = (): number => Math.round(performance.now() * 1000);

/** A packet the latch accepted (RTCP, or an RTCP type on a muxed port, counts but is not measured: RFC 5761 4). */
export function observe(q: QualityState, rtcp: boolean, msg: Buffer, nowUs: number): void {
  q.packets++;
  q.bytes += msg.length;
  q.lastAnyUs = nowUs;
  if (rtcp || msg.length < 12 || msg[0] >> 6 !== 2 || (msg[1] >= 200 && msg[1] <= 204)) return;
  const seq = msg.readUInt16BE(2);
  const ts = msg.readUInt32BE(4);
  const ssrc = msg.readUInt32BE(8);
  const delta = (seq - q.maxSeq) & 0xffff;
  if (q.rtp++ === 0 || ssrc !== q.ssrc || (delta >= MAX_DROPOUT && delta <= 65536 - MAX_MISORDER)) {
    q.ssrc = ssrc;
    q.rtpBase = q.rtp - 1;
    q.baseSeq = q.maxSeq = seq;
    q.cycles = 0;
    q.firstUs = q.lastUs = nowUs;
    q.firstTs = q.lastTs = ts;
    if (q.rtp === 1) q.rate = 8000;
    return;
  }
  if (delta > 0 && delta < MAX_DROPOUT) {
    if (seq < q.maxSeq) q.cycles += 65536; // wrapped
    q.maxSeq = seq;
  }
  const span = (nowUs - q.firstUs) / 1e6;
  if (span >= 1) {
    const r = ((ts - q.firstTs) >>> 0) / span;
    q.rate = RATES.reduce((best, x) => (Math.abs(x - r) < Math.abs(best - r) ? x : best), RATES[0]);
  }
  const d = ((nowUs - q.lastUs) / 1e6) * q.rate - ((ts - q.lastTs) | 0);
  q.jitter += (Math.abs(d) - q.jitter) / 16;
  q.lastUs = nowUs;
  q.lastTs = ts;
}

export function report(q: QualityState, nowUs: number): Quality {
  const expected = q.rtp ? q.cycles + q.maxSeq - q.baseSeq + 1 : 0;
  return fromFigures(q.packets, q.bytes, q.rtp - q.rtpBase, expected, q.rate > 0 ? (q.jitter / q.rate) * 1000 : 0, q.lastAnyUs ? (nowUs - q.lastAnyUs) / 1000 : -1, q.foreign, q.foreignSrc);
}

/** The report from the figures both datapaths give (the native one as an array). */
export function fromFigures(packets: number, bytes: number, rtp: number, expected: number, jitterMs: number, idleMs: number, foreign: number, foreignFrom: Peer | null): Quality {
  return { packets, bytes, lost: Math.max(0, expected - rtp), expected, jitterMs: Math.round(jitterMs * 100) / 100, idleMs: idleMs < 0 ? null : Math.round(idleMs), foreign, foreignFrom };
}
