// sip-io native when the kernel cannot take more (issue 15): a full send buffer (EAGAIN)
// is a counted drop (send-buffer-full), never a log line a datagram; Node's dgram queues
// instead. The link is a veth shaped to 100 kbit/s inside a namespace of the test's own,
// with a static neighbour for the far address, so datagrams wait in the qdisc, charged to
// the socket.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../lib/world.js';
import { canUseNetns, Netns } from '../lib/netns.js';

const why = canUseNetns();
if (why) t.fail(`cannot run: ${why}`);
else {
  const ns = new Netns('sendfull');
  t.teardown(() => ns.destroy());
  ns.setup([]);
  const ip = (...a: string[]): void => {
    const r = spawnSync('ip', ['-n', ns.name, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
  };
  ip('link', 'add', 'v1', 'type', 'veth', 'peer', 'name', 'v2');
  ip('link', 'set', 'v1', 'up');
  ip('link', 'set', 'v2', 'up');
  ip('addr', 'add', '192.0.2.201/24', 'dev', 'v1');
  ip('neigh', 'add', '192.0.2.202', 'lladdr', '02:00:00:00:00:02', 'dev', 'v1');
  const tc = spawnSync('ip', ['netns', 'exec', ns.name, 'tc', 'qdisc', 'replace', 'dev', 'v1', 'root', 'tbf', 'rate', '100kbit', 'burst', '1600', 'limit', '100000000'], { encoding: 'utf8' });

  t.test('a full send buffer, native and js', async (t) => {
    t.equal(tc.status, 0, `tc tbf on the veth ${tc.stderr}`);
    for (const io of ['native', 'js']) {
      const r = await ns.run(process.execPath, [join(ROOT, 't', 'e2e', 'send-full.mjs'), io, '200'], 60000);
      t.equal(r.code, 0, `${io}: ran ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { io: string; counters: Record<string, number>; warnings: string[] };
      t.equal(out.io, io, `sip-io ${io}`);
      t.equal(out.counters['sip-socket-error'], undefined, `${io}: no socket error`);
      t.same(out.warnings, [], `${io}: no warning logged`);
      // 200 x 60 KB against a send buffer of a few MB: most of them do not fit.
      if (io === 'native') t.ok((out.counters['drop:send-buffer-full'] ?? 0) > 100, `native: the ones that did not fit are counted drops (${out.counters['drop:send-buffer-full']})`);
      else t.equal(out.counters['drop:send-buffer-full'], undefined, 'js: dgram queues them');
    }
  });
}
