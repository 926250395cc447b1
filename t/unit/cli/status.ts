// `sipproxy64 status` prints strangers' text (Call-IDs, users, contacts) to the operator's
// terminal: control characters are shown as \xNN, never sent (SPEC 11).
import t from 'tap';
import { printable, registrationsTable, sessionsTable } from '../../../src/cli/status.js';
import type { StreamInfo } from '../../../src/daemon/relay.js';

const HOSTILE = '\x1b]0;owned\x07\x1b[2J\x9b31m\x7f';
const SHOWN = '\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x7f';
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/; // any but the line ends the table writes

t.test('printable: C0, DEL and C1 as \\xNN; other text as it is', async (t) => {
  t.equal(printable(HOSTILE), SHOWN);
  t.equal(printable('1-2@192.0.2.10 é <sip:a@[2001:db8::1]>'), '1-2@192.0.2.10 é <sip:a@[2001:db8::1]>');
});

t.test('the sessions table and its verdicts send no control character', async (t) => {
  const q = { packets: 1, lost: 0, jitterMs: 0, idleSeconds: 0, foreign: 0 } as unknown as StreamInfo['from4'];
  const s: StreamInfo = { callId: `${HOSTILE}@192.0.2.10`, index: 0, port: 20000, party4: '192.0.2.10:4000', party6: null, packets4: 1, packets6: 0, ageSeconds: 1, idleSeconds: 0, held: false, from4: q, from6: q, verdict: `waiting ${HOSTILE}`, verdictKind: 'waiting' };
  const out = sessionsTable([s]);
  t.notMatch(out, CONTROL, 'no control character reaches the terminal');
  t.match(out, `${SHOWN}@192.0.2.10`, 'the Call-ID shown escaped');
  t.match(out, `#0: waiting ${SHOWN}`, 'and in its verdict line');
});

t.test('the registrations table sends no control character', async (t) => {
  const now = 1_000_000;
  const out = registrationsTable({ registrar: [{ aor: `sip:${HOSTILE}@example.net`, bindings: [{ contact: `<sip:${HOSTILE}@192.0.2.10>`, expires: now + 60_000, source: '192.0.2.10:5060' }] }] }, now);
  t.notMatch(out, CONTROL, 'no control character reaches the terminal');
  t.match(out, `sip:${SHOWN}@example.net`, 'the user shown escaped');
});
