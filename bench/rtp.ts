// bench/rtp: RTP relayed between IPv4 and IPv6 for many concurrent sessions at 50 packets/s
// each way (172-byte packets, like G.711), through RTPproxy64 (sessions set up with real SIP
// through sipproxy64) and through rtpengine in userspace (sessions set up with its ng
// protocol), with the same load from bench/rtpload (C, epoll). Run by bench/rtp-run inside a
// namespace of its own. Per relay and session count: packets sent, received, lost, relay CPU
// per 100k packets, one-way latency through the relay (median, 99th percentile). A step
// passes when nothing is lost and the p99 stays under one packet time (a relay past its core
// queues, and a short step would not see it lose). The load starts once the relay is quiet
// after its set-up (quiet() below).
// RTPproxy64 runs on its native datapath and, for reference, on the JavaScript one.
// THREADS=N: each relay gets N threads (media-threads, rtpengine --num-threads); with 1 the
// relay is pinned to cpu0 and the generator to cpu1, with more nothing is pinned.
//   node dist/bench/rtp.js CONF SECONDS LOADGEN N1 N2 ...
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';

const [conf, secsArg, loadgen, ...steps] = process.argv.slice(2);
const secs = Number(secsArg);
const THREADS = Number(process.env.THREADS ?? 1);
const pin = (cpu: number): string[] => (THREADS === 1 ? ['taskset', '-c', String(cpu)] : []);
// QUOTA=P with QUOTA_CG=DIR (bench/rtp-run makes it): each relay starts inside that cpu
// cgroup, which holds it to P% of a core.
const QUOTA_CG = process.env.QUOTA_CG ?? '';
const QUOTA = QUOTA_CG ? Number(process.env.QUOTA) : 0; // the other tables inherit QUOTA from the caller
const relayPin = (): string[] => (QUOTA_CG ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', QUOTA_CG] : []).concat(pin(0));
/** One-way time past which a relay has fallen behind: one packet time (20 ms), by when the stream's next packet is due (BEHIND_MS: another, for a shared machine). */
const BEHIND_US = Number(process.env.BEHIND_MS ?? 20) * 1000;
const CRLF = (s: string): string => s.replace(/\n/g, '\r\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sock(type: 'udp4' | 'udp6', addr: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type);
    s.once('error', reject);
    s.bind(port, addr, () => resolve(s));
  });
}

/** Milliseconds the hypervisor took from the relay's core (cpu0; every core when nothing is pinned): /proc/stat's steal. */
function stealMs(): number {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const line = lines.find((l) => l.startsWith(THREADS === 1 ? 'cpu0 ' : 'cpu ')) ?? '';
  return Number(line.trim().split(/\s+/)[8] ?? 0) * 10; // USER_HZ 100
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Nanoseconds all threads of a process have run (/proc/PID/task/TID/schedstat: exact, where /proc/PID/stat counts 10 ms ticks). */
function runNs(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return ns;
}

/** The longest wait for a relay to go quiet after its set-up (QUIET_MS; 0: none, as before the fifty-first session). */
const QUIET_MS = Number(process.env.QUIET_MS ?? 10000);

/**
 * Wait until the relay is quiet after its set-up: under 2% of a core over 200 ms, for at most
 * QUIET_MS. What a set-up of hundreds of calls at once leaves running (V8 compiling, a
 * collection, binds) is not forwarding, and a deployment's calls do not all start in one
 * second; on the relay's core, or inside its quota, it delayed the first packets: held to half
 * a core, sipproxy64's p99 at 250-350 sessions was 142-18,621 us when the load started at
 * once, 104-604 us when it started 3 s later (bench/README.md, fifty-first session). Both
 * relays wait by the same rule. False when the relay was still busy at the end.
 */
async function quiet(pid: number): Promise<boolean> {
  if (QUIET_MS <= 0) return true;
  const end = Date.now() + QUIET_MS;
  for (let last = runNs(pid); Date.now() < end;) {
    await sleep(200);
    const now = runNs(pid);
    if (now - last < 4e6) return true;
    last = now;
  }
  return false;
}

interface Relay4x6 {
  name: string;
  start(): Promise<ChildProcess>;
  /** Set up n sessions; returns the relay port each side must send to. */
  setup(n: number): Promise<Array<{ r4: number; r6: number }>>;
}

const sdp4 = (port: number) => CRLF(`v=0\no=a 1 1 IN IP4 127.0.0.10\ns=-\nc=IN IP4 127.0.0.10\nt=0 0\nm=audio ${port} RTP/AVP 0\n`);
const sdp6 = (port: number) => CRLF(`v=0\no=c 1 1 IN IP6 2001:db8:1::20\ns=-\nc=IN IP6 2001:db8:1::20\nt=0 0\nm=audio ${port} RTP/AVP 0\n`);

// sp64-epoll: the native datapath with media-io epoll (a system call a packet each way), for
// what io_uring (the default where the kernel allows it) saves.
const sipproxy64 = (datapath: 'native' | 'js', io: 'auto' | 'epoll' = 'auto'): Relay4x6 => ({
  name: datapath === 'js' ? 'sp64-js' : io === 'epoll' ? 'sp64-epoll' : 'sipproxy64',
  async start() {
    // PROFILE=DIR writes a CPU profile of the relay (node --cpu-prof) to DIR.
    const prof = process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : [];
    const cmd = [...relayPin(), process.execPath, ...prof, 'dist/src/cli/main.js', '-c', conf, '--media-datapath', datapath, '--media-io', io, '--media-threads', String(THREADS)];
    const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    await sleep(1200);
    return p;
  },
  async setup(n) {
    const alice = await sock('udp4', '127.0.0.10', 5060);
    const carol = await sock('udp6', '2001:db8:1::20', 5060);
    const out: Array<{ r4: number; r6: number }> = [];
    const got = new Set<number>();
    const done = new Promise<void>((resolve) => {
      carol.on('message', (msg) => {
        const t = msg.toString('latin1');
        if (!t.startsWith('INVITE')) return;
        const i = Number(/Call-ID: b(\d+)/.exec(t)![1]);
        out[i] = { r4: 0, r6: Number(/m=audio (\d+)/.exec(t)![1]) };
        // Joined by LF: CRLF() below makes every line end CRLF (joined by CRLF, it made CR CR LF,
        // a bare CR the proxy refuses since 48969f6, and no session was set up).
        const keep = t.split('\r\n').filter((l) => l.startsWith('Via:') || l.startsWith('Record-Route:')).join('\n');
        const body = sdp6(41000);
        const ok = CRLF(`SIP/2.0 200 OK\n${keep}\nFrom: <sip:alice@[2001:db8:64::10]>;tag=a\nTo: <sip:carol@[2001:db8:1::20]>;tag=c\nCall-ID: b${i}\nCSeq: 1 INVITE\nContact: <sip:carol@[2001:db8:1::20]>\nContent-Type: application/sdp\nContent-Length: ${body.length}\n\n`) + body;
        carol.send(Buffer.from(ok, 'latin1'), 5060, '2001:db8:64::10');
      });
      alice.on('message', (msg) => {
        const m = /^SIP\/2.0 200[\s\S]*Call-ID: b(\d+)[\s\S]*m=audio (\d+)/.exec(msg.toString('latin1'));
        if (!m) return;
        out[Number(m[1])].r4 = Number(m[2]);
        got.add(Number(m[1]));
        if (got.size === n) resolve();
      });
    });
    const body = sdp4(41000);
    const inviteOf = (i: number): Buffer => Buffer.from(CRLF(`INVITE sip:carol@127.0.0.120 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKb${i}\nMax-Forwards: 70\nFrom: <sip:alice@127.0.0.10>;tag=a\nTo: <sip:carol@127.0.0.120>\nCall-ID: b${i}\nCSeq: 1 INVITE\nContact: <sip:alice@127.0.0.10>\nContent-Type: application/sdp\nContent-Length: ${body.length}\n\n`) + body, 'latin1');
    for (let i = 0; i < n; i++) {
      alice.send(inviteOf(i), 5060, '127.0.0.120');
      if (i % 50 === 49) await sleep(5);
    }
    // As a UA does (RFC 3261 17.1.1.2, timer A): an INVITE not answered is sent again; bounded,
    // so a lost datagram cannot hang the bench.
    for (let round = 0; round < 10 && got.size < n; round++) {
      if (await Promise.race([done.then(() => true), sleep(1000).then(() => false)])) break;
      for (let i = 0; i < n; i++) if (!got.has(i)) alice.send(inviteOf(i), 5060, '127.0.0.120');
    }
    if (got.size < n) throw new Error(`sipproxy64 set up ${got.size} of ${n} sessions`);
    alice.close();
    carol.close();
    return out;
  },
});

// bencode, enough for rtpengine's ng protocol
function benc(v: unknown): string {
  if (typeof v === 'string') return `${Buffer.byteLength(v)}:${v}`;
  if (typeof v === 'number') return `i${v}e`;
  if (Array.isArray(v)) return `l${v.map(benc).join('')}e`;
  return `d${Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => benc(k) + benc(x)).join('')}e`;
}

const rtpengine: Relay4x6 = {
  name: 'rtpengine',
  async start() {
    const cmd = [...relayPin(), 'rtpengine', '--foreground', '--log-stderr', '--log-level=3', '--table=-1', `--num-threads=${THREADS}`,
      '--interface=internal/127.0.0.2', '--interface=external/2001:db8::2', '--listen-ng=127.0.0.1:2223',
      '--port-min=20000', '--port-max=39999', '--timeout=60', '--delete-delay=0'];
    // Its stderr is not shown: past its limit it logs a line per port and packet burst.
    const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'ignore'] });
    await sleep(1500);
    return p;
  },
  async setup(n) {
    const ng = await sock('udp4', '127.0.0.1', 0);
    const pending = new Map<string, (sdp: string) => void>();
    ng.on('message', (msg) => {
      const t = msg.toString('latin1');
      const sp = t.indexOf(' ');
      const m = /3:sdp(\d+):/.exec(t);
      if (!m) return;
      const start = m.index + m[0].length;
      pending.get(t.slice(0, sp))?.(t.slice(start, start + Number(m[1])));
    });
    // One ng command, sent again each second until answered (UDP), at most ten times.
    const call = async (cookie: string, cmd: Record<string, unknown>): Promise<string> => {
      const answer = new Promise<string>((resolve) => pending.set(cookie, resolve));
      for (let i = 0; i < 10; i++) {
        ng.send(Buffer.from(`${cookie} ${benc(cmd)}`, 'latin1'), 2223, '127.0.0.1');
        const r = await Promise.race([answer, sleep(1000).then(() => null)]);
        if (r !== null) return r;
      }
      throw new Error(`rtpengine did not answer ${cookie}`);
    };
    const out: Array<{ r4: number; r6: number }> = [];
    for (let i = 0; i < n; i++) {
      const offer = await call(`o${i}`, { command: 'offer', 'call-id': `b${i}`, 'from-tag': 'a', sdp: sdp4(41000), direction: ['internal', 'external'] });
      const answer = await call(`a${i}`, { command: 'answer', 'call-id': `b${i}`, 'from-tag': 'a', 'to-tag': 'c', sdp: sdp6(41000) });
      out.push({ r6: Number(/m=audio (\d+)/.exec(offer)![1]), r4: Number(/m=audio (\d+)/.exec(answer)![1]) });
    }
    ng.close();
    return out;
  },
};

interface Row { n: number; line: string; extra?: string }

/** One step of one relay: started, n sessions set up, the load run; its table row, and whether it passed (nothing lost, the generator at its rate, the relay kept up). */
async function runStep(relay: Relay4x6, n: number): Promise<{ row: Row; ok: boolean; per: number; lat: string }> {
  const proc = await relay.start();
  const cg = QUOTA_CG.split('/').pop();
  if (cg && !readFileSync(`/proc/${proc.pid}/cgroup`, 'utf8').includes(`/${cg}\n`)) throw new Error(`${relay.name} is not in cgroup ${cg}`);
  const legsOf = await relay.setup(n);
  const settled = await quiet(proc.pid!);
  // Every session's phones are one socket per family (port 41000): the generator sends and
  // receives in batches; the relay still has a socket pair per session and side.
  const legs = [...legsOf.map((l) => `127.0.0.10 41000 127.0.0.2 ${l.r4}`), ...legsOf.map((l) => `2001:db8:1::20 41000 2001:db8::2 ${l.r6}`)].join('\n');
  const c0 = cpuOf(proc.pid!);
  const st0 = stealMs();
  const gen = [...pin(1), loadgen, String(secs)];
  const r = spawnSync(gen[0], gen.slice(1), { input: legs + '\n', encoding: 'utf8', env: { ...process.env, POLL: THREADS === 1 ? '1' : '' } });
  const cpu = cpuOf(proc.pid!) - c0;
  const steal = stealMs() - st0;
  proc.kill(process.env.PROFILE ? 'SIGINT' : 'SIGKILL');
  await sleep(process.env.PROFILE ? 2000 : 500);
  const j = JSON.parse(r.stdout) as { sent: number; received: number; pps: number; p50_us: number; p99_us: number };
  const lost = j.sent - j.received;
  const per = (cpu / j.sent) * 100000;
  const line = `${''.padEnd(11)} ${String(n).padStart(8)}  ${String(n * 100).padStart(10)}  ${String(Math.round(j.pps)).padStart(8)}  ${String(j.sent).padEnd(8)}  ${String(j.received).padEnd(8)}  ${String(lost).padEnd(6)}  ${per.toFixed(3).padStart(10)}  ${String(j.p50_us).padStart(6)}  ${String(j.p99_us).padStart(6)}  ${String(steal).padStart(8)}`;
  const genOk = j.pps >= n * 100 * 0.98;
  // A relay that queues what it cannot carry loses nothing in a short step (the generator
  // waits 500 ms for the last packets): past BEHIND_US at the 99th percentile it has fallen behind.
  const behind = j.p99_us > BEHIND_US;
  const extra = !genOk
    ? `${''.padEnd(11)} (the generator reached only ${Math.round(j.pps)} of ${n * 100} packets/s: this step measures it, not the relay)`
    : behind ? `${''.padEnd(11)} (p99 over ${BEHIND_US / 1000} ms: the relay fell behind)`
    : !settled ? `${''.padEnd(11)} (the relay was still busy ${QUIET_MS} ms after its set-up: the load started anyway)` : undefined;
  return { row: { n, line, extra }, ok: lost === 0 && genOk && !behind, per, lat: `${j.p50_us}/${j.p99_us}` };
}

async function main(): Promise<void> {
  const alone = process.env.ISOLATED === '1' ? ' (every other task that may move is off cpu0)' : '';
  const held = QUOTA ? `, each relay held to ${QUOTA}% of cpu0 (cpu cgroup quota)` : '';
  const where = THREADS === 1 ? `relay pinned to cpu0${alone}${held}, bench/rtpload (C) on cpu1` : 'nothing pinned';
  console.log(`bench/rtp: ${secs}s per step; ${THREADS} relay thread(s) each, ${where}; the relays take turns at each step; latency is one way through the relay (send to kernel receive timestamp)`);
  // ONLY=sipproxy64,rtpengine: just those relays (a quick look; the ratio line needs both).
  const only = process.env.ONLY?.split(',');
  const relays = (process.env.PROFILE ? [sipproxy64('native')] : [sipproxy64('native'), sipproxy64('native', 'epoll'), sipproxy64('js'), rtpengine]).filter((r) => !only || only.includes(r.name));
  const best: Record<string, { n: number; cpu: number }> = {};
  const lat: Record<string, Record<number, string>> = {};
  const rows: Record<string, Row[]> = {};
  const done = new Set<string>(); // a relay that failed a step (lost packets, fell behind, outran the generator) takes no further step
  for (const r of relays) (lat[r.name] = {}), (rows[r.name] = []);
  // Step by step, each relay in turn: a slow moment of the machine falls on all of them.
  for (const step of steps) {
    const n = Number(step);
    for (const relay of relays) {
      if (done.has(relay.name)) continue;
      const s = await runStep(relay, n);
      rows[relay.name].push(s.row);
      lat[relay.name][n] = s.lat;
      if (s.ok) best[relay.name] = { n, cpu: s.per };
      else done.add(relay.name);
    }
    if (done.size === relays.length) break;
  }
  for (const relay of relays) {
    console.log(`${relay.name.padEnd(11)} sessions  target-pps  sent-pps  sent      received  lost    cpu-s/100k  p50-us  p99-us  steal-ms`);
    for (const row of rows[relay.name]) console.log(row.extra ? `${row.line}\n${row.extra}` : row.line);
  }
  const s = best.sipproxy64;
  const k = best.rtpengine;
  const names = Object.keys(lat);
  for (const n of [100, 500]) console.log(`p50/p99 us at ${n} sessions: ${names.map((r) => `${r} ${lat[r][n] ?? '-'}`).join(', ')}`);
  console.log(`\nhighest session count with zero loss and p99 under ${BEHIND_US / 1000} ms: ${names.map((r) => `${r} ${best[r]?.n ?? 0}`).join(', ')}`);
  if (QUOTA) console.log(`the same, per core (divided by ${QUOTA}%): ${names.map((r) => `${r} ${Math.round(((best[r]?.n ?? 0) * 100) / QUOTA)}`).join(', ')}`);
  const label = QUOTA ? ` (each held to ${QUOTA}% of a core)` : '';
  if (s && k) console.log(`ratio sipproxy64/rtpengine${label}: sessions ${(s.n / k.n).toFixed(2)}, CPU per packet ${(s.cpu / k.cpu).toFixed(2)} (lower is better)`);
}

void main();
