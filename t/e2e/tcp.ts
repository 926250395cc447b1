// SIP over TCP in a namespace: SIPp callers over TCP (-t t1) on each family, callees over
// UDP on the other, through sipproxy64 with `tcp yes`; CRLF keep-alives answered.
import t from 'tap';
import { sleep } from '../lib/netns.js';
import { join } from 'node:path';
import { E2E, PROXY_CONF, e2e, tail } from '../lib/world.js';

/**
 * Script text for a child in the namespace: one TCP connection to host:5060 from each
 * address of `froms` ('' lets the kernel choose), in turn; 500 ms after the last, it prints
 * how many the proxy closed, and closes the rest.
 */
function connectMany(host: string, froms: string[]): string {
  return `
    const net = require('net'); const socks = []; let closed = 0;
    const open = (from) => new Promise((r) => { const s = net.connect({ port: 5060, host: ${JSON.stringify(host)}, localAddress: from || undefined }, () => r()); s.on('close', () => closed++); s.on('error', () => {}); socks.push(s); });
    (async () => { for (const from of ${JSON.stringify(froms)}) await open(from); setTimeout(() => { process.stdout.write(String(closed)); socks.forEach((s) => s.destroy()); }, 500); })();`;
}

e2e('tcp', (w) => {
  const sipp = (args: string[]) => w.ns.run('sipp', [...args, '-nostdin', '-timeout', '20', '-timeout_error', '-trace_err'], 30000, w.dir);

  t.test('calls crossing between TCP and UDP, IPv4 and IPv6', async (t) => {
    const p = w.startProxy(PROXY_CONF + 'tcp yes\nmap 2001:db8:1::20 127.0.0.120\n');
    t.ok(await w.proxyUp(p), 'proxy up');
    t.match(p.log(), 'tcp=yes');
    // IPv4 caller over TCP -> IPv6 callee over UDP.
    const uas6 = sipp(['-sn', 'uas', '-i', '2001:db8:1::20', '-p', '5060', '-mp', '32000', '-m', '3']);
    await sleep(300);
    const uac4 = await sipp(['-sn', 'uac', '-t', 't1', '-i', '127.0.0.10', '-p', '5070', '-mp', '33000', '-m', '3', '-r', '3', '127.0.0.120:5060']);
    t.equal(uac4.code, 0, `3 calls: IPv4 over TCP to IPv6 over UDP ${uac4.code ? uac4.stdout.slice(-800) : ''}`);
    t.equal((await uas6).code, 0, 'the IPv6 callee over UDP completed them');
    // IPv6 caller over TCP -> IPv4 callee over UDP.
    const uas4 = sipp(['-sn', 'uas', '-i', '127.0.0.10', '-p', '5060', '-mp', '32100', '-m', '3']);
    await sleep(300);
    const uac6 = await sipp(['-sn', 'uac', '-t', 't1', '-i', '2001:db8:1::20', '-p', '5072', '-mp', '33100', '-m', '3', '-r', '3', '[2001:db8:64::10]:5060']);
    t.equal(uac6.code, 0, `3 calls: IPv6 over TCP to IPv4 over UDP ${uac6.code ? uac6.stdout.slice(-800) : ''}`);
    t.equal((await uas4).code, 0, 'the IPv4 callee over UDP completed them');
    t.match(p.log(), /sip in .*transport=tcp/, 'messages came in over TCP');
    // RFC 5626 4.4.1: a double-CRLF ping gets a CRLF pong.
    const ka = await w.ns.run(process.execPath, ['-e', `const s=require('net').connect(5060,'127.0.0.1',()=>s.write('\\r\\n\\r\\n'));s.on('data',d=>{process.stdout.write(JSON.stringify(d.toString()));s.destroy()});setTimeout(()=>process.exit(3),3000)`], 5000);
    t.equal(ka.stdout, JSON.stringify('\r\n'), 'keep-alive ping answered');
    // A source may hold 64 connections; the 65th is closed at once, and counted.
    const lim = await w.ns.run(process.execPath, ['-e', connectMany('127.0.0.1', Array(65).fill(''))], 10000);
    t.equal(lim.stdout, '1', 'the 65th connection from one source is refused');
    t.match(await w.http('/metrics'), /sipproxy64_sip_drops_total\{reason="tcp-too-many-from-source"\} 1/, 'and counted');
    // An IPv6 source is its /64 (SPEC 11: one host may connect from all of it): 32
    // connections from 2001:db8:1::21 and 33 from 2001:db8:1::5 are 65 from one source.
    const lim6 = await w.ns.run(process.execPath, ['-e', connectMany('2001:db8:64::10', Array.from({ length: 65 }, (_, i) => (i < 32 ? '2001:db8:1::21' : '2001:db8:1::5')))], 10000);
    t.equal(lim6.stdout, '1', 'the 65th connection from one IPv6 /64, from another address of it, is refused');
    t.match(await w.http('/metrics'), /sipproxy64_sip_drops_total\{reason="tcp-too-many-from-source"\} 2/, 'and counted');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });

  t.test('a stranger who connects faster than flood-limit', async (t) => {
    const p = w.startProxy(PROXY_CONF + 'tcp yes\nflood-limit 1\n');
    t.ok(await w.proxyUp(p), 'proxy up');
    // SPEC 11: each connection spends one message of the source's budget (a burst of two
    // here); past it the source is banned, and its connections are closed unread. Before,
    // connecting cost nothing: 20 of 20 stayed open. (>= 17: a slow machine may refill one.)
    const s = await w.ns.run(process.execPath, ['-e', connectMany('127.0.0.1', Array(20).fill(''))], 10000);
    t.ok(Number(s.stdout) >= 17 && Number(s.stdout) <= 18, `a stranger's connections past its budget are closed at once (${s.stdout} of 20)`);
    t.match(await w.http('/metrics'), new RegExp(`sipproxy64_sip_drops_total\\{reason="flooding"\\} ${s.stdout}\\b`), 'each counted as flooding');
    // A configured party (alice's real address) is never throttled.
    const a = await w.ns.run(process.execPath, ['-e', connectMany('127.0.0.1', Array(20).fill('127.0.0.10'))], 10000);
    t.equal(a.stdout, '0', 'a configured party opens 20 connections');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });

  t.test('a phone over TCP at a UDP-only registrar; a next hop that refuses TCP', async (t) => {
    await w.kamailio(); // UDP only (disable_tcp): a TCP connection to it is refused
    const p = w.startProxy(PROXY_CONF + 'tcp yes\n');
    t.ok(await w.proxyUp(p), 'proxy up');
    // 1. The phone registers over TCP, ;transport=tcp on the Request-URI that names the
    //    registrar's face. Before: the proxy took it for the registrar's transport and sent
    //    over TCP: refused, and the phone heard nothing.
    const r1 = await w.sipp('register-via.xml', '127.0.0.10', 5070, 31100, { user: 'alice', tp: 'tcp', pad: 'x' }, '127.0.0.105:5060', undefined, ['-t', 't1']);
    t.equal(r1.code, 0, `the phone over TCP registers at the UDP-only registrar${tail(r1)}`);
    // 2. A REGISTER over 1300 bytes as it goes out: the size rule chooses TCP, the registrar
    //    refuses it, and the proxy sends it over UDP (RFC 3261 18.1.1).
    const r2 = await w.sipp('register-via.xml', '127.0.0.10', 5072, 31102, { user: 'bob', tp: 'udp', pad: 'x'.repeat(1300) }, '127.0.0.105:5060');
    t.equal(r2.code, 0, `the large REGISTER arrives over UDP after TCP was refused${tail(r2)}`);
    t.match(await w.http('/metrics'), /sipproxy64_sip_tcp_fallbacks_total 1\b/, 'counted as a fallback');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
    // 3. The registrar's map line says TCP: no fallback; the phone gets 503 with a short
    //    Retry-After at once, and the log names the destination.
    const p2 = w.startProxy(PROXY_CONF.replace('map 2001:db8:1::5 127.0.0.105', 'map 2001:db8:1::5 127.0.0.105 tcp') + 'tcp yes\n');
    t.ok(await w.proxyUp(p2), 'proxy up, the registrar mapped over TCP');
    const r3 = await w.sipp('register-503.xml', '127.0.0.10', 5074, 31104, { user: 'carl', tp: 'udp', pad: 'x' }, '127.0.0.105:5060');
    t.equal(r3.code, 0, `503 with Retry-After: 2${tail(r3)}`);
    t.match(p2.log(), /next hop unreachable.*2001:db8:1::5\]:5060.*ECONNREFUSED/, 'a warning names the destination and why');
    t.match(await w.http('/metrics'), /sipproxy64_sip_refusals_total\{reason="503 next-hop-unreachable"\} 1\b/, 'and counted');
    p2.child.kill('SIGTERM');
    t.equal(await p2.exited, 0);
  });

  t.test('an answer after the caller\'s connection closed reaches its sent-by port (RFC 3261 18.2.2)', async (t) => {
    const p = w.startProxy(PROXY_CONF + 'tcp yes\nmap 2001:db8:1::20 127.0.0.120\n');
    t.ok(await w.proxyUp(p), 'proxy up');
    const r = await w.ns.run(process.execPath, [join(E2E, 'tcp-reopen.mjs'), '127.0.0.10', '127.0.0.120', '2001:db8:1::20'], 20000);
    t.match(r.stdout, /\{"answered":true\}/, `the 200 comes on a new connection to 127.0.0.10:5060, not to the closed one's port${r.stdout}${r.stderr}`);
    t.match(p.log(), /sip out [^\n]*to=127\.0\.0\.10:5060 transport=tcp [^\n]*first="SIP\/2\.0 200 OK"/, 'the log names the sent-by port');
    t.notMatch(p.log(), /next hop unreachable/, 'nothing lost (a response no connection took is logged so)');
    p.child.kill('SIGTERM');
    t.equal(await p.exited, 0);
  });
});
