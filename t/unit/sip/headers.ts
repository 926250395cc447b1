import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEADERS, implementedRfcs, lookupHeader, NOT_REGISTERED } from '../../../src/sip/headers.js';

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
