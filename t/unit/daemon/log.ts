import t from 'tap';
import { createLogger, plainValue, REPEATS } from '../../../src/daemon/log.js';

t.test('plain values: bare when they can be, else quoted with every control character escaped (SPEC 11)', async (t) => {
  t.equal(plainValue('abc@192.0.2.10'), 'abc@192.0.2.10', 'a plain Call-ID bare');
  t.equal(plainValue(5060), '5060');
  t.equal(plainValue('a b'), '"a b"');
  t.equal(plainValue('a=b"c'), '"a=b\\"c"');
  t.equal(plainValue('a\x1b[2Jb'), '"a\\u001b[2Jb"', 'ESC');
  t.equal(plainValue('a\x9b2Jb'), '"a\\u009b2Jb"', 'C1 CSI');
  t.equal(plainValue('a\x7fb\x80'), '"a\\u007fb\\u0080"', 'DEL and C1');
  t.equal(plainValue('a\r\nb\x00'), '"a\\r\\nb\\u0000"', 'line ends and NUL: one line stays one line');
  t.equal(plainValue('\xe9t\xe9'), '\xe9t\xe9', 'Latin-1 letters bare');
  t.same(JSON.parse(plainValue('x\x1b\x9by')), 'x\x1b\x9by', 'the quoted form reads back as JSON');
});

t.test('a log line from a stranger\'s Call-ID holds no control character', async (t) => {
  const lines: string[] = [];
  createLogger('plain', 'info', (l) => lines.push(l)).warn('rtpengine refused', { callId: 'c\x1b]0;owned\x07\x9b31m' });
  t.equal(lines.length, 1);
  t.notMatch(lines[0].slice(0, -1), /[\x00-\x1f\x7f-\x9f]/, lines[0]);
  t.ok(lines[0].endsWith('\n'), 'one line');
});

t.test('the JSON form holds no DEL or C1 either (pino escapes only C0), and reads back the same', async (t) => {
  const lines: string[] = [];
  const callId = 'c\x1b]0;owned\x07\x9b31m\x7f\x85';
  createLogger('json', 'info', (l) => lines.push(l)).warn('rtpengine refused', { callId });
  t.equal(lines.length, 1);
  t.notMatch(lines[0].slice(0, -1), /[\x00-\x1f\x7f-\x9f]/, lines[0]);
  t.equal(JSON.parse(lines[0]).callId, callId);
});

t.test('a warning a stranger can repeat is written at most REPEATS times a minute per message (SPEC 11)', async (t) => {
  for (const format of ['plain', 'json'] as const) {
    const lines: string[] = [];
    let now = 1_000_000;
    const log = createLogger(format, 'info', (l) => lines.push(l), () => now);
    for (let i = 0; i < 25; i++) log.warn('SIP socket error', { error: 'EACCES' });
    for (let i = 0; i < 3; i++) log.error('SIP handler failed', { error: 'x' });
    for (let i = 0; i < 15; i++) log.info('sip routine', {});
    const warns = () => lines.filter((l) => l.includes('SIP socket error'));
    t.equal(warns().length, REPEATS, `${format}: the first ${REPEATS} of 25 written`);
    t.equal(lines.filter((l) => l.includes('SIP handler failed')).length, 3, `${format}: another message has its own count`);
    t.equal(lines.filter((l) => l.includes('sip routine')).length, 15, `${format}: info lines are not gated`);
    now += 59_999;
    log.warn('SIP socket error', { error: 'EACCES' });
    t.equal(warns().length, REPEATS, `${format}: still quiet within the minute`);
    now += 1;
    log.warn('SIP socket error', { error: 'EACCES' });
    t.equal(warns().length, REPEATS + 1, `${format}: a new minute writes again`);
    t.match(warns().at(-1), format === 'plain' ? /suppressed=16\b/ : /"suppressed":16\b/, `${format}: and says how many were not written`);
    log.warn('SIP socket error', { error: 'EACCES' });
    t.notMatch(warns().at(-1), /suppressed/, `${format}: once`);
  }
});
