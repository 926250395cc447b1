// Readers that scan by hand where a regular expression read before (an INVITE's allocations:
// bench/rewrite): the expressions they replaced are kept here as the reading each must agree
// with, on every input: valid values, their mutations and random runs of the pieces each
// rule branches on (LWS, folded lines, quotes, brackets, long numbers, Unicode spaces).
import t from 'tap';
import { Addr, parseIp } from '../../../src/net/addr.js';
import { lookupHeader } from '../../../src/sip/headers.js';
import { cseqOf } from '../../../src/sip/fields.js';
import { Header, parseMessage, unfold } from '../../../src/sip/message.js';
import { MAX_URI_PARAMS } from '../../../src/sip/uri.js';
import { SipError } from '../../../src/sip/errors.js';
import { connAt, flagAt, mPortAt } from '../../../src/sdp/lines.js';
import { parseVia } from '../../../src/sip/via.js';

const VIA = /^SIP[ \t\r\n]*\/[ \t\r\n]*2\.0[ \t\r\n]*\/[ \t\r\n]*([A-Za-z0-9-]+)[ \t\r\n]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:[ \t\r\n]*:[ \t\r\n]*(\d{1,5}))?/;
const ANY_VIA = new RegExp(VIA.source.replace('SIP', '[A-Za-z0-9.!%*_+`\'~-]+').replace('2\\.0', '[A-Za-z0-9.!%*_+`\'~-]+'));
const VIA_PARAM = /[ \t\r\n]*;[ \t\r\n]*([A-Za-z0-9.!%*_+`'~-]+)(?:[ \t\r\n]*=[ \t\r\n]*("(?:[^"\\]|\\.)*"|\[[0-9A-Fa-f:.]+\]|[^;, \t\r\n]+))?/y;

/** The regex reading (sipproxy64 up to 2026-12), the oracle. */
function oracle(text: string, s: number, e: number, header: Header, anyVersion: boolean): unknown {
  const v = text.slice(s, e);
  const m = (anyVersion ? ANY_VIA : VIA).exec(v);
  if (!m) return null;
  const host = m[2];
  let hostAddr: Addr | null = null;
  if (host.startsWith('[')) {
    hostAddr = parseIp(host.slice(1, -1));
    if (!hostAddr || hostAddr.family !== 6) return null;
  } else if (/^[\d.]+$/.test(host)) {
    hostAddr = parseIp(host);
    if (!hostAddr) return null;
  }
  const port = m[3] ? Number(m[3]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  const params = [];
  let p = m[0].length;
  for (;;) {
    VIA_PARAM.lastIndex = p;
    const pm = VIA_PARAM.exec(v);
    if (!pm) break;
    if (params.length === MAX_URI_PARAMS) return null;
    params.push({ name: pm[1].toLowerCase(), value: pm[2] ?? null, start: s + p, end: s + p + pm[0].length });
    p += pm[0].length;
  }
  if (v.slice(p).trim() !== '') return null;
  return { start: s, end: e, header, transport: m[1].toUpperCase(), host, hostAddr, port, sentByEnd: s + m[0].length, params };
}

const header: Header = { def: lookupHeader('Via'), name: 'Via', start: 0, valueStart: 0, valueEnd: 0, end: 0 };
const VALID = [
  'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa;rport',
  'SIP / 2.0 / tcp [2001:db8::5] : 5061 ; Branch = z9hG4bKb ; received=192.0.2.1 ; rport=5070',
  'SIP/2.0/TLS-SCTP host.example.net;maddr=[2001:db8::9];ttl=1;x="a \\" b";alias',
  'SIP/2.0/WSS h;oc;oc-validity=0;Received="q\\\r"',
];
const PIECES = ['SIP', 'sip', 'SIP/2.0/', '/', ' / ', '2.0', '3.1', 'UDP', 'tls-sctp', 'Ws', ' ', '\t', '\r\n ', '192.0.2.1', '010.0.0.1',
  '[2001:db8::1]', '[::1', '[zz]', '[]', 'h.example', '-', ':', ':5060', ': 65535', ':0', ':123456', ':005060', ':99999', ';', ' ; ', 'branch', 'RPORT',
  'received', '=', '= ', '"a b"', '"a\\"b"', '"open', '"\\\r"', '"\\\u2028"', '[::1]x', ',', 'x,y', '\u00a0', '\v', '\u2003', 'é', '\u0100', '1.2.3'];

/** An input as an assertion's name: ASCII only (a U+2028 in a name breaks the TAP stream, and the failure with it). */
const shown = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A fixed PRNG (xorshift), so that a failure repeats. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * Inputs for a reader: the valid ones, `n` of them with one character taken out, a piece put
 * in, or a piece put over it, and `n` runs of up to `most` pieces after `prefix()`.
 */
function inputsFrom(seed: number, valid: readonly string[], pieces: readonly string[], n: number, most: number, prefix: () => string = () => ''): string[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const out = [...valid];
  for (let i = 0; i < n; i++) {
    const base = pick(valid);
    const k = Math.floor(r() * base.length);
    const what = r();
    out.push(base.slice(0, k) + (what < 0.3 ? '' : pick(pieces)) + base.slice(what < 0.6 ? k + 1 : k));
    let s = prefix();
    for (let m = 1 + Math.floor(r() * most); m > 0; m--) s += pick(pieces);
    out.push(s);
  }
  return out;
}

t.test('parseVia reads as the regular expressions did', async (t) => {
  const half = rng(0x9e3779b9);
  const inputs = inputsFrom(0x5f3759df, VALID, PIECES, 20000, 10, () => (half() < 0.5 ? 'SIP/2.0/UDP ' : ''));
  inputs.push('SIP/2.0/UDP h' + ';p'.repeat(MAX_URI_PARAMS), 'SIP/2.0/UDP h' + ';p'.repeat(MAX_URI_PARAMS + 1));
  let differ = 0;
  let read = 0;
  for (const text of inputs) {
    for (const any of [false, true]) {
      // Inside a longer text too: nothing past e may count.
      for (const [pre, post] of [['', ''], ['Via: ', ';x=1\r\n']]) {
        const all = pre + text + post;
        const want = oracle(all, pre.length, pre.length + text.length, header, any);
        const got = parseVia(all, pre.length, pre.length + text.length, header, any);
        if (want) read++;
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          if (differ++ < 5) t.same(got, want, shown(all) + (any ? ' (any version)' : ''));
        }
      }
    }
  }
  t.equal(differ, 0, `every one of ${inputs.length * 4} readings agrees`);
  t.ok(read > 10000, `many read as a Via (${read}), not only refusals`);
});

/** The CSeq regex reading (up to 2026-12), the oracle. */
function cseqOracle(value: string): unknown {
  const r = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(unfold(value));
  if (!r || Number(r[1]) >= 2 ** 31) return null;
  return { num: String(Number(r[1])), method: r[2] };
}

t.test('cseqOf reads as the regular expression did', async (t) => {
  const VALUES = ['1 INVITE', '0002147483647 ACK', '2147483647 BYE', '2147483648 BYE', '12345678901 X', '00000000001 X', '7 \r\n INVITE', '7\r\n\tinvite', '9 REGISTER'];
  const PIECES = ['1', '0', '99', ' ', '\t', '\r\n ', '\u00a0', '\v', '\u3000', 'INVITE', 'invite', 'X-1', '!', '@', ',', 'é', '2147483648'];
  const inputs = inputsFrom(0x2545f491, VALUES, PIECES, 5000, 5);
  let differ = 0;
  let read = 0;
  for (const v of inputs) {
    let m;
    try {
      m = parseMessage(`OPTIONS sip:a@192.0.2.1 SIP/2.0\r\nCSeq: ${v}\r\n\r\n`);
    } catch {
      continue; // a value no message carries (a bare line end, a NUL)
    }
    const h = m.hot.cseq;
    if (!h) continue;
    const want = cseqOracle(m.text.slice(h.valueStart, h.valueEnd));
    const got = cseqOf(m);
    if (want) read++;
    if (JSON.stringify(got) !== JSON.stringify(want) && differ++ < 5) t.same(got, want, shown(v));
  }
  t.equal(differ, 0, `every one of ${inputs.length} CSeq values agrees`);
  t.ok(read > 1000, `many read as a CSeq (${read})`);
});

/** The start line as parseMessage read it with slices and regexes (up to 2026-12), the oracle: its fields, or the reason it was refused. */
function startLineOracle(sl: string): unknown {
  const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
  if (sl.startsWith('SIP/')) {
    const m = /^SIP\/(\d+\.\d+) ([1-6]\d\d)(?: (.*))?$/.exec(sl);
    if (!m) return 'bad-status-line';
    if (m[1] !== '2.0') return 'bad-version';
    return { isRequest: false, method: '', uriStart: 0, uriEnd: 0, status: Number(m[2]) };
  }
  const sp1 = sl.indexOf(' ');
  const sp2 = sl.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) return 'bad-request-line';
  const method = sl.slice(0, sp1);
  if (!TOKEN.test(method)) return 'bad-method';
  const uri = sl.slice(sp1 + 1, sp2);
  if (uri === '' || /[ \t<>]/.test(uri)) return 'bad-request-uri';
  const ver = sl.slice(sp2 + 1);
  if (!/^SIP\/\d+\.\d+$/i.test(ver)) return 'bad-request-line';
  if (ver.toUpperCase() !== 'SIP/2.0') return 'bad-version';
  return { isRequest: true, method, uriStart: sp1 + 1, uriEnd: sp2, status: 0 };
}

t.test('parseMessage reads the start line as its regular expressions did', async (t) => {
  const LINES = ['INVITE sip:a@192.0.2.1 SIP/2.0', 'X-Y sip:b@[2001:db8::1]:5060;lr sip/2.0', 'SIP/2.0 200 OK', 'SIP/2.0 180', 'SIP/2.0 699 a b c', 'OPTIONS * SIP/12.34'];
  const PIECES = [' ', '  ', '\t', '\r', 'SIP/', 'sIp/', 'SIP', '/', '2.0', '2.', '.0', '20', '2.00', '02.0', '200', '099', '700', '6000', 'OK', 'INVITE',
    'invite', '<', '>', 'sip:x@h', '@', 'é', '\u2028', '\u0100', '\u00a0', ';', ':'];
  const lines = inputsFrom(0x1b873593, LINES, PIECES, 10000, 8);
  const START_REASONS = new Set(['bad-status-line', 'bad-version', 'bad-request-line', 'bad-method', 'bad-request-uri']);
  let differ = 0;
  const seen = new Set<string>();
  for (const sl of lines) {
    if (sl.startsWith('\r')) continue; // CRs before the start line are skipped (RFC 3261 7.5): another line is read
    for (const pre of ['', '\r\n']) {
      const text = `${pre}${sl}\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\r\n`;
      const want = startLineOracle(sl);
      let got: unknown;
      try {
        const m = parseMessage(text);
        const at = m.isRequest ? pre.length : 0; // (a response has no Request-URI: 0)
        got = { isRequest: m.isRequest, method: m.method, uriStart: m.uriStart - at, uriEnd: m.uriEnd - at, status: m.status };
      } catch (err) {
        if (!(err instanceof SipError)) throw err;
        got = err.reason.code;
        // A line the start-line rules pass may be refused after them (a bare CR): as before.
        if (typeof want !== 'string' && !START_REASONS.has(got as string)) got = want;
      }
      seen.add(typeof want === 'string' ? want : 'read');
      if (JSON.stringify(got) !== JSON.stringify(want) && differ++ < 5) t.same(got, want, shown(text));
    }
  }
  t.equal(differ, 0, `every one of ${lines.length * 2} start lines agrees`);
  t.same([...seen].sort(), [...START_REASONS, 'read'].sort(), 'each refusal and reading occurs');
});

/** The SDP line regexes (src/sdp/rewrite.ts up to 2026-12), the oracles, each on the line's copy. */
const SDP_ORACLES: Record<string, (line: string) => unknown> = {
  m: (l) => {
    const m = /^(m=\S+\s+)(\d+)(?:\/\d+)?(?=\s)/.exec(l);
    return m ? [m[1].length, m[1].length + m[2].length, m[0].length] : null;
  },
  c: (l) => /^IN\s+IP[46]\s+([^\s/]+)/i.exec(l.slice(2))?.[1] ?? null,
  a: (l) => (/^a=rtcp-mux\s*$/i.test(l) ? 'rtcp-mux' : /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/i.test(l) ? l.slice(2).trim().toLowerCase() : null),
};

/** The hand readers, on the line inside a longer text (nothing past its end may count), as the oracles answer. */
const M = new Int32Array(3);
const SDP_READERS: Record<string, (text: string, s: number, e: number) => unknown> = {
  m: (text, s, e) => (mPortAt(text, s, e, M) ? [M[0] - s, M[1] - s, M[2] - s] : null),
  c: (text, s, e) => connAt(text, s + 2, e),
  a: (text, s, e) => flagAt(text, s, e),
};

t.test('the SDP line readers read as the regular expressions did', async (t) => {
  const LINES: Record<string, string[]> = {
    m: ['m=audio 49170 RTP/AVP 0', 'm=video 0/2 RTP/SAVPF 96', 'm=audio 65536 x', 'm=a 1/'],
    c: ['c=IN IP4 192.0.2.1', 'c=in ip6 2001:db8::1/127', 'c=IN IP4 0.0.0.0', 'c=IN  IP4\t224.2.1.1/127/3'],
    a: ['a=sendrecv', 'a=SendOnly  ', 'a=rtcp-mux', 'A=inactive', 'a=recvonly x'],
  };
  const PIECES = [' ', '  ', '\t', '\u00a0', '\u2028', '\u3000', '\v', '/', '0', '7', '65535', 'IN', 'in', 'IP4', 'ip6', 'IP5', 'x', 'é', '\u0130', '\u0131',
    'sendrecv', 'rtcp-mux', '-', '=', 'm=', 'a='];
  let differ = 0;
  let read = 0;
  for (const kind of Object.keys(LINES)) {
    const inputs = inputsFrom(0x68e31da4 + kind.charCodeAt(0), LINES[kind], PIECES, 5000, 6, () => kind + '=');
    for (const line of inputs) {
      const want = SDP_ORACLES[kind](line);
      const text = `v=0\r\n${line} 9\r\n`;
      const got = SDP_READERS[kind](text, 5, 5 + line.length);
      if (want !== null && want !== -1) read++;
      if (JSON.stringify(got) !== JSON.stringify(want) && differ++ < 5) t.same(got, want, `${kind}: ${shown(line)}`);
    }
  }
  t.equal(differ, 0, 'every line agrees');
  t.ok(read > 2000, `many read (${read})`);
});
