// The native datapath (issue 15): it builds and loads here; its packet entry survives random
// datagrams with every one accounted for (both datapaths); its rules hold under a fuzzer
// built with AddressSanitizer and UBSan. The relay tests on a sanitizer build of the addon
// are t/unit/daemon/native-asan.ts (a file of their own: they need most of a file's time).
import t from 'tap';
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';

import { join } from 'node:path';
import { Addon, loadNative } from '../../../src/daemon/datapath-native.js';
import { Relay } from '../../../src/daemon/relay.js';
import { lcg } from '../../lib/rand.js';
import { tempDir } from '../../lib/tmp.js';

const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-O1', '-g', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

t.test('the native datapath is built by npm install and loads (python3, make, g++ and Node\'s headers are on every machine)', async (t) => {
  const addon = loadNative();
  t.notOk(addon instanceof Error, addon instanceof Error ? addon.message : 'loaded');
});

t.test('rtp64_decide under ASan and UBSan: 2,000,000 random packets and re-offers keep the rules of SPEC 11', async (t) => {
  const dir = tempDir(t, 'rtp64-fuzz-');
  const cc = spawnSync('gcc', [...SANITIZE, '-o', join(dir, 'fuzz'), 'src/native/fuzz.c', 'src/native/path.c', '-lpthread', '-lm'], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr || 'built');
  const seed = String(Date.now() % 1000000);
  const run = spawnSync(join(dir, 'fuzz'), ['2000000', seed], { encoding: 'utf8', timeout: 120000 });
  t.equal(run.status, 0, `seed ${seed}: ${run.stderr || 'no rule broken, no sanitizer report'}`);
  const got = Object.fromEntries(run.stdout.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
  for (const v of ['sent', 'foreign-source', 'no-party', 'no-peer-yet', 'peer-unproven', 'loop', 'no-session']) t.ok(got[v] > 0, `${v}: ${got[v]} (every verdict reached)`);
});

t.test('media-io where the kernel refuses io_uring (seccomp, as in a container): auto relays with epoll and says why; io_uring refuses to start', async (t) => {
  const dir = tempDir(t, 'rtp64-nouring-');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', join(dir, 'no-uring'), 't/tools/no-uring.c'], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr || 'built');
  // In the child: a relay asked for io_uring, then one on auto that must relay a packet over
  // real UDP (IPv6 party to IPv4 party) on epoll.
  const script = `
    const { Relay } = await import(${JSON.stringify(join(process.cwd(), 'dist/src/daemon/relay.js'))});
    const dgram = await import('node:dgram');
    const mk = (io) => new Relay({ ports: [24920, 24929], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 5000, datapath: 'native', io, threads: 1 });
    const out = {};
    try { mk('io_uring').closeAll(); out.forced = 'started'; } catch (e) { out.forced = e.message; }
    const r = mk('auto');
    out.auto = r.path.io();
    const sock = (type, addr) => new Promise((ok) => { const s = dgram.createSocket(type); s.bind(0, addr, () => ok(s)); });
    const p4 = await sock('udp4', '127.0.0.1'), p6 = await sock('udp6', '::1');
    const port = r.table.update('c1', 0, 4, { addr: '127.0.0.1', rtp: p4.address().port, rtcp: p4.address().port + 1, mux: false, signal: '127.0.0.1' });
    r.table.update('c1', 0, 6, { addr: '::1', rtp: p6.address().port, rtcp: p6.address().port + 1, mux: false, signal: '::1' });
    const got = new Promise((ok) => { const tm = setTimeout(() => ok(null), 3000); p4.once('message', (m) => { clearTimeout(tm); ok(m.toString()); }); });
    p6.send('through epoll', port, '::1');
    out.relayed = await got;
    r.closeAll(); p4.close(); p6.close();
    // --check-config --host says the same before a start.
    const { hostChecks } = await import(${JSON.stringify(join(process.cwd(), 'dist/src/cli/hostcheck.js'))});
    const { defaultConfig } = await import(${JSON.stringify(join(process.cwd(), 'dist/src/config/config.js'))});
    for (const io of ['io_uring', 'auto']) out['host-' + io] = (await hostChecks({ ...defaultConfig(), mediaIo: io })).find((c) => c.check === 'datapath');
    console.log(JSON.stringify(out));`;
  const run = spawnSync(join(dir, 'no-uring'), [process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  t.equal(run.status, 0, run.stderr || 'ran');
  const out = JSON.parse(run.stdout.trim().split('\n').pop() || '{}');
  t.match(out.forced, /io_uring is not available here: Operation not permitted/, 'media-io io_uring: refused, with the reason');
  t.equal(out.auto, 'epoll (io_uring: EPERM)', 'media-io auto: epoll, and why');
  t.equal(out.relayed, 'through epoll', 'and packets are relayed');
  t.match(out['host-io_uring'], { level: 'error', detail: /io_uring is not available here/ }, '--check-config --host: media-io io_uring is an error');
  t.match(out['host-auto'], { level: 'ok', detail: 'native, epoll (io_uring: EPERM)' }, '--check-config --host: auto says epoll and why');
});

t.test('media-io io_uring: a ring that fails at run time sends its thread to epoll, counted and said, and packets still go through', async (t) => {
  const lo = 24940;
  const relay = new Relay({ ports: [lo, lo + 9], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000, datapath: 'native', io: 'io_uring', threads: 2, onIoChange: (io) => changes.push(io) });
  const changes: string[] = [];
  const socks = await Promise.all([['udp4', '127.0.0.1'], ['udp6', '::1']].map(([type, addr]) => new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket(type as 'udp4' | 'udp6');
    s.bind(0, addr, () => resolve(s));
  })));
  t.teardown(() => {
    relay.closeAll();
    for (const s of socks) s.close();
  });
  const [a4, a6] = socks;
  // A stream on each thread (pair i belongs to thread i % threads).
  const byThread: number[] = [];
  for (let i = 0; i < 5 && byThread.filter((p) => p).length < 2; i++) {
    const port = relay.table.update(`c${i}`, 0, 4, { addr: '127.0.0.1', rtp: a4.address().port, rtcp: a4.address().port, mux: true, signal: '127.0.0.1' }) as number;
    relay.table.update(`c${i}`, 0, 6, { addr: '::1', rtp: a6.address().port, rtcp: a6.address().port, mux: true, signal: '::1' });
    byThread[((port - lo) / 2) % 2] ??= port;
  }
  t.ok(byThread[0] && byThread[1], `a stream on each thread (ports ${byThread.join(', ')})`);
  await tick();
  // Send from the IPv6 party until `want` datagrams reached the IPv4 one (bounded in count and time).
  let got = 0;
  a4.on('message', () => got++);
  const relayed = async (port: number, want: number): Promise<boolean> => {
    const goal = got + want;
    for (let i = 0; i < 300 && got < goal; i++) {
      a6.send(Buffer.from('rtp'), port, '::1');
      await tick(10);
    }
    return got >= goal;
  };
  const errors = (): number => relay.stats.drops.get('rtp-socket-error') ?? 0;
  t.equal(relay.path.io(), 'io_uring', 'both threads on io_uring');
  t.ok(await relayed(byThread[0], 5) && await relayed(byThread[1], 5), 'relayed through the rings');
  const h = (relay.path as unknown as { h: unknown }).h;
  t.equal((loadNative() as Addon).testBreakRings(h), 2, 'both rings broken (their fds made /dev/null)');
  t.ok(await relayed(byThread[0], 20), 'packets still relayed, by epoll');
  t.equal(relay.path.io(), 'io_uring (1 of 2 threads on epoll: EOPNOTSUPP)', 'the datapath says which, and why');
  t.equal(errors(), 1, 'the failed ring counted once as rtp-socket-error');
  relay.sweep();
  relay.sweep();
  t.same(changes, ['io_uring (1 of 2 threads on epoll: EOPNOTSUPP)'], 'the sweep tells the daemon, once (it logs a warning)');
  t.ok(await relayed(byThread[1], 20), 'the other thread\'s ring fails too: relayed by epoll');
  t.equal(relay.path.io(), 'epoll (io_uring: EOPNOTSUPP)', 'both on epoll, and why');
  t.equal(errors(), 2, 'each failed ring counted once');
  relay.sweep();
  t.same(changes.slice(1), ['epoll (io_uring: EOPNOTSUPP)'], 'and again when the last ring failed');
  t.ok(await relayed(byThread[0], 5) && await relayed(byThread[1], 5), 'and both go on relaying');
});

for (const { name, datapath, io } of [{ name: 'native/io_uring', datapath: 'native', io: 'io_uring' }, { name: 'native/epoll', datapath: 'native', io: 'epoll' }, { name: 'js', datapath: 'js', io: 'auto' }] as const) {
  t.test(`${name}: random datagrams at bound and unbound relay ports: each one relayed or a counted drop`, async (t) => {
    const relay = new Relay({ ports: [24600, 24615], media4: { addr: '127.0.0.1', family: 4 }, media6: { addr: '::1', family: 6 }, latch: 'strict', timeoutMs: 60000, datapath, io, threads: 2 });
    const socks = await Promise.all([['udp4', '127.0.0.1'], ['udp4', '127.0.0.2'], ['udp6', '::1']].map(([type, addr]) => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket(type as 'udp4' | 'udp6');
      s.bind(0, addr, () => resolve(s));
    })));
    t.teardown(() => {
      relay.closeAll();
      for (const s of socks) s.close();
    });
    const [a4, , a6] = socks;
    // Two streams with parties on loopback, a third released (its pair stays bound, warm);
    // the rest of the range unbound.
    const port: Record<string, number> = {};
    for (const id of ['x', 'y', 'z']) {
      port[id] = relay.table.update(id, 0, 4, { addr: '127.0.0.1', rtp: a4.address().port, rtcp: a4.address().port, mux: true, signal: '127.0.0.1' }) as number;
      relay.table.update(id, 0, 6, { addr: '::1', rtp: a6.address().port, rtcp: a6.address().port, mux: true, signal: '::1' });
    }
    relay.table.release('z', 'bye');
    await tick();
    const targets = relay.table.evenPorts().flatMap((p) => [p, p + 1]);
    const streams = new Set([port.x, port.x + 1, port.y, port.y + 1]);
    const warm = new Set([port.z, port.z + 1]);
    const rnd = lcg(12345);
    // Every datagram that reached a stream's socket: relayed, or dropped with a reason.
    const accounted = (): [number, number] => {
      const s = relay.stats;
      let n = s.packets4 + s.packets6;
      for (const [k, v] of s.drops) if (k !== 'rtp-no-session') n += v;
      return [n, s.drops.get('rtp-no-session') ?? 0];
    };
    let toStreams = 0;
    let toWarm = 0;
    const sizes = [0, 1, 12, 172, 1500, 9000, 65507];
    for (let burst = 0; burst < 25; burst++) {
      for (let i = 0; i < 40; i++) {
        const msg = Buffer.alloc(sizes[rnd(sizes.length)]);
        for (let j = 0; j < Math.min(msg.length, 64); j++) msg[j] = rnd(256);
        const sock = socks[rnd(3)];
        const to = targets[rnd(targets.length)];
        sock.send(msg, to, sock === a6 ? '::1' : '127.0.0.1');
        if (streams.has(to)) toStreams++;
        if (warm.has(to)) toWarm++;
      }
      // Bounded wait for this burst to be accounted for (so socket buffers never overflow).
      for (let i = 0; i < 200 && (accounted()[0] < toStreams || accounted()[1] < toWarm); i++) await tick(10);
    }
    t.ok(toStreams > 200, `${toStreams} datagrams reached the two streams' sockets, ${toWarm} the released pair`);
    t.equal(accounted()[0], toStreams, 'each one at a stream relayed or a counted drop');
    t.equal(accounted()[1], toWarm, 'each one at the released pair a counted rtp-no-session drop');
    t.ok((relay.stats.drops.get('rtp-foreign-source') ?? 0) > 0, 'the stranger\'s were foreign-source drops');
    t.ok(relay.stats.packets4 > 0 && relay.stats.packets6 > 0, 'the parties\' were relayed, both ways');
    // Still relaying afterwards.
    // Relayed random datagrams may still be arriving at a4: wait for this one (bounded).
    const got = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2000);
      a4.on('message', (m) => m.toString() === 'after' && (clearTimeout(timer), resolve(true)));
    });
    a6.send(Buffer.from('after'), port.x, '::1');
    t.ok(await got, 'the relay still relays');
  });
}
