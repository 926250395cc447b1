// RFC 4475 and RFC 5118 torture messages through the engine. The messages under
// t/torture/ were transcribed from the RFCs (addresses kept in documentation ranges);
// responses get our Via on top first, so that they are ours to forward.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signed } from '../src/core/branch.js';
import { Engine } from '../src/core/engine.js';
import { callIdOf, cseqOf } from '../src/sip/fields.js';
import { leadingVias, viaDestination } from '../src/sip/via.js';
import { engineFor } from './lib/engine.js';
import { parseHostPort } from '../src/net/addr.js';
import { parseMessage, splitList } from '../src/sip/message.js';
import { findUri, hostIp, parseUri } from '../src/sip/uri.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), 'torture');
const expect = readFileSync(join(root, 'expect'), 'latin1').split('\n').filter((l) => l.trim() && !l.startsWith('#'));

/** The branch the engine signs for the request this response answers (a made-up one if unreadable). */
function ourBranch(engine: Engine, text: string): string {
  try {
    const m = parseMessage(text);
    const [next] = leadingVias(m, 1);
    const hop = next ? viaDestination(next) : null;
    const callId = callIdOf(m);
    const cseq = cseqOf(m);
    if (next && hop && callId && cseq) return signed(engine.mac, next, callId, cseq.num, hop);
  } catch {
    /* a response the parser refuses: any branch */
  }
  return 'z9hG4bK64t';
}

for (const line of expect) {
  const [name, outcome] = line.trim().split(/\s+/);
  t.test(name, async (t) => {
    const { engine } = engineFor(join(root, 'config'), { product: 'sipproxy64/test' });
    const v6 = name.startsWith('rfc5118/');
    const src = parseHostPort(v6 ? '[2001:db8::99]:5060' : '192.0.2.99:5060')!;
    const local = parseHostPort(v6 ? '[2001:db8:64::10]:5060' : '192.0.2.50:5060')!;
    let text = readFileSync(join(root, name + '.sip'), 'latin1');
    if (text.startsWith('SIP/')) {
      // Our Via on top, signed as the engine would have signed it for the request (SPEC 11).
      const eol = text.indexOf('\r\n') + 2;
      text = text.slice(0, eol) + `Via: SIP/2.0/UDP ${v6 ? '[2001:db8:64::10]' : '192.0.2.50'}:5060;branch=${ourBranch(engine, text)}\r\n` + text.slice(eol);
    }
    const out = engine.handle(text, src, local);
    t.equal(engine.counters.get('internal-error') ?? 0, 0, 'no internal error');
    t.equal(out.length, 1, 'one outcome');
    const a = out[0];
    const status = a.type === 'send' && a.data.startsWith('SIP/2.0 ') && !text.startsWith('SIP/') ? Number(a.data.slice(8, 11)) : 0;
    if (outcome === 'forward') {
      t.equal(a.type, 'send', `forwarded (${a.type === 'drop' ? a.reason : ''})`);
      t.equal(status, 0, 'not answered locally');
      if (a.type !== 'send' || status) return;
      if (!text.startsWith('SIP/')) t.not(a.to.family, src.family, 'crosses to the other family');
      // Every IP literal of the incoming family in URI-carrying headers was translated.
      const m = parseMessage(a.data);
      const uris: Array<[number, number]> = [[m.uriStart, m.uriEnd]];
      for (const h of m.headers) {
        if (h.def.kind !== 'uri' && h.def.kind !== 'route') continue;
        for (const [s, e] of splitList(m.text, h.valueStart, h.valueEnd)) {
          const u = findUri(m.text, s, e);
          if (u) uris.push([u.start, u.end]);
        }
      }
      for (const [s, e] of uris) {
        const u = parseUri(m.text, s, e);
        if (!u) continue;
        const ip = hostIp(m.text, u.hostStart, u.hostEnd);
        if (ip && !engine.map.isOurs(ip.addr)) t.not(ip.family, src.family, `translated: ${m.text.slice(s, e)}`);
      }
    } else if (outcome === 'reject') {
      t.ok(a.type === 'drop' || (status >= 400 && status < 600), `rejected (${a.type === 'drop' ? a.reason : status})`);
    } else {
      t.equal(status, Number(outcome), `answered ${outcome}`);
    }
  });
}
