// The status page (issue 19) in a real browser: Debian's chromium, driven by playwright-core,
// runs inside the test's namespace and opens http://127.0.0.1:9064/ during a call. It finds
// the call and its verdict as the page refreshes itself, with no console error; a call
// whose Call-ID is a piece of HTML shows that text, and nothing of it runs (SPEC 11). A page
// that reaches the endpoint under another name (DNS rebinding: the browser maps
// rebind.example to 127.0.0.1 itself, no query leaves) gets 421 and none of the calls.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { e2e, tail, TWO_PARTIES } from '../lib/world.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => spawnSync('test', ['-x', p]).status === 0);
const CONF = TWO_PARTIES + 'metrics 127.0.0.1:9064\n';
const HOSTILE = '<img/src=x/onerror=document.title=`pwned`>';

e2e('page', (w) => {
  t.test('the status page shows the calls, their quality and verdict; hostile text stays text', async (t) => {
    const { chromium: pw } = await import('playwright-core');
    const proxy = w.startProxy(CONF);
    t.ok(await w.proxyUp(proxy), `proxy started${proxy.log().slice(-300)}`);
    // The browser first (it starts slowly on a busy machine), inside the namespace: playwright
    // talks to it over a pipe.
    const wrapper = join(w.dir, 'chromium-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${w.ns.name} ${chromium} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await pw.launch({ executablePath: wrapper, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--host-resolver-rules=MAP rebind.example 127.0.0.1'], timeout: 30000 });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => {
      problems.push(`a dialog opened: ${d.message()}`);
      void d.dismiss();
    });
    // Two calls at once, 20 s of RTP each (SIPp ends a run at 25 s): one with
    // an ordinary Call-ID, one whose Call-ID is HTML; carol answers each on a port of its own.
    const calls = [0, 1].map(async (n) => {
      const uas = w.sipp('uas.xml', '2001:db8:1::20', 5060 + n * 2, 31000 + n * 4, w.media(`carol${n}`, '2001:db8:1::20', 40000 + n * 40, 1000));
      await sleep(300);
      const uac = await w.sipp('nat-uac.xml', '127.0.0.10', 5060 + n * 2, 31002 + n * 4, { ...w.media(`alice${n}`, '127.0.0.10', 40020 + n * 40, 1000), callee: 'carol', domain: `127.0.0.120:${5060 + n * 2}` }, '127.0.0.120:5060', 22000, n ? ['-cid_str', `${HOSTILE}%u@%s`] : []);
      return [uac, await uas];
    });
    t.ok(await waitFor(async () => (JSON.parse((await w.http('/sessions')) || '[]') as unknown[]).length === 2, 10000, 200), 'both calls are up');
    const res = await page.goto('http://127.0.0.1:9064/', { timeout: 20000 });
    t.equal(res?.status(), 200, 'GET / serves the page');
    t.match(res?.headers()['content-security-policy'] ?? '', /default-src 'self'/, 'nothing from elsewhere may load');
    await page.waitForFunction(() => document.querySelectorAll('.call').length === 2, undefined, { timeout: 20000 });
    const ids = await page.$$eval('.call > .id', (xs) => xs.map((x) => x.textContent));
    t.ok(ids.some((x) => x && /^1-\d+@127\.0\.0\.10$/.test(x)), `the ordinary call is listed by its Call-ID: ${JSON.stringify(ids)}`);
    t.ok(ids.some((x) => x?.startsWith(HOSTILE)), 'the hostile Call-ID is shown as the text it is');
    t.equal(await page.$$eval('img', (xs) => xs.length), 0, 'and no element was made of it');
    // The page refreshes itself: once media flows both ways, each call's verdict reads ok.
    await page.waitForFunction(() => [...document.querySelectorAll('.verdict')].filter((v) => v.textContent === 'ok').length === 2, undefined, { timeout: 20000 });
    t.pass('both verdicts: ok');
    t.match(await page.textContent('#calls'), /packets, 0 lost, jitter/, 'with what each party sends');
    t.not(await page.title(), 'pwned', 'no script of the Call-ID ran');
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    t.same(problems, [], 'no console error, no page error, no dialog');
    const rebound = await browser.newPage();
    const r = await rebound.goto('http://rebind.example:9064/sessions', { timeout: 20000 });
    t.equal(r?.status(), 421, 'the endpoint under a rebound name: 421 Misdirected Request');
    t.notMatch(await rebound.content(), /callId|127\.0\.0\.10/, 'with none of the calls');
    for (const [uac, uas] of await Promise.all(calls)) {
      t.equal(uac.code, 0, `a call ends normally${tail(uac)}`);
      t.equal(uas.code, 0, `and is answered${tail(uas)}`);
    }
    proxy.child.kill('SIGTERM');
    t.equal(await proxy.exited, 0, 'SIGTERM exits 0');
  });
}, { missing: chromium ? null : 'chromium is not installed (apt-get install chromium)' });
