// Stateless local responses (RFC 3261 8.2.6, 16.3): Via, From, To (tag added), Call-ID
// and CSeq copied; sent back to the source (RFC 3261 18.2.2, RFC 3581 4).
import { createHash } from 'node:crypto';
import { HostPort } from '../net/addr.js';
import { Edits } from '../sip/edits.js';
import { defaultPhrase } from '../sip/errors.js';
import { hasTag } from '../sip/fields.js';
import { lookupHeader } from '../sip/headers.js';
import { badHeadByte, Header, splitList } from '../sip/message.js';
import type { Reason } from '../sip/reasons.js';
import { parseVia, stampVia } from '../sip/via.js';
import { Action, drop } from './types.js';
import type { Transport } from './transport.js';

const NEEDED = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

/**
 * Build a response from the raw request text. Works on messages the full parser refused,
 * as long as Via, From, To, Call-ID and CSeq can be read; otherwise the request is dropped.
 */
export function localReply(text: string, status: number, phrase: string | undefined, reason: Reason, src: HostPort, local: HostPort, product: string, extra = '', transport: Transport = 'udp'): Action {
  const start = text.replace(/^[\r\n]+/, '');
  if (start.startsWith('SIP/')) return drop(reason); // never answer a response
  const method = /^([^ \r\n]+) /.exec(start)?.[1];
  if (!method || method === 'ACK') return drop(reason); // ACK gets no response (RFC 3261 17.2.1)
  const head = start.split(/\r?\n\r?\n/, 1)[0];
  const lines = head.split(/\r?\n(?![ \t])/).slice(1); // unfolded header lines, start line dropped
  const keep: string[] = [];
  const seen = new Set<string>();
  let to = '';
  let callId = '';
  let cseq = '';
  let first = true;
  for (const l of lines) {
    const colon = l.indexOf(':');
    if (colon <= 0) continue;
    const def = lookupHeader(l.slice(0, colon).trim());
    if (!NEEDED.includes(def.name)) continue;
    let line = l;
    if (def.name === 'Via' && first) {
      first = false;
      line = stampViaLine(l, colon, src);
    }
    if (def.name === 'To') to = l;
    if (def.name === 'Call-ID') callId = l;
    if (def.name === 'CSeq') cseq = l;
    if (def.name !== 'Via' && seen.has(def.name)) continue;
    seen.add(def.name);
    keep.push(line);
  }
  for (const n of NEEDED) if (!seen.has(n)) return drop(reason);
  // SPEC 11: an answer holds no control character or bare CR, even one the request had.
  if (keep.some(badHeadByte)) return drop(reason);
  if (!/^[^:]+:\s*\d+\s+\S+/.test(cseq)) return drop(reason);
  const out: string[] = [];
  for (const line of keep) {
    if (line === to && status > 100 && !hasTag(to.slice(to.indexOf(':') + 1))) {
      const tag = createHash('md5').update(callId + '\n' + to + '\n' + cseq).digest('hex').slice(0, 16);
      out.push(line + ';tag=' + tag);
    } else out.push(line);
  }
  const data =
    `SIP/2.0 ${status} ${phrase ?? defaultPhrase(status)}\r\n` +
    out.join('\r\n') + '\r\n' + extra +
    `Server: ${product}\r\nContent-Length: 0\r\n\r\n`;
  return { type: 'send', from: local, to: src, data, transport };
}

/**
 * The top Via of the request we answer, stamped by the one rule (sip/via.ts stampVia). The
 * answer goes straight back on the connection it came on, so nothing is stamped unasked.
 */
function stampViaLine(line: string, colon: number, src: HostPort): string {
  const list = splitList(line, colon + 1, line.length);
  if (list.length === 0) return line;
  const [s, e] = list[0];
  const header: Header = { def: lookupHeader('Via'), name: 'Via', start: 0, valueStart: colon + 1, valueEnd: line.length, end: line.length };
  const via = parseVia(line, s, e, header, true);
  if (!via) return line;
  const edits = new Edits();
  stampVia(via, src, edits, false);
  return edits.apply(line);
}
