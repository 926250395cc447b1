// The README's main-job command: etc/loopback-demo makes its namespace, runs a call with
// media through the daemon, and cleans up.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cannotRun, ROOT } from '../lib/world.js';

if (!cannotRun()) {
  t.test('etc/loopback-demo shows a call going through', async (t) => {
    const r = spawnSync('bash', [join(ROOT, 'etc', 'loopback-demo')], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, 'alice: call completed');
    t.match(r.stdout, /alice \(IPv4\) \{"sent":100,"received":(9[5-9]|100),/);
    t.match(r.stdout, /carol \(IPv6\) \{"sent":100,"received":(9[5-9]|100),/);
    t.match(r.stdout, /sip out from=\[2001:db8:64::10\]:5060 to=\[2001:db8:1::20\]:5060 .*INVITE/);
    t.equal(spawnSync('ip', ['netns', 'pids', 'sp64demo']).status === 0 && spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes('sp64demo'), false, 'namespace removed');
  });
}
