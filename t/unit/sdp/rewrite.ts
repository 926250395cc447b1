import t from 'tap';
import * as sdpTransform from 'sdp-transform';
import { sdpEdits, SdpParty, SdpTarget } from '../../../src/sdp/rewrite.js';
import { Edits } from '../../../src/sip/edits.js';

/** One whole SDP body rewritten for family t.out; null when a stream gets no relay port. */
function rewriteSdp(sdp: string, t: SdpTarget): string | null {
  const edits = new Edits();
  return sdpEdits(sdp, 0, sdp.length, t, edits) === null ? null : edits.apply(sdp);
}

const sdp = [
  'v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0',
  'm=audio 49170 RTP/AVP 0', 'a=rtcp:49171', 'm=video 0 RTP/AVP 96', 'm=audio 49180 RTP/AVP 8', 'c=IN IP4 192.0.2.11', 'a=rtcp-mux', 'a=candidate:1 1 UDP 1 192.0.2.10 49180 typ host', '',
].join('\r\n');

t.test('c=, o=, m=, a=rtcp and ICE for IPv6', async (t) => {
  const seen: Array<SdpParty | null> = [];
  const target: SdpTarget = { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: (i, p) => (seen.push(p), p ? 30000 + 2 * i : 0) };
  const out = rewriteSdp(sdp, target) ?? '';
  const s = sdpTransform.parse(out);
  t.equal(s.origin?.ipVer, 6);
  t.equal(s.origin?.address, '2001:db8::2');
  t.equal(s.connection?.ip, '2001:db8::2');
  t.same(s.media.map((m) => m.port), [30000, 0, 30004]);
  t.equal(s.media[0].rtcp?.port, 30001);
  t.equal(s.media[2].connection?.version, 6);
  t.notOk(out.includes('a=candidate'));
  t.same(seen, [
    { addr: '192.0.2.10', rtp: 49170, rtcp: 49171, mux: false, held: false },
    null,
    { addr: '192.0.2.11', rtp: 49180, rtcp: 49180, mux: true, held: false },
  ]);
  t.ok(out.endsWith('\r\n'));
});

t.test('untouched lines pass byte for byte; LF-only SDP keeps LF', async (t) => {
  const lf = 'v=0\no=x 1 1 IN IP4 192.0.2.1\ns=weird  spacing\nt=0 0\nm=audio 1000 RTP/AVP 0\n';
  const out = rewriteSdp(lf, { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: () => 20000 }) ?? '';
  t.equal(out, 'v=0\no=x 1 1 IN IP6 2001:db8::2\ns=weird  spacing\nt=0 0\nm=audio 20000 RTP/AVP 0\n');
});

t.test('exhaustion is a typed result, not an exception', async (t) => {
  t.equal(rewriteSdp(sdp, { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: () => null }), null, 'null: no relay port');
});

t.test('a c= line without an address is not given one (SPEC 11: no amplification)', async (t) => {
  const bare = 'v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 \r\nt=0 0\r\nm=audio 1000 RTP/AVP 0\r\nc=IN IP4 \r\n';
  const out = rewriteSdp(bare, { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: () => 20000 }) ?? '';
  t.equal(out.split('\r\n').filter((l) => l.startsWith('c=')).join('|'), 'c=IN IP4 |c=IN IP4 ', 'left as they were');
});

t.test('a stream on hold: sendonly, recvonly or inactive, at media or session level (RFC 4566 6, RFC 3264 8.4)', async (t) => {
  const held = (lines: string[]): boolean[] => {
    const seen: boolean[] = [];
    rewriteSdp(['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...lines, ''].join('\r\n'), { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: (_i, p) => (p && seen.push(p.held), 30000) });
    return seen;
  };
  t.same(held(['m=audio 4000 RTP/AVP 0', 'a=sendonly', 'm=audio 4002 RTP/AVP 0']), [true, false], 'media level');
  t.same(held(['a=inactive', 'm=audio 4000 RTP/AVP 0', 'm=audio 4002 RTP/AVP 0', 'a=sendrecv']), [true, false], 'session level, overridden by a media level one');
  t.same(held(['m=audio 4000 RTP/AVP 0', 'a=recvonly']), [true]);
  t.same(held(['m=audio 4000 RTP/AVP 0', 'a=sendrecv']), [false]);
});

t.test('a CR or a colon searched for once is still found where it is: lines ended by LF (SPEC 11)', async (t) => {
  // sdpEdits remembers the next CR and ':' past the line it reads: a later line's must not
  // count for an earlier one, and one found early must count when its line comes.
  const read = (lines: string[]): { held: boolean[]; mux: boolean[]; bad: string[] } => {
    const held: boolean[] = [];
    const mux: boolean[] = [];
    const bad: string[] = [];
    const body = ['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...lines, ''].join('\n');
    rewriteSdp(body, { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: (_i, p) => (p && (held.push(p.held), mux.push(p.mux)), 30000), malformed: (why) => bad.push(why) });
    return { held, mux, bad };
  };
  t.same(read(['m=audio 4000 RTP/AVP 0', 'a=sendonly', 'a=rtpmap:0 PCMU/8000']), { held: [true], mux: [false], bad: [] }, 'a flag before a line with a colon is read');
  t.same(read(['m=audio 4000 RTP/AVP 0', 'a=rtcp-mux', 'a=ptime:20', 'a=recvonly']), { held: [true], mux: [true], bad: [] }, 'flags on either side of it');
  t.same(read(['m=audio 4000 RTP/AVP 0', 'a=sendrecv', 'a=ptime:20', 'a=x\ry']), { held: [], mux: [], bad: ['line-end'] }, 'a bare CR three lines on: refused');
  t.same(read(['m=audio 4000 RTP/AVP 0', 'a=sendrecv', ...Array(50).fill('')]), { held: [false], mux: [false], bad: [] }, 'blank lines with neither: as ever');
});

t.test('the m= port is read once: its count goes with it; a line without a port is refused (RFC 4566 5.14)', async (t) => {
  const one = (m: string): { out: string | null; seen: Array<SdpParty | null> } => {
    const seen: Array<SdpParty | null> = [];
    const out = rewriteSdp(['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', m, ''].join('\r\n'), { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: (_i, p) => (seen.push(p), p ? 30000 : 0) });
    return { out: out === null ? null : out.split('\r\n')[5], seen };
  };
  t.same(one('m=audio 49170/2 RTP/AVP 0'), { out: 'm=audio 30000 RTP/AVP 0', seen: [{ addr: '192.0.2.10', rtp: 49170, rtcp: 49171, mux: false, held: false }] }, 'port and count: one relay port');
  t.same(one('m=audio  49170\tRTP/AVP 0'), { out: 'm=audio  30000\tRTP/AVP 0', seen: [{ addr: '192.0.2.10', rtp: 49170, rtcp: 49171, mux: false, held: false }] }, 'the spacing kept');
  for (const bad of ['m=audio 49170/x RTP/AVP 0', 'm=audio 4917x RTP/AVP 0', 'm=audio 49170', 'm=audio']) {
    t.same(one(bad), { out: null, seen: [] }, `${JSON.stringify(bad)}: refused, no stream touched`);
  }
});

t.test('ports a UDP port cannot be: no party gets one (SPEC 11; RFC 768, RFC 3605)', async (t) => {
  const one = (lines: string[]): { out: string | null; seen: Array<SdpParty | null>; bad: string[] } => {
    const seen: Array<SdpParty | null> = [];
    const bad: string[] = [];
    const out = rewriteSdp(['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', ...lines, ''].join('\r\n'), { out: 6, media: { addr: '2001:db8::2', family: 6 }, stream: (_i, p) => (seen.push(p), p ? 30000 : 0), malformed: (why) => bad.push(why) });
    return { out: out === null ? null : out.split('\r\n').slice(5, -1).join('|'), seen, bad };
  };
  const party = (rtp: number, rtcp: number): SdpParty => ({ addr: '192.0.2.10', rtp, rtcp, mux: false, held: false });
  // A port above 65535, or none, is malformed (RFC 4566 5.14): refused before any stream is
  // touched (the caller answers 400 bad-sdp-port), not passed on as something else.
  t.same(one(['m=audio 99999 RTP/AVP 0']), { out: null, seen: [], bad: ['port'] }, 'above 65535: refused');
  t.same(one(['m=audio 4294967296 RTP/AVP 0']), { out: null, seen: [], bad: ['port'] }, '2^32: the same');
  t.same(one(['m=audio 4000 RTP/AVP 0', 'm=video 70000 RTP/AVP 96']), { out: null, seen: [], bad: ['port'] }, 'the second stream\'s: no stream of the SDP is touched');
  t.same(one(['m=audio RTP/AVP 0']), { out: null, seen: [], bad: ['port'] }, 'no port: refused');
  t.same(one(['m=audio 0 RTP/AVP 0']), { out: 'm=audio 0 RTP/AVP 0', seen: [null], bad: [] }, 'port 0: a disabled stream, as ever');
  t.same(one(['m=audio 65535 RTP/AVP 0']), { out: 'm=audio 30000 RTP/AVP 0', seen: [party(65535, 65535)], bad: [] }, '65535: no port above for RTCP, so its own');
  t.same(one(['m=audio 65534 RTP/AVP 0']), { out: 'm=audio 30000 RTP/AVP 0', seen: [party(65534, 65535)], bad: [] }, '65534: RTCP on 65535');
  t.same(one(['m=audio 4000 RTP/AVP 0', 'a=rtcp:70000']), { out: 'm=audio 30000 RTP/AVP 0|a=rtcp:30001', seen: [party(4000, 4001)], bad: [] }, 'a=rtcp:70000 read as none, written as the relay\'s');
  t.same(one(['m=audio 4000 RTP/AVP 0', 'a=rtcp:0']), { out: 'm=audio 30000 RTP/AVP 0|a=rtcp:30001', seen: [party(4000, 4001)], bad: [] }, 'a=rtcp:0 the same');
  // RFC 4566 5: a bare CR ends no line for us; a receiver that splits on it (sdp-transform
  // does) would read the c= after it, which we never rewrote (SPEC 11): refused.
  t.same(one(['m=audio 4000 RTP/AVP 0\rc=IN IP4 192.0.2.99']), { out: null, seen: [], bad: ['line-end'] }, 'a bare CR inside a line: refused');
  t.same(one(['m=audio 4000 RTP/AVP 0', 'a=sendrecv\r\r']), { out: null, seen: [], bad: ['line-end'] }, 'CR CR LF: the same');
  t.same(one(['m=audio 4000 RTP/AVP 0', 'a=sendrecv']), { out: 'm=audio 30000 RTP/AVP 0|a=sendrecv', seen: [party(4000, 4001)], bad: [] }, 'CRLF: as ever');
});
