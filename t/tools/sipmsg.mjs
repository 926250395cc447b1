#!/usr/bin/env node
// Turn a SIP message written with plain LF line ends into wire form for a fixture:
// every LF becomes CRLF, and "Content-Length: auto" (or "l: auto") gets the body's length.
//   node t/tools/sipmsg.mjs < draft.txt > t/cases/NAME/1.sip
import { readFileSync } from 'node:fs';

const text = readFileSync(0, 'latin1').replace(/\r?\n/g, '\r\n');
const split = text.indexOf('\r\n\r\n');
const body = split < 0 ? '' : text.slice(split + 4);
const out = text.replace(/^((?:Content-Length|l)[ \t]*:[ \t]*)auto\r$/im, (_, p) => `${p}${Buffer.byteLength(body, 'latin1')}\r`);
process.stdout.write(Buffer.from(out, 'latin1'));
