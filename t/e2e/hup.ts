// SIGHUP during 100 live calls with media (SIPp uac_pcap playing G.711 towards an echoing
// UAS): every call completes, its media keeps flowing through the old instance, and a new
// instance started at once takes new calls meanwhile.
import t from 'tap';
import { mkdirSync, readdirSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, sleep } from '../lib/netns.js';
import { PROXY_CONF, e2e } from '../lib/world.js';

const PCAP = '/usr/share/sip-tester/g711a.pcap';
e2e('hup', (w) => {
  mkdirSync(join(w.dir, 'pcap'), { recursive: true });
  // SIPp's built-in uac_pcap plays pcap/g711a.pcap and pcap/dtmf_2833_1.pcap from its cwd.
  for (const f of readdirSync('/usr/share/sip-tester').filter((n) => n.endsWith('.pcap'))) symlinkSync(join('/usr/share/sip-tester', f), join(w.dir, 'pcap', f));
  const sipp = (args: string[], timeout = 60000) => w.ns.run('sipp', [...args, '-nostdin', '-timeout', '50', '-timeout_error'], timeout, w.dir);

  t.test('HUP with 100 calls up', async (t) => {
    const conf = PROXY_CONF.replace('rtp-ports 30000-30099', 'rtp-ports 30000-30999') + 'map 2001:db8:1::20 127.0.0.120\n';
    const a = w.startProxy(conf, []);
    t.ok(await w.proxyUp(a), 'first instance up');
    const uas = sipp(['-sn', 'uas', '-rtp_echo', '-i', '2001:db8:1::20', '-p', '5060', '-mp', '32000', '-m', '110']);
    await sleep(300);
    const calls = sipp(['-sn', 'uac_pcap', '-i', '127.0.0.10', '-p', '5070', '-mp', '33000', '-r', '50', '-m', '100', '-l', '100', '127.0.0.120:5060']);
    t.ok(await waitFor(() => w.relaySockets().length >= 100 * 4, 10000, 100), '100 calls with media up');
    a.child.kill('SIGHUP');
    t.ok(await waitFor(() => a.log().includes('SIP closed'), 3000), 'the old instance closed SIP');
    const b = w.startProxy(conf, []);
    t.ok(await w.proxyUp(b), 'a new instance starts at once on the same SIP addresses');
    t.match(b.log(), /relay port pairs held by another process .* pairs=\d+/, 'it skips the pairs the old one still relays');
    const fresh = await sipp(['-sn', 'uac', '-i', '127.0.0.10', '-p', '5080', '-mp', '34000', '-r', '10', '-m', '10', '-d', '500', '127.0.0.120:5060']);
    t.equal(fresh.code, 0, 'the new instance takes new calls meanwhile');
    const done = await calls;
    t.equal(done.code, 0, `all 100 calls complete (INVITE, 200, ACK, media, BYE through the new instance)${done.code ? done.stdout.slice(-1500) : ''}`);
    t.equal(await a.exited, 0, 'the old instance exits once the media has ended');
    const ended = /media ended streamsWithMedia=(\d+) streamsWithoutMedia=(\d+)/.exec(a.log());
    t.ok(ended, 'the old instance reports the media it carried');
    t.equal(Number(ended?.[1]), 100, 'every call had media both ways through the old instance');
    t.equal(Number(ended?.[2]), 0);
    b.child.kill('SIGTERM');
    t.equal(await b.exited, 0);
    await uas;
  });
}, { missing: (existsSync(PCAP) ? null : `${PCAP} is missing (sip-tester)`) });
