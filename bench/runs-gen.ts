// The stranger's runs of bench/runs and t/e2e/runs.ts (SPEC 11): the messages of t/cases, each
// with its engine and addresses, and the same message with a run of a pattern put after a
// delimiter. A reading that grows faster than the message shows as a run that costs more than
// 4 times as much for 4 times the length.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, validate } from '../src/config/config.js';
import { buildEngine } from '../src/daemon/compose.js';
import type { Engine } from '../src/core/engine.js';
import { HostPort, parseHostPort } from '../src/net/addr.js';
import { headEnd } from '../src/sip/message.js';

/** The Content-Length header's name and its value (RFC 3261 20.14; the compact form l). */
const CL = /^((?:Content-Length|l)[ \t]*:[ \t]*)(\d+)/im;
/** The delimiters a run is put after. */
export const AFTER = ':=@;<\n ,>/"?&[]#%.-';
/** The patterns a run repeats (a NUL after a backslash: the quoted-pair reading takes it byte by byte). */
export const RUNS = ['\\\0', '"\\\0', '<"', '"\\', '<>', '><', '\\"', ';tag=', ',<', '"<', '<sip:', '[:', 'a@', '@a', 'a', '-', '.', ' ', '0', ':', ';', '=', '"', '\\', '<', '@', 'a.', 'a-', '1.', ':0', ';a', ';a=', '%', '[', ',', 'a ', '\t', 'aA', '0:', '=a;', '\n', 'a=x\n', '\r\n'];

/** One message of a case, with the engine of its case and the addresses it came from and to. */
export interface CaseMessage {
  readonly name: string; // "call-v4-to-v6/1.sip"
  readonly text: string;
  readonly engine: Engine;
  readonly src: HostPort;
  readonly local: HostPort;
  readonly head: number; // where its head ends (headEnd): a run put after it is in the body
}

/** The messages of t/cases under `root` (only: those cases), in order; one engine a case. */
export function caseMessages(root: string, only?: readonly string[]): CaseMessage[] {
  const cases = join(root, 't', 'cases');
  const out: CaseMessage[] = [];
  for (const dir of readdirSync(cases).filter((d) => !only || only.includes(d)).sort()) {
    const file = join(cases, dir, 'config');
    const cfg = validate(parseConfig(`${readFileSync(file, 'latin1')}\nflood-limit 1000000\nanswer-limit 1000000\n`, file));
    const { engine } = buildEngine(cfg, { product: 'sipproxy64/bench', now: () => 0 });
    readFileSync(join(cases, dir, 'route'), 'latin1').split('\n').filter((l) => l.trim()).forEach((route, i) => {
      let text: string;
      try {
        text = readFileSync(join(cases, dir, `${i + 1}.sip`), 'latin1');
      } catch {
        return; // a case with another layout
      }
      const [src, local] = route.trim().split(/\s+/).map((x) => parseHostPort(x)!);
      out.push({ name: `${dir}/${i + 1}.sip`, text, engine, src, local, head: headEnd(text) });
    });
  }
  return out;
}

/** The places a run goes: after each delimiter of `after` in text. */
export function places(text: string, after = AFTER): number[] {
  const at: number[] = [];
  for (let p = 0; p < text.length; p++) if (after.includes(text[p])) at.push(p);
  return at;
}

/**
 * The message with `run` repeated to about n characters after position p. In the body,
 * Content-Length grows with it (else the run is cut off as bytes past it).
 */
export function withRun(c: CaseMessage, p: number, run: string, n: number): string {
  const r = run.repeat(Math.floor(n / run.length));
  const m = c.text.slice(0, p + 1) + r + c.text.slice(p + 1);
  return c.head < 0 || p < c.head ? m : m.replace(CL, (_all, name: string, v: string) => `${name}${Number(v) + r.length}`);
}

/** Handle one message; a throw is the fuzz test's business, not this one's. */
export function handle(c: CaseMessage, text: string): void {
  try {
    c.engine.handle(text, c.src, c.local);
  } catch {
    /* counted by t/fuzz.ts */
  }
}

/** The fewest milliseconds of `turns` turns handling text as c's message (a slow turn of the machine shows once). */
export function bestMs(c: CaseMessage, text: string, turns: number): number {
  let best = Infinity;
  for (let k = 0; k < turns; k++) {
    const t0 = process.hrtime.bigint();
    handle(c, text);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

/** What bench/runs-count.js counts: a run in a message of t/cases ("case/N.sip"), or the quadratic control. */
export type CountItem = { readonly name: string; readonly p: number; readonly run: string } | { readonly control: 'quadratic' };
/** The two lengths of a counted run, and the turns at each (the fewest instructions count). */
export const SIZES = [1750, 7000] as const;
export const TURNS = 3;
