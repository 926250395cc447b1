// Debian's rtpengine-daemon for the end-to-end tests: one in userspace (no kernel module), in a
// test's namespace, its ng port on loopback; killed when the test ends.
import t from 'tap';
import { ChildProcess, spawnSync } from 'node:child_process';
import { waitFor } from './netns.js';
import { World } from './world.js';

/** Why rtpengine cannot run here (null: it can). */
export const rtpengineMissing = (): string | null =>
  spawnSync('sh', ['-c', 'command -v rtpengine']).status === 0 ? null : 'rtpengine is not installed (apt-get install rtpengine-daemon)';

/**
 * rtpengine number `n`: ng on 127.0.0.1:2220+n, ports 32000+100n.., media on `v4` and `v6`
 * (by default 127.0.0.n and 2001:db8::n); resolves once its ng port is bound.
 */
export async function rtpengine(w: World, n: number, v4 = `127.0.0.${n}`, v6 = `2001:db8::${n}`): Promise<ChildProcess> {
  const p = w.ns.start('rtpengine', ['--foreground', '--log-stderr', '--log-level=5', '--table=-1', '--config-file=none', `--interface=${v4}`, `--interface=${v6}`, `--listen-ng=127.0.0.1:${2220 + n}`, `--port-min=${32000 + n * 100}`, `--port-max=${32099 + n * 100}`, '--delete-delay=0', `--pidfile=${w.dir}/rtpengine${n}.pid`]);
  let log = '';
  p.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(() => p.kill('SIGKILL'));
  const up = await waitFor(() => w.ns.udpSockets().includes(`127.0.0.1:${2220 + n} `), 10000, 100);
  if (!up) throw new Error(`rtpengine ${n} did not start:\n${log.slice(-1000)}`);
  return p;
}
