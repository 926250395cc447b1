#!/usr/bin/env node
// List headers of the IANA registry snapshot (t/data/iana-sip-headers.csv, or a fresh
// registry CSV given as argument) that the header table does not handle. Needs `npm run build`.
import { readFileSync } from 'node:fs';
import { lookupHeader } from '../../dist/src/sip/headers.js';

const file = process.argv[2] ?? new URL('../data/iana-sip-headers.csv', import.meta.url);
const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).slice(1);
let n = 0;
for (const row of rows) {
  const name = row.split(',')[0].trim();
  if (lookupHeader(name).name.toLowerCase() !== name.toLowerCase()) {
    console.log(`missing: ${name}`);
    n++;
  }
}
console.log(`${rows.length} registry headers, ${n} missing`);
process.exitCode = n === 0 ? 0 : 1;
