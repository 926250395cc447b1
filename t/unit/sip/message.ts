import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Edits } from '../../../src/sip/edits.js';
import { SipError } from '../../../src/sip/errors.js';
import { hasLongHeader, headerValue, MAX_LINE, parseMessage, splitList, unfold } from '../../../src/sip/message.js';
import { lcg } from '../../lib/rand.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const msg = (s: string) => s.replace(/\n/g, '\r\n');

t.test('request line, headers, compact forms, folding', async (t) => {
  const m = parseMessage(msg('INVITE sip:a@192.0.2.1 SIP/2.0\nv: SIP/2.0/UDP 192.0.2.2\ni: x@y\nSubject: one\n two\nl: 4\n\nbodyEXTRA'));
  t.ok(m.isRequest);
  t.equal(m.method, 'INVITE');
  t.equal(m.text.slice(m.uriStart, m.uriEnd), 'sip:a@192.0.2.1');
  t.same(m.headers.map((h) => h.def.name), ['Via', 'Call-ID', 'Subject', 'Content-Length']);
  t.equal(headerValue(m, m.headers[2]), 'one\r\n two', 'folded value kept raw');
  t.equal(m.text.slice(m.bodyStart, m.bodyEnd), 'body', 'Content-Length frames the body');
});

t.test('status line', async (t) => {
  const m = parseMessage(msg('SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h\n\n'));
  t.notOk(m.isRequest);
  t.equal(m.status, 180);
});

t.test('malformed input gives coded errors', async (t) => {
  const code = (s: string) => {
    try {
      parseMessage(s);
      return 'ok';
    } catch (e) {
      return e instanceof SipError ? `${e.status}:${e.reason.code}` : 'throw';
    }
  };
  t.equal(code('\r\n\r\n'), '0:keepalive');
  t.equal(code('INVITE sip:a@b SIP/2.0\r\nVia: x\r\n'), '0:truncated', 'no empty line');
  t.equal(code(msg('INVITE sip:a@b SIP/2.0\n bad\n\n')), '400:bad-folding');
  t.equal(code(msg('INVITE sip:a@b SIP/2.0\nno colon\n\n')), '400:bad-header-line');
  t.equal(code(msg('INVITE sip:a@b SIP/2.0\nl: 10\n\nabc')), '400:short-body');
  t.equal(code(msg('INVITE sip:a@b SIP/2.0\nl: -1\n\n')), '400:bad-content-length');
  t.equal(code(msg('INVITE sip:a@b SIP/3.0\n\n')), '505:bad-version');
  t.equal(code(msg('SIP/2.0 99 x\n\n')), '0:bad-status-line');
  t.equal(code('x'.repeat(70000)), '513:too-large');
  t.equal(code(msg('INVITE sip:a@b SIP/2.0\n' + 'X-A: 1\n'.repeat(300) + '\n')), '400:too-many-headers');
});

t.test('NUL, VT, FF: only as a quoted-pair in a quoted string (RFC 3261 25.1, RFC 4475 3.1.1.3)', async (t) => {
  const code = (head: string) => {
    try {
      parseMessage(msg(`MESSAGE sip:a@192.0.2.1 SIP/2.0\n${head}\nContent-Length: 3\n\n`) + '\x00\x0b\r');
      return 'ok';
    } catch (e) {
      return e instanceof SipError ? `${e.status}:${e.reason.code}` : 'throw';
    }
  };
  t.equal(code('To: "a b" <sip:b@192.0.2.2>\tx'), 'ok', 'HT, and any byte in the body');
  t.equal(code('To: "\xc3\xa9t\xc3\xa9" <sip:b@192.0.2.2>'), 'ok', 'UTF-8 (bytes over 7F)');
  for (const c of ['\x01', '\x07', '\x1b', '\x1f', '\x7f']) t.equal(code(`Call-ID: a${c}@192.0.2.3`), 'ok', `${JSON.stringify(c)}: no parser reads it as structure`);
  for (const c of ['\x00', '\x0b', '\x0c']) {
    t.equal(code(`Call-ID: a${c}@192.0.2.3`), '400:control-char', `${JSON.stringify(c)} in a word`);
    t.equal(code(`To: "BEL:\\${c}" <sip:b@192.0.2.2>`), 'ok', `${JSON.stringify(c)} as a quoted-pair`);
    t.equal(code(`Call-ID: a\\${c}@192.0.2.3`), '400:control-char', `${JSON.stringify(c)} after a backslash outside quotes`);
    t.equal(code(`To: "a" \\${c} <sip:b@192.0.2.2>`), '400:control-char', `${JSON.stringify(c)} after a quoted string`);
    t.equal(code(`To: "a ${c}" <sip:b@192.0.2.2>`), '400:control-char', `${JSON.stringify(c)} unescaped in quotes`);
    t.equal(code(`To: "a\\${c}" <sip:b@192.0.2.2>\nSubject: ${c}`), '400:control-char', `${JSON.stringify(c)} after a quoted-pair one`);
  }
  t.equal(code('To: "a\\\x00\n  b\\\x0c" <sip:b@192.0.2.2>'), 'ok', 'a quoted string on a folded line');
  t.equal(code('Subject: "open\nTo: x\\\x00'), '400:control-char', 'a quote left open ends with its header');
  t.equal(code('To: "a\\\x00" <sip:b@192.0.2.2>\nSubject: x\ry'), '400:bare-cr', 'a bare CR after a quoted-pair');
  t.equal(code('To: "a\\\ry" <sip:b@192.0.2.2>'), '400:bare-cr', 'no CR as a quoted-pair');
  t.equal(code('X-A: ' + '"\\\x00'.repeat(2000)), '400:control-char', 'quotes that open and close');
  t.equal(code('X-A: "' + '\\\x00'.repeat(2000) + '"'), 'ok', 'many quoted-pairs');
});

t.test('splitList does not split inside quotes or <>', async (t) => {
  const v = '"Doe, J" <sip:a@b;x=1,2>, <sip:c@d>;q=0.5 , sip:e@f';
  t.same(splitList(v, 0, v.length).map(([s, e]) => v.slice(s, e)), ['"Doe, J" <sip:a@b;x=1,2>', '<sip:c@d>;q=0.5', 'sip:e@f']);
  const q = '"a \\" , b" <sip:x@y>';
  t.equal(splitList(q, 0, q.length).length, 1, 'escaped quote inside a quoted string');
});

t.test('splitList reads as the character loop it skips for a value with no comma does', async (t) => {
  // The loop of every value, as it was before the no-comma path (7b37bb2).
  const loop = (text: string, start: number, end: number): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    const push = (s: number, e: number): void => {
      while (s < e && ' \t\r\n'.includes(text[s])) s++;
      while (e > s && ' \t\r\n'.includes(text[e - 1])) e--;
      if (e > s) out.push([s, e]);
    };
    let inQuote = false;
    let inAngle = false;
    let elStart = start;
    for (let i = start; i < end; i++) {
      const c = text[i];
      if (inQuote) {
        if (c === '\\') i++;
        else if (c === '"') inQuote = false;
      } else if (c === '"') inQuote = true;
      else if (c === '<') inAngle = true;
      else if (c === '>') inAngle = false;
      else if (c === ',' && !inAngle) {
        push(elStart, i);
        elStart = i + 1;
      }
    }
    push(elStart, end);
    return out;
  };
  const alphabet = [',', '"', '<', '>', '\\', ' ', '\t', '\r\n ', 'a'];
  const rand = lcg(7);
  let n = 0;
  for (let k = 0; k < 20000; k++) {
    let text = '';
    for (let len = rand(24); len > 0; len--) text += alphabet[rand(alphabet.length)];
    // A value inside a longer text: a comma past its end must not count.
    const start = rand(text.length + 1);
    const end = start + rand(text.length - start + 1);
    if (JSON.stringify(splitList(text, start, end)) !== JSON.stringify(loop(text, start, end))) t.fail(`differs: ${JSON.stringify([text, start, end])}`);
    n++;
  }
  t.equal(n, 20000, 'the same spans for 20,000 values cut from random text');
});

t.test('round trip: parsing with no edit gives back identical bytes', async (t) => {
  const roots = [join(here, '..', '..', 'cases'), join(here, '..', '..', 'torture', 'rfc4475'), join(here, '..', '..', 'torture', 'rfc5118')];
  let n = 0;
  for (const root of roots) {
    for (const entry of readdirSync(root, { recursive: true }) as string[]) {
      if (!entry.endsWith('.sip')) continue;
      const text = readFileSync(join(root, entry), 'latin1');
      let m;
      try {
        m = parseMessage(text);
      } catch {
        continue; // malformed on purpose
      }
      t.equal(new Edits().apply(text), text, entry);
      t.ok(m.bodyEnd <= text.length);
      n++;
    }
  }
  t.ok(n > 60, `${n} messages round-tripped`);
});

t.test('Edits refuse overlaps and keep insertion order', async (t) => {
  const e = new Edits();
  e.insert(3, 'X');
  e.insert(3, 'Y');
  e.replace(0, 1, 'A');
  t.equal(e.apply('abcdef'), 'AbcXYdef');
  const bad = new Edits();
  bad.replace(0, 3, '');
  bad.replace(2, 4, '');
  t.throws(() => bad.apply('abcdef'));
});

t.test('unfold reads as the RFC 3261 7.3.1 regex did, in one pass', async (t) => {
  // The regex it replaces (quadratic in a run of SP not followed by a line end: SPEC 11).
  const byRegex = (v: string): string => v.replace(/[ \t]*\r?\n[ \t]+/g, ' ');
  t.equal(unfold('a,\r\n b'), 'a, b');
  t.equal(unfold('a \t\r\n\t  b\r\n c'), 'a b c');
  t.equal(unfold('a\r\nb'), 'a\r\nb', 'a line end without SP after it is no fold');
  t.equal(unfold('a \r\r\n b'), 'a \r b', 'only the CR of the line end goes');
  // Strings of the characters that matter, every one of length 1 to 6, and random longer ones.
  const alphabet = [' ', '\t', '\r', '\n', 'a'];
  let differ = 0;
  let tried = 0;
  const check = (v: string): void => {
    tried++;
    if (unfold(v) !== byRegex(v)) differ++;
  };
  const all = (prefix: string, n: number): void => {
    check(prefix);
    if (n > 0) for (const c of alphabet) all(prefix + c, n - 1);
  };
  all('', 6);
  const rnd = lcg(7);
  for (let i = 0; i < 20000; i++) check(Array.from({ length: 1 + rnd(40) }, () => alphabet[rnd(5)]).join(''));
  t.equal(differ, 0, `${tried} strings read the same`);
});

t.test('hasLongHeader measures a header with its folded lines as parseMessage does', async (t) => {
  // A header of exactly n bytes from its name to the LF of its last line, folded once.
  const head = (n: number) => {
    const first = 'X-Long: ' + 'a'.repeat(100) + '\r\n';
    return `OPTIONS sip:a@192.0.2.1 SIP/2.0\r\n${first} ${'b'.repeat(n - first.length - 2)}\r\nTo: <sip:a@192.0.2.1>\r\n\r\n`;
  };
  for (const n of [MAX_LINE, MAX_LINE + 1]) {
    let parsed = true;
    try {
      parseMessage(head(n));
    } catch {
      parsed = false;
    }
    t.equal(hasLongHeader(head(n)), !parsed, `${n} bytes: ${parsed ? 'read, and not long' : 'refused, and long'}`);
  }
  t.notOk(hasLongHeader(`OPTIONS sip:a@192.0.2.1 SIP/2.0\r\nTo: <sip:a@192.0.2.1>\r\n\r\n${'c'.repeat(MAX_LINE * 2)}\r\n`), 'a long line in the body is no header');
  t.notOk(hasLongHeader('OPTIONS sip:a@192.0.2.1 SIP/2.0'), 'a start line alone');
  t.ok(hasLongHeader(`SIP/2.0 200 OK\r\nContact: ${'<sip:a@192.0.2.1>,\r\n '.repeat(MAX_LINE / 16)}<sip:b@192.0.2.1>\r\n\r\n`), 'many folded lines of one header');
});
