// parseVia reads a Via by hand (src/sip/via.ts); the regular expressions it replaced are
// kept here as the reading it must agree with, on every input: valid Vias, their mutations
// and random runs of the pieces each rule branches on (LWS, quotes, brackets, long ports).
import t from 'tap';
import { Addr, parseIp } from '../../../src/net/addr.js';
import { lookupHeader } from '../../../src/sip/headers.js';
import { Header } from '../../../src/sip/message.js';
import { MAX_URI_PARAMS } from '../../../src/sip/uri.js';
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

t.test('parseVia reads as the regular expressions did', async (t) => {
  const r = rng(0x5f3759df);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const inputs: string[] = [...VALID];
  for (let i = 0; i < 20000; i++) {
    const base = pick(VALID);
    const k = Math.floor(r() * base.length);
    const what = r();
    inputs.push(what < 0.3 ? base.slice(0, k) + base.slice(k + 1) : what < 0.6 ? base.slice(0, k) + pick(PIECES) + base.slice(k) : base.slice(0, k) + pick(PIECES) + base.slice(k + 1));
    let s = r() < 0.5 ? 'SIP/2.0/UDP ' : '';
    for (let n = 1 + Math.floor(r() * 10); n > 0; n--) s += pick(PIECES);
    inputs.push(s);
  }
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
          if (differ++ < 5) t.same(got, want, JSON.stringify(all) + (any ? ' (any version)' : ''));
        }
      }
    }
  }
  t.equal(differ, 0, `every one of ${inputs.length * 4} readings agrees`);
  t.ok(read > 10000, `many read as a Via (${read}), not only refusals`);
});
