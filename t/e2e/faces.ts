// etc/sipproxy64-faces in a namespace made by the test (veth, documentation addresses),
// then the daemon starts on the faces it added; and the systemd unit passes systemd's checks.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netns, waitFor } from '../lib/netns.js';
import { cannotRun, ROOT } from '../lib/world.js';
import { tempDir } from '../lib/tmp.js';

const helper = join(ROOT, 'etc', 'sipproxy64-faces');
const conf = join(ROOT, 'etc', 'sipproxy64.conf');
if (!cannotRun()) {
  const ns = new Netns('faces');
  t.teardown(() => ns.destroy());
  ns.setup([]);
  const inNs = (cmd: string, args: string[]) => spawnSync('ip', ['netns', 'exec', ns.name, cmd, ...args], { encoding: 'utf8' });
  // An "uplink" interface holding the generic and media addresses of etc/sipproxy64.conf.
  inNs('ip', ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  inNs('ip', ['link', 'set', 'up0', 'up']);
  inNs('ip', ['link', 'set', 'up1', 'up']);
  inNs('ip', ['-6', 'addr', 'add', '2001:db8::1/128', 'dev', 'up0', 'nodad']);
  inNs('ip', ['addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
  // Link-local addresses leave the kernel's "tentative" state (DAD) whenever it gets to it.
  const addrs = () => inNs('ip', ['-o', 'addr', 'show']).stdout.split('\n').filter((l) => !l.includes('scope link')).join('\n');

  t.test('add: every face as /128 or /32, on the interface of its family\'s generic address', async (t) => {
    const r = inNs('bash', [helper, 'add', '-c', conf]);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, 'added 2001:db8:64::10/128 on up0');
    t.match(r.stdout, 'added 192.0.2.105/32 on lo');
    t.match(addrs(), /up0\s+inet6 2001:db8:64::10\/128/);
    t.match(addrs(), /lo\s+inet 192\.0\.2\.105\/32/);
  });

  t.test('add again changes nothing (idempotent)', async (t) => {
    const before = addrs();
    const r = inNs('bash', [helper, 'add', '-c', conf]);
    t.equal(r.status, 0);
    t.equal(r.stdout, '');
    t.equal(addrs(), before);
  });

  t.test('the daemon starts on the faces the helper added', async (t) => {
    const p = ns.start(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), '-c', conf]);
    let log = '';
    p.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    t.ok(await waitFor(() => log.includes('sipproxy64 started') || p.exitCode !== null, 10000), log);
    t.match(log, 'sipproxy64 started');
    p.kill('SIGTERM');
  });

  t.test('list, -i, del, errors', async (t) => {
    t.match(inNs('bash', [helper, 'list', '-c', conf]).stdout, '2001:db8:64::10/128 up0 yes');
    const d = inNs('bash', [helper, 'del', '-c', conf]);
    t.equal(d.status, 0);
    t.notMatch(addrs(), '2001:db8:64::10/128');
    t.notMatch(addrs(), '192.0.2.105/32');
    t.equal(inNs('bash', [helper, 'del', '-c', conf]).status, 0, 'removing what is not there is no error');
    const i = inNs('bash', [helper, 'add', '-c', conf, '-i', 'up1']);
    t.equal(i.status, 0);
    t.match(addrs(), /up1\s+inet6 2001:db8:64::10\/128/);
    t.match(addrs(), /up1\s+inet 192\.0\.2\.105\/32/);
    t.equal(inNs('bash', [helper, 'frob']).status, 2, 'usage error');
    t.equal(inNs('bash', [helper, 'add', '-c', '/nonexistent']).status, 2, 'unreadable config');
  });

  t.test('port faces on an address the host holds, and a nat64 prefix', async (t) => {
    inNs('ip', ['addr', 'add', '198.51.100.1/24', 'dev', 'up1']);
    const pf = join(tempDir(t, 'faces-'), 'pf.conf');
    writeFileSync(pf, 'generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 2001:db8:1::20 198.51.100.1:5071\nmap 2001:db8:1::21 198.51.100.1:5072 udp\nnat64 2001:db8:6464::/96\n');
    const a = inNs('bash', [helper, 'add', '-c', pf]);
    t.equal(a.status, 0, a.stderr);
    t.equal(a.stdout, 'added local route 2001:db8:6464::/96 on lo\n', 'the prefix is a local route; the port faces\' address is held already, once');
    t.notMatch(addrs(), '198.51.100.1/32', 'no second copy of a held address');
    t.equal(inNs('bash', [helper, 'list', '-c', pf]).stdout, '198.51.100.1/32 lo held\n2001:db8:6464::/96 local-route lo yes\n');
    t.equal(inNs('bash', [helper, 'del', '-c', pf]).stdout, 'removed local route 2001:db8:6464::/96 from lo\n', 'del takes away what add put there, not the held address');
    t.match(addrs(), /up1\s+inet 198\.51\.100\.1\/24/);
  });
}

t.test('the systemd unit passes systemd-analyze', async (t) => {
  const unit = readFileSync(join(ROOT, 'etc', 'sipproxy64.service'), 'utf8');
  for (const line of ['DynamicUser=yes', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'ExecReload=/bin/kill -HUP $MAINPID', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ExecStartPre=+/usr/lib/sipproxy64/sipproxy64-faces add -c /etc/sipproxy64.conf']) {
    t.match(unit, line);
  }
  t.match(unit, /^Restart=(always|on-failure)$/m);
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) {
    t.comment('systemd-analyze not installed: structural checks only');
    return;
  }
  const dir = tempDir(t, 'sp64unit-');
  const file = join(dir, 'sipproxy64.service');
  writeFileSync(file, unit.replaceAll('/usr/lib/sipproxy64/sipproxy64-faces', helper).replaceAll('/usr/bin/sipproxy64', join(ROOT, 'dist', 'src', 'cli', 'main.js')));
  const v = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  const problems = (v.stderr + v.stdout).split('\n').filter((l) => l.trim() && !/man sipproxy64\(8\)/.test(l));
  t.same(problems, [], 'systemd-analyze verify');
  const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', file], { encoding: 'utf8' });
  const level = /Overall exposure level for sipproxy64.service: ([\d.]+)/.exec(sec.stdout);
  t.ok(level && Number(level[1]) <= 4, `exposure level ${level?.[1]} is "OK" or better`);
});
