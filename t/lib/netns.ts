// A network namespace a test makes for itself (we are root): its own loopback with the
// documentation addresses the test needs, processes started inside it, cleaned up after.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function canUseNetns(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const bin of ['ip', 'sipp', 'kamailio']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0 && spawnSync('sh', ['-c', `test -x /usr/sbin/${bin}`]).status !== 0) return `${bin} is not installed`;
  }
  return null;
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();

  constructor(tag: string) {
    this.name = `sp64-${tag}-${process.pid}`;
  }

  private ip(args: string[]): void {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }

  /** Create the namespace with lo up and the given IPv6 addresses (/128, no DAD). 127/8 is local already. */
  setup(v6: string[]): void {
    spawnSync('ip', ['netns', 'del', this.name]);
    this.ip(['netns', 'add', this.name]);
    this.ip(['-n', this.name, 'link', 'set', 'lo', 'up']);
    for (const a of v6) this.ip(['-n', this.name, '-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
  }

  /** Start a long-running process inside the namespace. */
  start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(c);
    c.on('exit', () => this.children.delete(c));
    return c;
  }

  /** Run a process to its end (bounded by timeoutMs) and collect its output. */
  run(cmd: string, args: string[], timeoutMs: number, cwd?: string): Promise<RunResult> {
    return new Promise((resolve) => {
      const c = this.start(cmd, args, { cwd });
      let stdout = '';
      let stderr = '';
      c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
      c.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** UDP sockets bound in the namespace, as `ss -uanp` lists them. */
  udpSockets(): string {
    return spawnSync('ip', ['netns', 'exec', this.name, 'ss', '-uanp'], { encoding: 'utf8' }).stdout;
  }

  destroy(): void {
    for (const c of this.children) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).forEach((pid) => {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** Wait until `cond` holds, polling; false after timeoutMs. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** Pause (for pacing a scenario, never to wait for readiness: use waitFor for that). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
