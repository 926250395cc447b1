// The running daemon under hostile input (thousands of mutated datagrams on every SIP
// socket, with either media datapath) stays up, keeps answering, and counts what it
// refused; media security: strangers are never relayed, and a flood on one relay port does
// not starve another session.
import t from 'tap';
import { join } from 'node:path';
import { PROXY_CONF, ROOT, e2e } from '../lib/world.js';

e2e('robust', (w) => {

  for (const datapath of ['native', 'js']) t.test(`20,000 hostile datagrams through the daemon, media-datapath ${datapath}`, async (t) => {
    const p = w.startProxy(PROXY_CONF + `media-datapath ${datapath}\n`);
    t.ok(await w.proxyUp(p));
    const r = await w.ns.run(process.execPath, [join(ROOT, 't', 'e2e', 'fuzz-send.mjs'), join(ROOT, 't', 'cases'), '20000', '127.0.0.1:5060', '[2001:db8::1]:5060', '127.0.0.105:5060', '[2001:db8:64::10]:5060'], 60000);
    t.equal(r.code, 0, r.stderr);
    t.equal(p.child.exitCode, null, 'still running');
    const refused = await w.sipp('refused.xml', '127.0.0.50', 5070, 31240, { callee: 'victim@127.0.0.77' }, '127.0.0.1:5060');
    t.equal(refused.code, 0, 'still answers (403 to a relay attempt)');
    const m = await w.http('/metrics');
    t.match(m, /sipproxy64_internal_errors_total 0/, 'no rule failed');
    t.match(m, /sipproxy64_sip_parse_errors_total [1-9]\d*/, 'parse errors counted');
    t.match(m, /sipproxy64_sip_refusals_total\{reason="400 /, '400s counted by reason');
    t.match(m, /sipproxy64_sip_drops_total\{reason="/, 'drops counted by reason');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });
});
