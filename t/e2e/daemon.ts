// The daemon's life: start-up failures, HUP hand-over with a live call, SIGTERM, JSON logs.
import t from 'tap';
import { waitFor, sleep } from '../lib/netns.js';
import { PROXY_CONF, tail, e2e } from '../lib/world.js';

e2e('daemon', (w) => {

  t.test('a face that cannot be bound stops start-up with exit 2 naming it', async (t) => {
    const p = w.startProxy(PROXY_CONF + 'map 127.0.0.11 2001:db8:77::11\n');
    t.equal(await p.exited, 2);
    t.match(p.log(), 'cannot bind SIP socket [2001:db8:77::11]:5060: EADDRNOTAVAIL');
  });

  t.test('JSON log lines', async (t) => {
    const p = w.startProxy(PROXY_CONF, ['--log-format', 'json']);
    t.ok(await w.proxyUp(p));
    p.child.kill('SIGINT');
    t.equal(await p.exited, 0, 'SIGINT exits 0');
    const lines = p.log().trim().split('\n');
    t.ok(lines.length >= 2);
    for (const l of lines) t.doesNotThrow(() => JSON.parse(l), l);
    t.equal(JSON.parse(lines[0]).msg, 'sipproxy64 started');
  });

  t.test('SIGHUP: SIP closes at once, a new instance takes over, media goes on until the call ends', async (t) => {
    const a = w.startProxy();
    t.ok(await w.proxyUp(a), 'first instance up');
    // dave (IPv6, generic) calls alice for ~4 s of media; alice hangs up.
    const uas = w.sipp('uas-bye.xml', '127.0.0.10', 5060, 31110, w.media('aliceH', '127.0.0.10', 40100, 175), undefined, 4000);
    await sleep(300);
    const uac = w.sipp('uac-wait-bye.xml', '2001:db8::99', 5060, 31112, { ...w.media('daveH', '2001:db8::99', 40110, 175), callee: 'alice' }, '[2001:db8:64::10]:5060');
    t.ok(await waitFor(() => w.relaySockets().length > 0, 5000), 'call up, relay bound');
    a.child.kill('SIGHUP');
    t.ok(await waitFor(() => a.log().includes('SIP closed'), 3000), 'first instance closed SIP');
    const b = w.startProxy();
    t.ok(await w.proxyUp(b), 'second instance binds the same SIP addresses at once');
    t.equal(b.child.exitCode, null);
    const [u, c] = await Promise.all([uas, uac]);
    t.equal(u.code, 0, `the call completes: BYE through the new instance${tail(u)}`);
    t.equal(c.code, 0, `the caller gets the BYE${tail(c)}`);
    for (const name of ['aliceH', 'daveH']) {
      const r = await w.peerResult(name);
      t.ok(r && r.received >= 165, `${name}: media kept flowing through the old instance: ${JSON.stringify(r)}`);
    }
    t.equal(await a.exited, 0, 'the old instance exits once its media has ended (rtp-timeout)');
    t.match(a.log(), /drained; exiting/);
    b.child.kill('SIGTERM');
    t.equal(await b.exited, 0);
  });
});
