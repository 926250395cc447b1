// Every directory under t/cases/ is a test. UPDATE_EXPECTED=1 rewrites the expected files.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sdpTransform from 'sdp-transform';
import { listCases, runCase } from './lib/fixture.js';
import { parseMessage } from '../src/sip/message.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), 'cases');
const update = process.env.UPDATE_EXPECTED === '1';

for (const name of listCases(root)) {
  t.test(name, async (t) => {
    const dir = join(root, name);
    const { output, actions } = runCase(dir);
    const file = join(dir, 'expected');
    if (update || !existsSync(file)) writeFileSync(file, Buffer.from(output, 'latin1'));
    t.equal(output, readFileSync(file, 'latin1'), 'output matches expected');
    // Oracle: every SDP we send parses with sdp-transform and is in the family it goes to.
    for (const list of actions) {
      for (const a of list) {
        if (a.type !== 'send') continue;
        const m = parseMessage(a.data);
        const body = a.data.slice(m.bodyStart, m.bodyEnd);
        const ct = m.headers.find((h) => h.def.kind === 'ctype');
        if (!ct || !/application\/sdp/i.test(a.data.slice(ct.valueStart, ct.valueEnd))) continue;
        const sdp = sdpTransform.parse(body);
        const fam = a.to.family;
        if (sdp.connection) t.equal(sdp.connection.version, fam, 'session c= family');
        if (sdp.origin) t.equal(sdp.origin.ipVer, fam, 'o= family');
        for (const md of sdp.media) {
          if (md.connection) t.equal(md.connection.version, fam, 'media c= family');
          t.notOk((md as { candidates?: unknown[] }).candidates, 'no ICE candidates');
        }
      }
    }
  });
}
