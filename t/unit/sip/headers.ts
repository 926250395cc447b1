import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEADERS, implementedRfcs, lookupHeader, NOT_REGISTERED } from '../../../src/sip/headers.js';
import { parseMessage } from '../../../src/sip/message.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

t.test('table is consistent', async (t) => {
  const names = new Set<string>();
  const compacts = new Set<string>();
  for (const h of HEADERS) {
    t.notOk(names.has(h.name.toLowerCase()), `${h.name} once`);
    names.add(h.name.toLowerCase());
    if (h.compact) {
      t.notOk(compacts.has(h.compact), `compact ${h.compact} once`);
      compacts.add(h.compact);
    }
  }
  t.equal(lookupHeader('v').name, 'Via');
  t.equal(lookupHeader('CONTACT').name, 'Contact');
  t.equal(lookupHeader('X-Unknown').kind, 'opaque');
  t.equal(lookupHeader('Authorization').kind, 'digest', 'digest-protected: never rewritten');
  t.equal(lookupHeader('Call-ID').kind, 'opaque', 'identifiers are never edited');
});

t.test('lookupHeader: any case of each spelling, nothing else', async (t) => {
  const flip = (s: string) => [...s].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join('');
  for (const h of HEADERS) {
    for (const spelling of h.compact ? [h.name, h.compact] : [h.name]) {
      for (const v of [spelling, spelling.toLowerCase(), spelling.toUpperCase(), flip(spelling)]) t.equal(lookupHeader(v), h, v);
      // Only A-Z fold: a byte 32 apart from a '-' or a digit is another name (case folding by |32 would take
      // '\r' for '-').
      for (let i = 0; i < spelling.length; i++) {
        const c = spelling.charCodeAt(i);
        if (/[A-Za-z]/.test(spelling[i])) continue;
        for (const other of [c - 32, c + 32, c ^ 32]) {
          const v = spelling.slice(0, i) + String.fromCharCode(other) + spelling.slice(i + 1);
          t.equal(lookupHeader(v).name, '', JSON.stringify(v));
        }
      }
      t.equal(lookupHeader(spelling + 'x').name, '', `${spelling}x`);
    }
  }
  t.equal(lookupHeader('').name, '');
  t.equal(lookupHeader('X'.repeat(40)).name, '');
  t.equal(lookupHeader('Call\rID').name, '', 'CR where the - is');
  t.equal(lookupHeader('\u0143all-ID').name, '', 'a letter past Latin-1 whose low byte is C');
});

t.test('parseMessage finds each header as lookupHeader does, and keeps its name as written', async (t) => {
  const flip = (s: string) => [...s].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join('');
  const names: string[] = ['X-Unknown', 'Vias', 'Vi', 'T', 'To-', 'Call\u0143ID'];
  for (const h of HEADERS) {
    for (const spelling of h.compact ? [h.name, h.compact] : [h.name]) {
      names.push(spelling, spelling.toLowerCase(), spelling.toUpperCase(), flip(spelling), spelling + 'x', spelling.slice(1));
    }
  }
  for (const name of names) {
    const text = `OPTIONS sip:a@192.0.2.1 SIP/2.0\r\n${name} : 0\r\nX-After: 1\r\n\r\n`;
    let m;
    try {
      m = parseMessage(text);
    } catch {
      t.ok(name === '' || /[^\x21-\x7e]/.test(name), `only an empty name or one no token spells is refused: ${JSON.stringify(name)}`);
      continue;
    }
    t.equal(m.headers[0].def, lookupHeader(name), JSON.stringify(name));
    t.equal(m.headers[0].name, name, `${JSON.stringify(name)} as written`);
    t.equal(m.headers[1].name, 'X-After');
  }
});

t.test('headerrfclist.implemented agrees with the table', async (t) => {
  const listed = readFileSync(join(root, 'headerrfclist.implemented'), 'utf8')
    .split('\n').filter((l) => l.startsWith('RFC')).map((l) => Number(/^RFC(\d+)/.exec(l)![1]));
  t.same(listed, implementedRfcs());
});

t.test('every header of the IANA registry snapshot has a rule', async (t) => {
  const rows = readFileSync(join(root, 't', 'data', 'iana-sip-headers.csv'), 'utf8')
    .split('\n').filter((l) => l && !l.startsWith('#')).slice(1);
  const missing: string[] = [];
  for (const row of rows) {
    const [name, compact] = row.split(',');
    const h = lookupHeader(name);
    if (h.name.toLowerCase() !== name.toLowerCase()) missing.push(name);
    else if ((compact || null) !== h.compact) missing.push(`${name} (compact form ${compact})`);
  }
  t.same(missing, [], 'registry headers the table does not handle');
  t.equal(rows.length, 134, 'the registry as published in 2026');
  // And the other way: the table has nothing else but the documented unregistered headers.
  const registered = new Set(rows.map((r) => r.split(',')[0].toLowerCase()));
  const extra = HEADERS.filter((h) => !registered.has(h.name.toLowerCase())).map((h) => h.name);
  t.same(extra.sort(), [...NOT_REGISTERED].sort(), 'headers beyond the registry: Diversion and Remote-Party-ID only');
  for (const n of NOT_REGISTERED) t.equal(lookupHeader(n).kind, 'uri', `${n} carries URIs`);
});
