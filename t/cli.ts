// The built command line: exit codes, rewrite output, --check-config, --help, --version.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './lib/tmp.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const bin = join(root, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[], input?: Buffer | string) => spawnSync(process.execPath, [bin, ...args], { input, cwd: root, timeout: 20000 });

t.test('rewrite prints send SRC DST and the exact bytes', async (t) => {
  const input = readFileSync(join(root, 'etc', 'examples', 'register.sip'));
  const r = run(['rewrite', '-c', 'etc/sipproxy64.conf', '--from', '192.0.2.10:5060', '--to', '192.0.2.105:5060'], input);
  t.equal(r.status, 0, r.stderr.toString());
  const out = r.stdout.toString('latin1');
  t.ok(out.startsWith('send [2001:db8:64::10]:5060 [2001:db8:1::5]:5060\nREGISTER sip:[2001:db8:1::5] SIP/2.0\r\n'));
  t.match(out, /\r\nContact: <sip:alice@\[2001:db8:64::10\]:5060;sp64t=udp>;expires=3600\r\n/);
});

t.test('a fixture case gives the same output through the CLI', async (t) => {
  const dir = join(root, 't', 'cases', 'register-v4-to-v6');
  const [from, to] = readFileSync(join(dir, 'route'), 'latin1').split('\n')[0].split(' ');
  const r = run(['rewrite', '-c', join(dir, 'config'), '--from', from, '--to', to], readFileSync(join(dir, '1.sip')));
  const expected = readFileSync(join(dir, 'expected'), 'latin1');
  t.ok(expected.startsWith(r.stdout.toString('latin1')), 'first message output matches the fixture');
});

t.test('rewrite resolves uplinks named by host name (here: localhost, from the host table)', async (t) => {
  const dir = tempDir(t, 'sp64-');
  const conf = join(dir, 'up.conf');
  writeFileSync(conf, 'generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap localhost 2001:db8::140\n');
  const msg = 'OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::77]:5060;branch=z9hG4bKx\r\nFrom: <sip:a@[2001:db8::77]>;tag=1\r\nTo: <sip:localhost>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
  const r = run(['rewrite', '-c', conf, '--from', '[2001:db8::77]:5060', '--to', '[2001:db8::140]:5060'], msg);
  t.equal(r.status, 0, r.stderr.toString());
  t.match(r.stdout.toString(), /^send 192\.0\.2\.1:5060 127\.0\.0\.1:5060\nOPTIONS sip:localhost SIP\/2\.0\r\n/);
});

t.test('rewrite on a terminal shows control characters as \\xNN; into a pipe, the exact bytes (SPEC 11)', async (t) => {
  const dir = tempDir(t, 'sp64-');
  const msg = join(dir, 'esc.sip');
  writeFileSync(msg, 'OPTIONS sip:alice@192.0.2.105 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@192.0.2.105>;tag=1\r\n' +
    'To: <sip:alice@192.0.2.105>\r\nCall-ID: \x1b]0;owned\x07\x9b2J@192.0.2.10\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', 'latin1');
  const args = `rewrite -c etc/sipproxy64.conf --from 192.0.2.10:5060 --to 192.0.2.105:5060 < ${msg}`;
  // script(1) runs it on a pseudo-terminal, as an operator's shell would.
  const tty = spawnSync('script', ['-qec', `${process.execPath} ${bin} ${args}`, '/dev/null'], { cwd: root, timeout: 20000 });
  const shown = tty.stdout.toString('latin1');
  t.match(shown, 'Call-ID: \\x1b]0;owned\\x07\\x9b2J@192.0.2.10', `the Call-ID escaped on the terminal: ${JSON.stringify(shown.slice(0, 200))}`);
  t.notMatch(shown, /[\x1b\x07\x9b]/, 'no escape byte reaches it');
  const piped = spawnSync('sh', ['-c', `${process.execPath} ${bin} ${args}`], { cwd: root, timeout: 20000 });
  t.match(piped.stdout.toString('latin1'), 'Call-ID: \x1b]0;owned\x07\x9b2J@192.0.2.10\r\n', 'into a pipe: the bytes the proxy would send');
});

t.test('drops print drop REASON and exit 0', async (t) => {
  const r = run(['rewrite', '-c', 'etc/sipproxy64.conf', '--from', '192.0.2.10:5060', '--to', '192.0.2.105:5060'], '\r\n\r\n');
  t.equal(r.status, 0);
  t.equal(r.stdout.toString(), 'drop keepalive\n');
});

t.test('usage and config errors exit 2 with a message naming the problem', async (t) => {
  const dir = tempDir(t, 'sp64-');
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'generic4 192.0.2.1\ngeneric6 2001:db8::1\nmap 192.0.2.10 192.0.2.11\n');
  const r1 = run(['--check-config', '-c', bad]);
  t.equal(r1.status, 2);
  t.match(r1.stderr.toString(), `${bad}:3: face 192.0.2.11 must be in the other family`);
  const r2 = run(['rewrite', '--no-such-flag']);
  t.equal(r2.status, 2);
  const r3 = run(['rewrite', '-c', 'etc/sipproxy64.conf', '--from', 'nonsense', '--to', '192.0.2.105:5060'], '');
  t.equal(r3.status, 2);
  t.match(r3.stderr.toString(), '--from takes ADDR:PORT');
  const r4 = run(['frobnicate', '-c', 'etc/sipproxy64.conf']);
  t.equal(r4.status, 2);
  const r5 = run(['--check-config', '-c', 'etc/sipproxy64.conf', '--sip-port', 'abc']);
  t.equal(r5.status, 2);
  t.match(r5.stderr.toString(), '--sip-port: "abc" is not a number');
});

t.test('--check-config prints the mapping table', async (t) => {
  const r = run(['--check-config', '-c', 'etc/sipproxy64.conf', '--map', '192.0.2.12=2001:db8:64::12']);
  t.equal(r.status, 0, r.stderr.toString());
  t.match(r.stdout.toString(), /192\.0\.2\.10\s+2001:db8:64::10\s+etc\/sipproxy64\.conf:\d+/);
  t.match(r.stdout.toString(), /192\.0\.2\.12\s+2001:db8:64::12\s+--map/);
});

t.test('--help and --version', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const v = run(['--version']);
  t.equal(v.stdout.toString().trim(), pkg.version);
  const h = run(['--help']);
  t.equal(h.status, 0);
  t.match(h.stdout.toString(), /sipproxy64 rewrite --from ADDR:PORT --to ADDR:PORT/);
});

t.test('masquerading: --check-config shows it, rewrite resolves the names the LAN sends to, status lists registrations', async (t) => {
  const dir = tempDir(t, 'sp64-');
  const conf = join(dir, 'masq.conf');
  const regs = join(dir, 'registrations.json');
  writeFileSync(conf, `inbound 192.0.2.1/24\noutbound 198.51.100.1\nregistrations ${regs}\n`);
  const c = run(['--check-config', '-c', conf]);
  t.equal(c.status, 0, c.stderr.toString());
  t.match(c.stdout.toString(), /inbound 192\.0\.2\.1\/24  outbound 198\.51\.100\.1/);
  const msg = 'OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx\r\nFrom: <sip:a@192.0.2.10>;tag=1\r\nTo: <sip:localhost>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
  const r = run(['rewrite', '-c', conf, '--from', '192.0.2.10:5060', '--to', '192.0.2.1:5060'], msg);
  t.equal(r.status, 0, r.stderr.toString());
  // localhost resolves from the host table (else 503 name-unresolved), to the gateway's own
  // loopback, where a LAN phone may not send (SPEC 11).
  t.match(r.stdout.toString(), /^send 192\.0\.2\.1:5060 192\.0\.2\.10:5060\nSIP\/2\.0 403 Forbidden \(destination not allowed\)\r\n/, 'localhost, from the host table, refused');
  writeFileSync(regs, JSON.stringify({ registrar: [], outbound: [{ aor: 'alice', bindings: [{ contact: 'sip:alice@192.0.2.10:5060', expires: Date.now() + 60_000, callId: 'c', cseq: 1, source: '192.0.2.10:5060' }] }] }));
  const s = run(['status', '-c', conf]);
  t.equal(s.status, 0, s.stderr.toString());
  t.match(s.stdout.toString(), /KIND\s+USER\s+CONTACT\s+FROM\s+EXPIRES\noutbound\s+alice\s+sip:alice@192\.0\.2\.10:5060\s+192\.0\.2\.10:5060\s+\d+s\n1 registration\n/);
});
