// A held call outlives rtp-timeout (issue 17; sipproxy64(8) rtp-hold-timeout): with
// rtp-timeout 5, dave (an IPv6 party) calls alice at her face, puts the call on hold at once
// (a re-INVITE with a=sendonly, answered a=recvonly) and sends no RTP at all; well past
// rtp-timeout the stream is still there, marked held, and his BYE ends the call normally.
import t from 'tap';
import { sleep, waitFor } from '../lib/netns.js';
import { PROXY_CONF, e2e, tail } from '../lib/world.js';

e2e('hold', (w) => {
  t.test('a call on hold is not timed out by rtp-timeout', async (t) => {
    const proxy = w.startProxy(PROXY_CONF + 'rtp-hold-timeout 3600\n');
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-300)}`);
    const sessions = async (): Promise<Array<{ held: boolean }>> => JSON.parse((await w.http('/sessions')) || '[]');
    const uas = w.sipp('uas-hold.xml', '127.0.0.10', 5060, 31600, { user: 'alice', mediaip: '127.0.0.10', rtpport: '40600' });
    await sleep(300);
    const uac = w.sipp('uac-hold.xml', '2001:db8::99', 5060, 31602, { user: 'dave', callee: 'alice', mediaip: '2001:db8::99', rtpport: '40610' }, '[2001:db8:64::10]:5060', 14000);
    t.ok(await waitFor(async () => (await sessions()).some((s) => s.held), 8000, 200), 'the stream is marked held once the re-INVITE passes');
    // The status command meanwhile: a process start takes seconds on a busy machine.
    const stP = w.cli(['status', '--metrics', '127.0.0.1:9064']);
    await sleep(7000); // rtp-timeout 5 s and a sweep: a stream that is not held would be gone
    const during = await sessions();
    t.equal(during.length, 1, 'past rtp-timeout the held stream is still there');
    t.ok(during[0]?.held, 'still held');
    const st = await stP;
    t.match(st.stdout, /\(held\)/, `sipproxy64 status shows it held${tail(st)}`);
    const [c, s] = await Promise.all([uac, uas]);
    t.equal(c.code, 0, `dave's BYE after 14 s on hold completes${tail(c)}`);
    t.equal(s.code, 0, `alice took the hold and the BYE${tail(s)}`);
    t.ok(await waitFor(async () => (await sessions()).length === 0, 5000, 200), 'the BYE released the stream');
    t.match(await w.http('/metrics'), /sipproxy64_media_sessions 0/);
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0);
  });
});
