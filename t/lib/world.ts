// Shared set-up for the end-to-end tests: a namespace with Kamailio as the IPv6-only
// registrar, sipproxy64, and SIPp phones. Addresses (all on the namespace's loopback):
//   alice   127.0.0.10        IPv4 phone, face 2001:db8:64::10
//   registrar 2001:db8:1::5   Kamailio, face 127.0.0.105
//   carol   [2001:db8:1::20]:5062 (answers) and [2001:db8:1::21]:5060 (calls): IPv6 phone
//   dave    2001:db8::99      an IPv6 party with no map line (generic)
//   generic 127.0.0.1 / 2001:db8::1, media 127.0.0.2 / 2001:db8::2
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { canUseNetns, Netns, RunResult, sleep, waitFor } from './netns.js';
import { removeTemp } from './tmp.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const E2E = join(ROOT, 't', 'e2e');
export const V6 = ['2001:db8::1', '2001:db8::2', '2001:db8:64::10', '2001:db8:1::5', '2001:db8:1::20', '2001:db8:1::21', '2001:db8::99'];

export const PROXY_CONF = `generic4 127.0.0.1
generic6 2001:db8::1
media4 127.0.0.2
media6 2001:db8::2
map 127.0.0.10 2001:db8:64::10
map 2001:db8:1::5 127.0.0.105
rtp-ports 30000-30099
rtp-timeout 5
metrics 127.0.0.1:9064
`;

/** Two parties by map line and no registrar: alice 127.0.0.10 (face 2001:db8:64::10) and carol 2001:db8:1::20 (face 127.0.0.120). */
export const TWO_PARTIES = `generic4 127.0.0.1
generic6 2001:db8::1
map 127.0.0.10 2001:db8:64::10
map 2001:db8:1::20 127.0.0.120
rtp-ports 30000-30099
`;

/**
 * Why the end-to-end tests of a file cannot run here (null: they can): not root, no
 * namespaces, or `missing`, what the file needs beyond them. A reason fails the file.
 */
export function cannotRun(missing: string | null = null): boolean {
  const why = canUseNetns() ?? missing;
  if (why) t.fail(`end-to-end tests cannot run: ${why} (run the README test command as root)`);
  return why !== null;
}

/** Run a file's end-to-end tests in a World of its own (namespace made, destroyed at the end). */
export function e2e(tag: string, body: (w: World) => void, opts: { missing?: string | null; extra?: string[] } = {}): void {
  if (cannotRun(opts.missing ?? null)) return;
  const w = new World(tag);
  t.teardown(() => w.destroy());
  w.setup(opts.extra);
  body(w);
}

/**
 * How long a test call stays up after it is answered: long enough for its RTP peers to find
 * each other through the relay and count their 50 packets (1 s) on a busy machine too.
 */
export const CALL_MS = 4000;

/** What a failed run printed last, for an assertion's message. */
export const tail = (r: RunResult): string => (r.code === 0 ? '' : `\n${r.stdout.slice(-800)}\n${r.stderr.slice(-800)}`);

/** A SIPp phone: its RTP peer's name, address, SIP port, SIPp's own media port, RTP port. */
export interface Phone {
  readonly name: string;
  readonly addr: string;
  readonly sip: number;
  readonly ctl: number;
  readonly rtp: number;
}

export interface Proxy {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

export class World {
  readonly ns: Netns;
  readonly dir: string;
  constructor(tag: string) {
    this.ns = new Netns(tag);
    this.dir = mkdtempSync(join(tmpdir(), `sp64-${tag}-`));
  }

  setup(extra: string[] = []): void {
    this.ns.setup([...V6, ...extra]);
  }

  /** Resident memory of a process, in kB. */
  rssKb(pid: number): number {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  }

  kamailioLog = '';

  /** Kamailio in this namespace; `dir` apart for a second one (its pid and runtime files). */
  async kamailio(defines: string[] = [], dir = this.dir): Promise<ChildProcess> {
    const k = this.ns.start('kamailio', [...defines.flatMap((d) => ['-A', d]), '-f', join(E2E, 'kamailio.cfg'), '-DD', '-E', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-m', '32', '-M', '4']);
    let log = '';
    k.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      this.kamailioLog = log;
    });
    const own = defines.includes('NAT4') ? '198.51.100.20:5060' : '[2001:db8:1::5]:5060'; // kamailio.cfg listens there
    const ok = await waitFor(() => /SO_RCVBUF is finally/.test(log) || this.ns.udpSockets().includes(own), 10000);
    if (!ok) throw new Error(`kamailio did not start:\n${log}`);
    return k;
  }

  /** Start the daemon on `conf`; `wrap` runs it under another command (prlimit --nofile=...). */
  startProxy(conf = PROXY_CONF, extra: string[] = ['-v'], wrap: string[] = []): Proxy {
    const file = join(this.dir, `proxy-${Date.now()}.conf`);
    writeFileSync(file, conf);
    // The daemon runs as in production: no coverage instrumentation inherited from tap.
    const env = { ...process.env };
    delete env.NODE_V8_COVERAGE;
    delete env.NODE_OPTIONS;
    const cmd = [...wrap, process.execPath, join(ROOT, 'dist', 'src', 'cli', 'main.js'), '-c', file, ...extra];
    const child = this.ns.start(cmd[0], cmd.slice(1), { env });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, log: () => log, exited };
  }

  /** Did the proxy start, and does it still run? False when it exited first (a configuration error) or did not start within 10 s. */
  async proxyUp(p: Proxy): Promise<boolean> {
    await waitFor(() => p.log().includes('sipproxy64 started') || p.child.exitCode !== null, 10000);
    return p.log().includes('sipproxy64 started') && p.child.exitCode === null;
  }

  /**
   * Run one SIPp phone to its end; vars become -set NAME VALUE, `remote` is host:port. Its SIP port must be free first: the RTP peer a previous SIPp on the
   * same address started inherits SIPp's socket and holds it until it ends (a busy machine
   * makes that later), so wait for the port, bounded, instead of failing with EADDRINUSE.
   */
  async sipp(scenario: string, ip: string, port: number, mp: number, vars: Record<string, string>, remote?: string, pauseMs?: number, extra: string[] = []): Promise<RunResult> {
    const local = `${ip.includes(':') ? `[${ip}]` : ip}:${port} `;
    await waitFor(() => !this.ns.udpSockets().split('\n').some((l) => l.includes(` ${local}`)), 8000, 100);
    const args = ['-sf', join(E2E, 'scenarios', scenario), '-i', ip, '-p', String(port), '-mp', String(mp), '-m', '1', '-timeout', '25', '-timeout_error', '-nostdin', '-trace_err', '-trace_msg', ...extra];
    for (const [k, v] of Object.entries(vars)) args.push('-set', k, v);
    if (pauseMs !== undefined) args.push('-d', String(pauseMs));
    if (remote) args.push(remote);
    return this.ns.run('sipp', args, 30000, this.dir);
  }

  /** Vars for a phone with an RTP peer that writes its counts to NAME.json. */
  media(name: string, mediaip: string, rtpport: number, count = 50): Record<string, string> {
    return { user: name, mediaip, rtpport: String(rtpport), peer: join(E2E, 'rtp-peer.mjs'), count: String(count), out: join(this.dir, `${name}.json`) };
  }

  async peerResult(name: string): Promise<{ sent: number; received: number; inOrder: boolean; familyOk: boolean } | null> {
    const f = join(this.dir, `${name}.json`);
    await waitFor(() => existsSync(f), 8000, 100);
    return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
  }

  /**
   * One call with RTP: `callee` answers (SIPp uas), `caller` calls `user` at `remote` (uac,
   * CALL_MS long); asserts that both complete (`said`: what each line says) and that each
   * phone's RTP peer sent its 50 packets and received at least 45 in its own family.
   */
  async call(t: Pick<typeof import('tap').default, 'equal' | 'ok'>, caller: Phone, callee: Phone, user: string, remote: string, said: [string, string]): Promise<void> {
    const uas = this.sipp('uas.xml', callee.addr, callee.sip, callee.ctl, this.media(callee.name, callee.addr, callee.rtp));
    await sleep(300);
    const uac = await this.sipp('uac.xml', caller.addr, caller.sip, caller.ctl, { ...this.media(caller.name, caller.addr, caller.rtp), callee: user }, remote, CALL_MS);
    const u = await uas;
    t.equal(uac.code, 0, `${said[0]}${tail(uac)}`);
    t.equal(u.code, 0, `${said[1]}${tail(u)}`);
    for (const name of [caller.name, callee.name]) {
      const r = await this.peerResult(name);
      t.ok(r && r.familyOk && r.sent === 50 && r.received >= 45, `${name} RTP through the relay: ${JSON.stringify(r)}`);
    }
  }

  /** Run the CLI inside the namespace (status, or node -e for HTTP). */
  cli(args: string[]): Promise<RunResult> {
    return this.ns.run(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], 10000);
  }

  /** GET a path of the proxy's metrics endpoint from inside the namespace. */
  async http(path: string): Promise<string> {
    const r = await this.ns.run(process.execPath, ['-e', `fetch('http://127.0.0.1:9064${path}').then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(e); process.exit(1); })`], 10000);
    return r.stdout;
  }

  /** Relay sockets (ports 30000-39999) still bound in the namespace. */
  relaySockets(): string[] {
    // A relay socket is bound to a media address; the proxy's wildcard-bound ones (its ng
    // client's, an ephemeral port that may fall in 3xxxx) are none.
    return this.ns.udpSockets().split('\n').filter((l) => /:(3\d\d\d\d)\s/.test(l) && l.includes('sipproxy64') && !/\s(0\.0\.0\.0|\*|\[::\]):3\d{4}\s/.test(l));
  }

  destroy(): void {
    this.ns.destroy();
    removeTemp(this.dir);
  }
}
