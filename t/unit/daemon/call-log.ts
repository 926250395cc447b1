// call-log (issue 19): one line per call when its last stream ends, the relay's streams as
// they end (both datapaths), calls still up at shutdown, a file that cannot be written.
import t from 'tap';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CallLog, EndedStream, callLine } from '../../../src/daemon/call-log.js';
import { fromFigures } from '../../../src/daemon/quality.js';
import { Relay } from '../../../src/daemon/relay.js';
import { tempDir } from '../../lib/tmp.js';

const dir = tempDir(t, 'sp64calls-');
const names = ['IPv4', 'IPv6'] as const;
const sent = fromFigures(50, 8600, 50, 50, 0.4, 10, 0, null);
const stream = (index: number, ended: number, why = 'bye'): EndedStream => ({ callId: 'c1@x', index, created: 1_000_000 + index, establishedAt: 1_002_000, ended, why, by: '192.0.2.10:5060', offerer: '192.0.2.10', sides: [{ party: '192.0.2.10:4000', relay: '192.0.2.1:30000', sent }, { party: '[2001:db8::20]:5000', relay: '[2001:db8::1]:30000', sent }], verdict: { kind: 'ok', text: 'ok' } });

t.test('a line when the last stream of the call ends; USR1 after a rename starts a new file', async (t) => {
  const file = join(dir, 'a.jsonl');
  const errors: string[] = [];
  const log = new CallLog(file, names, (e) => errors.push(e.message));
  log.streamEnded(stream(1, 1_010_000), 1);
  t.equal(readFileSync(file, 'utf8'), '', 'not while a stream of the call is up');
  log.streamEnded(stream(0, 1_012_500, 'timeout'), 0);
  const c = JSON.parse(readFileSync(file, 'utf8'));
  t.match(c, { callId: 'c1@x', offer: new Date(1_000_000).toISOString(), answer: new Date(1_002_000).toISOString(), end: new Date(1_012_500).toISOString(), duration: 10.5, ended: { why: 'timeout' }, offerer: '192.0.2.10' });
  t.same(c.streams.map((s: { index: number }) => s.index), [0, 1], 'its streams in order');
  t.match(c.streams[0], { ipv4: { party: '192.0.2.10:4000', relay: '192.0.2.1:30000', sent: { packets: 50, lost: 0, jitterMs: 0.4 } }, ipv6: { party: '[2001:db8::20]:5000' }, verdict: 'ok' });
  renameSync(file, `${file}.1`);
  log.reopen();
  log.streamEnded({ ...stream(0, 1_020_000), callId: 'c2@x' }, 0);
  t.match(readFileSync(file, 'utf8'), /"callId":"c2@x"/, 'the next call in a new file');
  t.equal(readFileSync(`${file}.1`, 'utf8').split('\n').length, 2, 'the old one keeps its line');
  log.close();
  t.same(errors, []);
  const bad = new CallLog(join(dir, 'no', 'such', 'dir.jsonl'), names, (e) => errors.push(e.message));
  bad.streamEnded(stream(0, 1), 0);
  bad.streamEnded({ ...stream(0, 1), callId: 'c3' }, 0);
  t.equal(bad.failed, 2, 'lines that cannot be written are counted');
  t.equal(errors.length, 1, 'and logged once, not per call');
});

t.test("a stranger's Call-ID with terminal controls: the line holds none, and reads back the same (SPEC 11)", async (t) => {
  const callId = 'c\x1b]0;owned\x07\x9b2J\x7f\x85@x';
  const line = callLine([{ ...stream(0, 1_010_000), callId, by: '192.0.2.10:5060\x9b' }], names);
  t.notMatch(line, /[\x00-\x1f\x7f-\x9f]/, 'no C0, DEL or C1 (tail -f on a terminal)');
  t.match(JSON.parse(line), { callId, ended: { by: '192.0.2.10:5060\x9b' } }, 'the same values');
});

for (const datapath of ['native', 'js'] as const) {
  t.test(`${datapath}: the relay reports each stream as it ends, and the calls still up at shutdown`, async (t) => {
    const file = join(dir, `${datapath}.jsonl`);
    const log = new CallLog(file, names, () => {});
    let now = 5_000_000;
    const relay = new Relay({ ports: [24700, 24799], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000, now: () => now, datapath, threads: 1, onStreamEnd: (s, left) => log.streamEnded(s, left), callLog: log });
    const party4 = { addr: '192.0.2.10', rtp: 4000, rtcp: 4001, mux: false, signal: '192.0.2.10' };
    const party6 = { addr: '2001:db8::20', rtp: 5000, rtcp: 5001, mux: false, signal: '2001:db8::20' };
    for (const call of ['a', 'b']) {
      relay.table.update(call, 0, 4, party4);
      relay.table.update(call, 0, 6, party6);
    }
    relay.table.markEstablished('a');
    now += 30_000;
    relay.table.release('a', 'bye', '192.0.2.10:5060');
    const a = JSON.parse(readFileSync(file, 'utf8'));
    t.match(a, { callId: 'a', duration: 30, ended: { why: 'bye', by: '192.0.2.10:5060' }, streams: [{ ipv4: { party: '192.0.2.10:4000', relay: /^127\.0\.0\.1:247\d\d$/ }, verdict: 'no media at all' }] });
    relay.closeAll();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    t.match(lines[1], { callId: 'b', answer: null, duration: 0, ended: { why: 'shutdown', by: null } }, 'the call still up when the daemon stops');
  });
}
