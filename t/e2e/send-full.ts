// sip-io native when the kernel cannot take more (issue 15): a full send buffer (EAGAIN)
// is a counted drop (send-buffer-full), never a log line a datagram; sip-io js, whose
// dgram would queue without bound, drops past 4 MiB waiting. The link is a veth shaped to 100 kbit/s inside a namespace of the test's own,
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
    // answer: the sends made in a read's callback, which sip-io native queues and sends together after it.
    for (const [io, answer] of [['native', ''], ['native', 'answer'], ['js', '']]) {
      const r = await ns.run(process.execPath, [join(ROOT, 't', 'e2e', 'send-full.mjs'), io, '200', answer].filter((a) => a), 60000);
      t.equal(r.code, 0, `${io} ${answer}: ran ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { io: string; answered: boolean; counters: Record<string, number>; warnings: string[]; waiting: number; taken: number; hep: { io: string; sent: number; failed: number; queued: number; waiting: number } };
      t.equal(out.io, io, `sip-io ${io}`);
      if (answer) t.ok(out.answered, 'the sends were made in the read\'s callback');
      t.equal(out.counters['sip-socket-error'], undefined, `${io}: no socket error`);
      t.same(out.warnings, [], `${io}: no warning logged`);
      // 200 x 60 KB against a send buffer of a few MB: most of them do not fit. js: Node's
      // dgram would queue them all; past 4 MiB waiting they are counted drops too (SPEC 11).
      const dropped = out.counters['drop:send-buffer-full'] ?? 0;
      if (io === 'native') t.ok(dropped > 100, `native: the ones that did not fit are counted drops (${dropped})`);
      else t.ok(dropped > 50, `js: beyond what the kernel took (${out.taken}) and 4 MiB waiting, counted drops (${dropped})`);
      t.ok(out.waiting < (4 << 20) + 65536, `${io}: at most 4 MiB and one datagram wait in Node (${out.waiting} bytes)`);
      // hep towards a collector behind the same link: best effort, within the same bound;
      // through the addon's socket with sip-io native, so it drops what the kernel refuses.
      t.equal(out.hep.io, io, `hep through ${io}`);
      t.equal(out.hep.sent + out.hep.failed + out.hep.queued, 200, `hep: every mirrored datagram sent, counted failed or (js) in Node's queue (${out.hep.sent} + ${out.hep.failed} + ${out.hep.queued})`);
      if (io === 'native') t.ok(out.hep.failed > 100 && out.hep.waiting === 0, `hep native: the ones that did not fit are counted failures (${out.hep.failed} of 200), none held`);
      else t.ok(out.hep.failed > 50 && out.hep.waiting > 0 && out.hep.waiting < (4 << 20) + 65536, `hep js: past 4 MiB waiting, not sent (${out.hep.failed} of 200; ${out.hep.waiting} bytes wait)`);
    }
  });

  // A collector with no route yet when the proxy starts (an interface that comes up later):
  // its copies are counted failed, nothing is thrown, and they go once the route exists.
  // (The mirror's socket could not be connected: the connect's failure once made every copy
  // of the js mirror throw, and each message it mirrored was lost as an internal error.)
  t.test('a collector with no route at start, then one: native and js', async (t) => {
    for (const io of ['native', 'js']) {
      const r = await ns.run(process.execPath, [join(ROOT, 't', 'e2e', 'hep-route.mjs'), io], 30000);
      t.equal(r.code, 0, `${io}: ran, nothing thrown ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { io: string; route: number; before: { sent: number; failed: number }; after: { sent: number; failed: number } };
      t.equal(out.io, io, `hep through ${io}`);
      t.same(out.before, { sent: 0, failed: 5 }, `${io}: with no route, five copies counted failed`);
      t.equal(out.route, 0, 'the route added');
      t.same(out.after, { sent: 5, failed: 0 }, `${io}: once the route exists, five copies sent`);
    }
  });

  // The relay's side of it: media towards a party behind the congested link. Both datapaths
  // drop what the kernel will not take and count it (rtp-socket-error); the js one, whose
  // dgram would queue every packet, once 256 wait on a socket.
  t.test('a relay socket whose send buffer is full, native and js', async (t) => {
    for (const path of ['native', 'js']) {
      const r = await ns.run(process.execPath, [join(ROOT, 't', 'e2e', 'relay-full.mjs'), path, '20000'], 60000);
      t.equal(r.code, 0, `${path}: ran ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { path: string; sent: number; relayed: number; drops: Record<string, number> };
      t.equal(out.path, path, `media-datapath ${path}`);
      const dropped = out.drops['rtp-socket-error'] ?? 0;
      // 20,000 packets of 200 bytes; the link drains about 60 a second, the send buffer holds
      // some 2,000 (more than the relay reads are lost in its receive buffer, uncounted).
      t.ok(dropped > 1000, `${path}: what the kernel did not take is dropped and counted (${dropped})`);
      t.ok(out.relayed < 5000, `${path}: what was handed on is what the kernel took, and at most 256 waiting (${out.relayed})`);
    }
  });
}
