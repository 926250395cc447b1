// A real softphone for the end-to-end tests: baresip (Debian's baresip-core), one process in
// a namespace of its own, so that its RTP leaves from its own address as a phone's does. It
// plays a tone from a WAV file and records what it decodes (the sndfile module); the test
// drives it through ctrl_tcp (netstring JSON), reached by a small bridge run in the same
// namespace, and waits for its events (REGISTER_OK, CALL_ESTABLISHED, CALL_CLOSED ...).
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './netns.js';
import { World } from './world.js';

/** Why baresip cannot run here (null: it can). */
export const baresipMissing = (): string | null =>
  spawnSync('sh', ['-c', 'command -v baresip']).status === 0 ? null : 'baresip is not installed (baresip-core)';

/** A WAV file of a sine tone: 8 kHz, 16-bit mono, what aufile plays without a resampler. */
function toneWav(file: string, hz: number, seconds: number): void {
  const n = 8000 * seconds;
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)), 44 + 2 * i);
  writeFileSync(file, b);
}

/** What a phone heard: seconds of sound, and its tone (zero crossings over the sound). */
export interface Heard {
  seconds: number;
  hz: number;
}

/** Read a recorded WAV (8 kHz 16-bit mono), from byte `from` on: the 20 ms frames with sound, and their tone. */
export function heard(file: string, from = 44): Heard {
  const b = readFileSync(file);
  let frames = 0;
  let crossings = 0;
  for (let f = from; f + 320 <= b.length; f += 320) {
    let energy = 0;
    for (let i = f; i < f + 320; i += 2) energy += Math.abs(b.readInt16LE(i));
    if (energy / 160 < 1000) continue; // silence, or the jitter buffer's fill
    frames++;
    for (let i = f + 2; i < f + 320; i += 2) if (b.readInt16LE(i - 2) < 0 !== b.readInt16LE(i) < 0) crossings++;
  }
  const seconds = frames / 50;
  return { seconds, hz: seconds ? Math.round(crossings / 2 / seconds) : 0 };
}

// Runs in the phone's namespace: ctrl_tcp's netstrings to lines on stdout, lines of stdin to
// netstrings; connects again until baresip listens (bounded: 20 s).
const BRIDGE = `const net = require('net'); const port = Number(process.argv[1]); const end = Date.now() + 20000;
const go = () => { const s = net.connect(port, '127.0.0.1');
  s.on('error', () => { if (Date.now() < end) setTimeout(go, 100); else process.exit(1); });
  s.on('connect', () => { console.log('{"bridge":"up"}'); let buf = '';
    s.on('data', (d) => { buf += d.toString('latin1'); for (;;) { const c = buf.indexOf(':'); if (c < 0) break; const n = Number(buf.slice(0, c));
      if (buf.length < c + 2 + n) break; console.log(buf.slice(c + 1, c + 1 + n)); buf = buf.slice(c + 2 + n); } });
    s.on('close', () => process.exit(0));
    let line = ''; process.stdin.on('data', (d) => { line += d; let i; while ((i = line.indexOf('\\n')) >= 0) { const j = line.slice(0, i); line = line.slice(i + 1); s.write(Buffer.byteLength(j) + ':' + j + ','); } }); }); };
go();`;

export interface BaresipEvent {
  type?: string;
  param?: string;
  id?: string;
  response?: boolean;
  ok?: boolean;
  data?: string;
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  private readonly proc: ChildProcess;
  private readonly bridge: ChildProcess;
  private readonly dir: string;
  private out = '';
  /** What it printed, without its status line ("[0:00:01] audio=64000/64000 (bit/s)"). */
  get log(): string {
    return this.out.replace(/\[\d+:\d\d:\d\d\] audio=\S+ \(bit\/s\)\s*/g, '');
  }

  /**
   * A phone in world `w`'s namespace at `ip` (SIP on `sipPort`, 5060 unless given), with the account line
   * `account` (accounts(5) of baresip), playing a tone of `hz`.
   */
  constructor(readonly w: World, readonly ip: string, account: string, hz: number, rtpPorts: string, sipPort = 5060) {
    this.dir = join(w.dir, `baresip-${ip.replace(/:/g, '_')}`);
    mkdirSync(join(this.dir, 'rec'), { recursive: true });
    toneWav(join(this.dir, 'tone.wav'), hz, 60);
    const host = ip.includes(':') ? `[${ip}]` : ip;
    writeFileSync(join(this.dir, 'config'), `poll_method epoll
sip_listen ${host}:${sipPort}
sip_trans_def udp
net_interface ${ip}
audio_player alsa,null
audio_alert alsa,null
audio_source aufile,${join(this.dir, 'tone.wav')}
audio_level no
rtp_ports ${rtpPorts}
rtp_timeout 0
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module alsa.so
module sndfile.so
module srtp.so
module dtls_srtp.so
snd_path ${join(this.dir, 'rec')}
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:4444
`);
    writeFileSync(join(this.dir, 'accounts'), `${account}\n`);
    this.proc = w.ns.start('baresip', ['-f', this.dir]);
    this.proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.bridge = spawn('ip', ['netns', 'exec', w.ns.name, process.execPath, '-e', BRIDGE, '4444'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    this.bridge.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as BaresipEvent);
        } catch {
          this.out += `bridge: ${line}\n`;
        }
      }
    });
  }

  /** Wait until an event of `type` (after the first `from` events) arrives; bounded by ms. */
  async event(type: string, ms = 15000, from = 0): Promise<BaresipEvent | null> {
    let found: BaresipEvent | null = null;
    await waitFor(() => (found = this.events.slice(from).find((e) => e.type === type) ?? null) !== null, ms, 50);
    return found;
  }

  /** The control connection is up (baresip listens, its modules loaded). */
  ready(ms = 15000): Promise<boolean> {
    return waitFor(() => this.events.some((e) => (e as { bridge?: string }).bridge === 'up'), ms, 50);
  }

  /** Its account is registered: baresip says "{0/UDP/v4} 200 OK" (its REGISTER_OK event may
   *  come before the bridge is up). */
  registered(ms = 15000, transport = 'UDP'): Promise<boolean> {
    return waitFor(() => new RegExp(`\\{\\d+\\/${transport}\\/v[46]\\} 200 OK`).test(this.log), ms, 50);
  }

  /** A command of the menu module (dial, hangup, hold, resume ...). */
  command(command: string, params = ''): void {
    this.bridge.stdin?.write(`${JSON.stringify({ command, params, token: command })}\n`);
  }

  /** The newest recording's name and length now (null: none yet). */
  recording(): { file: string; bytes: number } | null {
    const rec = join(this.dir, 'rec');
    const last = readdirSync(rec).filter((f) => f.endsWith('-dec.wav')).sort().at(-1);
    return last ? { file: last, bytes: readFileSync(join(rec, last)).length } : null;
  }

  /** What this phone has decoded so far in the newest recording, after `since` (recording()) if it is that one. */
  hearing(since: { file: string; bytes: number } | null = null): Heard | null {
    const now = this.recording();
    if (!now) return null;
    const from = since && since.file === now.file ? 44 + Math.ceil((since.bytes - 44) / 320) * 320 : 44;
    return heard(join(this.dir, 'rec', now.file), from);
  }

  /** The newest recording of what this phone decoded, read and removed (its files with it). */
  takeHeard(): Heard | null {
    const h = this.hearing();
    const rec = join(this.dir, 'rec');
    for (const f of readdirSync(rec)) rmSync(join(rec, f));
    return h;
  }

  /** Stop it; resolves once it has exited (its SIP port is free again). */
  stop(): Promise<void> {
    this.bridge.kill('SIGKILL');
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGKILL');
    return gone;
  }
}

type Tap = { ok(v: unknown, msg: string): void };

/** For a failed check's message: what the phones printed last. */
export const failed = (...phones: Baresip[]): string => phones.map((p) => `\n${p.ip}: ${p.log.slice(-600)}`).join('');

/**
 * The phones run and register (`over`: each one's transport, UDP when not given), in one
 * check that shows their output when not; they are stopped when `t` ends.
 */
export async function phonesUp(t: Tap & { teardown(fn: () => unknown): void }, phones: Baresip[], said: string, over: string[] = []): Promise<void> {
  t.teardown(() => Promise.all(phones.map((p) => p.stop())));
  let up = true;
  for (const p of phones) up = up && (await p.ready());
  for (const [i, p] of phones.entries()) up = up && (await p.registered(15000, over[i] ?? 'UDP'));
  t.ok(up, said + (up ? '' : failed(...phones)));
}

/** Both phones hear at least `seconds` of sound in the call now up (bounded: 15 s). */
export const bothHear = (phones: Baresip[], seconds: number): Promise<boolean> =>
  waitFor(() => phones.every((p) => (p.hearing()?.seconds ?? 0) >= seconds), 15000, 200);

/** A phone heard `seconds` of sound at the other phone's pitch `hz` (within 5%). */
export function pitch(t: Tap, h: Heard | null, hz: number, who: string, seconds = 2): void {
  t.ok(h && h.seconds >= seconds, `${who} heard ${h?.seconds ?? 0} s of sound`);
  t.ok(h && Math.abs(h.hz - hz) <= hz * 0.05, `${who} heard the other phone's tone: ${h?.hz} Hz, sent ${hz} Hz`);
}

/** `from` calls `uri`; `to` answers by itself; both hear each other (tones hz); `from` hangs up. */
export async function callAndHear(t: Tap, from: Baresip, to: Baresip, uri: string, hz: [number, number], names: [string, string]): Promise<void> {
  const [f0, t0] = [from.events.length, to.events.length];
  from.command('dial', uri);
  const up = await from.event('CALL_ESTABLISHED', 15000, f0);
  t.ok(up, `${names[0]} calls ${names[1]}: the call is up` + (up ? '' : failed(from, to)));
  t.ok(await to.event('CALL_ESTABLISHED', 15000, t0), `${names[1]} answered`);
  const hear = await bothHear([from, to], 2);
  t.ok(hear, 'both phones hear sound through the relay' + (hear ? '' : failed(from, to)));
  from.command('hangup');
  t.ok(await from.event('CALL_CLOSED', 15000, f0), `${names[0]} hangs up`);
  t.ok(await to.event('CALL_CLOSED', 15000, t0), `${names[1]} gets the BYE`);
  pitch(t, from.takeHeard(), hz[1], names[0]);
  pitch(t, to.takeHeard(), hz[0], names[1]);
}
