#!/usr/bin/env node
// Regenerate headerrfclist.implemented from the header table (after `npm run build`):
//   node t/tools/headerrfclist.mjs > headerrfclist.implemented
import { HEADERS, implementedRfcs } from '../../dist/src/sip/headers.js';

const out = ['# RFCs whose header fields sipproxy64 handles (generated from src/sip/headers.ts:', '# node t/tools/headerrfclist.mjs > headerrfclist.implemented). Per RFC: its headers.'];
for (const rfc of implementedRfcs()) {
  out.push(`RFC${rfc} ${HEADERS.filter((h) => h.rfc === rfc).map((h) => h.name).join(' ')}`);
}
process.stdout.write(out.join('\n') + '\n');
