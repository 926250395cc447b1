// The benches still run (no speed is asserted: bench/ measures that). bench/rtp-run set up no
// session for a whole session of work (its 200 OK had a bare CR, which the proxy came to
// refuse) and nothing noticed, as no test ran it. Here both run at a tiny load, in their
// own namespaces: each must end by itself, every call and packet must get through at that
// load, and each must end with its ratio line in the form bench/README.md reports. So do
// bench/instructions and bench/delivery, which count instructions under callgrind, and
// bench/rewrite, whose figures no other test reads.
import t from 'tap';
import { spawn } from 'node:child_process';
import { ROOT } from '../lib/world.js';

const run = (cmd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const c = spawn('bash', ['-c', cmd], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => c.kill('SIGTERM'), timeoutMs); // the bench's own trap cleans up
    c.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });

t.setTimeout(1_100_000); // six benches in one file, each bounded below

t.test('bench/rtp-run, 20 sessions for 1 s, each relay', { timeout: 240_000 }, async (t) => {
  // ISOLATE=0: the suite's other tests keep their cores; ONE=1: the one-thread table only;
  // BEHIND_MS: a relay that waits for a busy core is not behind here (nothing is measured).
  const r = await run('bash bench/rtp-run 1 20', { ISOLATE: '0', ONE: '1', BEHIND_MS: '400' }, 200_000);
  t.equal(r.code, 0, 'ends by itself, exit 0');
  for (const relay of ['sipproxy64', 'sp64-epoll', 'sp64-js', 'rtpengine']) {
    const row = new RegExp(`^${relay} .*\\n\\s+20\\s+\\d+\\s+\\d+\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(r.out);
    t.ok(row && row[1] === row[2] && row[3] === '0' && Number(row[1]) > 0, `${relay}: every packet relayed (${row ? `${row[2]} of ${row[1]}` : 'no row'})`);
  }
  t.match(r.out, /^ratio sipproxy64\/rtpengine: sessions \d+\.\d\d, CPU per packet \d+\.\d\d \(lower is better\)$/m, 'the ratio line, in its form');
  // The load starts once a relay is quiet after its set-up (bench/rtp.ts quiet()); an idle relay
  // that never reads as quiet (its run time misread) would start every step on the flag.
  t.notMatch(r.out, /still busy/, 'each relay went quiet after its set-up');
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});

t.test('bench/rtp-run with QUOTA=50: each relay held to half of cpu0', { timeout: 240_000 }, async (t) => {
  const r = await run('bash bench/rtp-run 1 20', { ISOLATE: '0', ONE: '1', QUOTA: '50', ONLY: 'sipproxy64,rtpengine', BEHIND_MS: '400' }, 200_000);
  t.equal(r.code, 0, 'ends by itself, exit 0 (each relay was found in the cgroup)');
  // The kernel's own reading of the quota, and a busy loop in the cgroup held to it (it may
  // get less on a busy machine, never much more).
  const q = /^quota check: (\d+) us of cpu0 each (\d+) us; a busy loop in it got (\d+)% of cpu0/m.exec(r.out);
  t.ok(q && q[1] === '2500' && q[2] === '5000', `the quota as set: ${q ? `${q[1]} us each ${q[2]} us` : 'no line'}`);
  t.ok(q && Number(q[3]) <= 60, `the busy loop held to it: ${q ? q[3] : '-'}%`);
  t.match(r.out, /^ratio sipproxy64\/rtpengine \(each held to 50% of a core\): sessions \d+\.\d\d, CPU per packet \d+\.\d\d \(lower is better\)$/m, 'its ratio line');
  t.match(r.out, /^ratio sipproxy64\/rtpengine: sessions /m, 'the one-thread table before it');
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});

t.test('bench/sip, 100 calls a second for 1 s, each proxy', { timeout: 240_000 }, async (t) => {
  const r = await run('bash bench/sip 1 100', { ROUNDS: '1' }, 200_000);
  t.equal(r.code, 0, 'ends by itself, exit 0');
  for (const proxy of ['sipproxy64', 'kamailio']) {
    const row = new RegExp(`^${proxy} .*\\n\\s+100\\s+(\\d+)\\s+(\\d+)`, 'm').exec(r.out);
    t.ok(row && Number(row[1]) > 0 && row[2] === '0', `${proxy}: calls made, none failed (${row ? `${row[1]} successful, ${row[2]} failed` : 'no row'})`);
  }
  t.match(r.out, /^ratio sipproxy64\/kamailio: rate \d+\.\d\d, CPU per call \d+\.\d\d \(lower is better\)$/m, 'the ratio line, in its form');
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});

t.test('bench/rewrite, 0.05 s a case', { timeout: 120_000 }, async (t) => {
  const r = await run('node dist/bench/rewrite.js 0.05', {}, 100_000);
  t.equal(r.code, 0, 'ends by itself, exit 0');
  for (const c of ['INVITE with SDP', '200 OK with SDP', 'REGISTER', 'INVITE masquerading', 'INVITE prefix map', 'INVITE nat64', 'INVITE with SDP again']) {
    // The bytes a message allocates, read from the heap between collections: a figure, not NaN.
    const row = new RegExp(`^${c}\\s+(\\d+) msg/s  \\([\\d.]+ us/msg\\)\\s+([\\d.]+) KB/msg allocated$`, 'm').exec(r.out);
    t.ok(row && Number(row[1]) > 0 && Number(row[2]) > 0, `${c}: ${row ? `${row[1]} msg/s, ${row[2]} KB a message` : 'no row'}`);
  }
  t.match(r.out, /^nat64 INVITE \/ plain map line INVITE: \d+\.\d\d$/m, 'ends with its ratios');
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});

// The two benches that count instructions under callgrind (valgrind: t/run-all installs it),
// at a small count: each ends by itself and prints its rows in their form, each count above 0.
// The count is the difference of two runs (N messages and none), and a loaded machine moves
// a run's start-up by about 1% (bench/instructions), tens of millions of instructions: with
// 200 REGISTERs (about 41 million) a CI run printed a row that was no count, and exited 0,
// which a difference below zero fits. 1,000 (five times that) stand above it, and the file
// still ends within its 300 s (about 200 s beside a busy loop).
t.test('bench/instructions, 1000 REGISTERs', { timeout: 240_000 }, async (t) => {
  const r = await run('bash bench/instructions 1000 REGISTER', { WARMUP: '2000' }, 200_000); // a shorter warm-up: this asks for a count, not its figure
  t.equal(r.code, 0, 'ends by itself, exit 0');
  const row = /^REGISTER\s+(-?\d+)$/m.exec(r.out);
  t.ok(row && Number(row[1]) > 0, `instructions per REGISTER: ${row ? row[1] : `no row in: ${r.out.slice(-600)}`}`);
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});

t.test('bench/delivery, reads of 1 and of 8 datagrams', { timeout: 240_000 }, async (t) => {
  const r = await run('bash bench/delivery', {}, 200_000);
  t.equal(r.code, 0, 'ends by itself, exit 0');
  for (const b of [1, 8]) {
    const row = new RegExp(`^${b} datagram\\(s\\)\\s+(\\d+)$`, 'm').exec(r.out);
    t.ok(row && Number(row[1]) > 0, `instructions a datagram, reads of ${b}: ${row ? row[1] : 'no row'}`);
  }
  if (r.code !== 0) t.comment(r.out.slice(-2000));
});
