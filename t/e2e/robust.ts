// The running daemon under hostile input (thousands of mutated datagrams on every SIP
// socket, with either media datapath) stays up, keeps answering, and counts what it
// refused; media security: strangers are never relayed, and a flood on one relay port does
// not starve another session.
import t from 'tap';
import { join } from 'node:path';
import { waitFor } from '../lib/netns.js';
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

  for (const io of ['native', 'js']) t.test(`a send error a party can repeat: every one counted, 10 log lines a minute (sip-io ${io})`, async (t) => {
    // A party whose real address the host may not reach (a prohibit route, as an operator
    // blocks a network): each request towards it fails in sendto (EACCES).
    const route = await w.ns.run('ip', ['-6', 'route', 'add', 'prohibit', '2001:db8:7::/64'], 5000);
    t.equal(route.code, 0, `a prohibit route for the party ${route.stderr}`);
    const p = w.startProxy(PROXY_CONF + `sip-io ${io}\nmap 2001:db8:7::7 127.0.0.107\n`);
    t.ok(await w.proxyUp(p), 'proxy up');
    const n = 30;
    const send = `const s=require('dgram').createSocket('udp4');s.bind(5070,'127.0.0.10',async()=>{for(let i=0;i<${n};i++){await new Promise((r)=>s.send('OPTIONS sip:x@127.0.0.107 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.10:5070;branch=z9hG4bK'+i+'\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:a@127.0.0.10>;tag=1\\r\\nTo: <sip:x@127.0.0.107>\\r\\nCall-ID: e'+i+'\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n',5060,'127.0.0.107',r))}s.close()})`;
    const r = await w.ns.run(process.execPath, ['-e', send], 10000);
    t.equal(r.code, 0, `alice sent ${n} OPTIONS towards the party ${r.stderr}`);
    const m = new RegExp(`sipproxy64_sip_socket_errors_total\\{transport="udp"\\} ${n}\\b`);
    t.ok(await waitFor(async () => m.test(await w.http('/metrics')), 5000), `all ${n} failed sends counted`) || t.comment(p.log().slice(-1500), (await w.http('/metrics')).split('\n').filter((l) => l.includes('socket')).join(' '));
    // SPEC 11: before, each wrote a warning (a party, or a stranger's answers, could fill the log).
    t.equal(p.log().split('\n').filter((l) => l.startsWith('warn SIP socket error')).length, 10, 'ten warnings written, the rest only counted');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
    await w.ns.run('ip', ['-6', 'route', 'del', 'prohibit', '2001:db8:7::/64'], 5000);
  });
});
