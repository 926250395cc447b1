// bench/runs: does any reading of a message take time that grows faster than the message?
// (SPEC 11: a stranger who can make one datagram cost a second owns the proxy.) Into every
// message of t/cases, at every place after a delimiter, a run of one of a few dozen patterns
// is put, 1,750 and then 7,000 characters long; each is handled (best of two), and a run
// whose time grows more than 6 times for 4 times the length, again when measured as the best
// of five, is listed. A linear reading grows 4 times. The runs include a NUL after a
// backslash, which the head's quoted-pair reading takes byte by byte. Found so: two regexes
// that read a From or To tag (fixed in the nineteenth session; 140 ms for 8,000 '<'). In the
// body, Content-Length grows with the run (before the thirty-second session the run was cut
// off there). A search the C library does (indexOf) from each line to the message's end
// stays under its threshold at 7,000: the SDP rewriter's search for a CR took 1.0 against
// 0.7 ms here, 18 ms for 60,000 LF (bench/rewrite's bare-LF line).
// About five minutes.
//   npm run build && node dist/bench/runs.js    (CASES=a,b: those cases of t/cases only; AFTER=:@ after those delimiters)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, validate } from '../src/config/config.js';
import { buildEngine } from '../src/daemon/compose.js';
import { parseHostPort } from '../src/net/addr.js';
import { headEnd } from '../src/sip/message.js';

const cases = join(process.cwd(), 't', 'cases');
/** The Content-Length header's name and its value (RFC 3261 20.14; the compact form l). */
const CL = /^((?:Content-Length|l)[ \t]*:[ \t]*)(\d+)/im;
/** The delimiters a run is put after (AFTER=...: others). */
const AFTER = process.env.AFTER ?? ':=@;<\n ,>/"?&[]#%.-';
const RUNS = ['\\\0', '"\\\0', '<"', '"\\', '<>', '><', '\\"', ';tag=', ',<', '"<', '<sip:', '[:', 'a@', '@a', 'a', '-', '.', ' ', '0', ':', ';', '=', '"', '\\', '<', '@', 'a.', 'a-', '1.', ':0', ';a', ';a=', '%', '[', ',', 'a ', '\t', 'aA', '0:', '=a;', '\n', 'a=x\n', '\r\n'];
const found: Array<[number, string]> = [];
let tried = 0;
const only = process.env.CASES?.split(','); // CASES=call-v4-to-v6,...: those cases only
for (const dir of readdirSync(cases).filter((d) => !only || only.includes(d))) {
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
    const time = (m: string, turns = 2): number => {
      let best = Infinity;
      for (let k = 0; k < turns; k++) {
        const t0 = process.hrtime.bigint();
        try {
          engine.handle(m, src, local);
        } catch {
          /* a throw is the fuzz test's business */
        }
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return best;
    };
    const head = headEnd(text); // the empty line: a run after its LF is in the body
    for (let p = 0; p < text.length; p++) {
      if (!AFTER.includes(text[p])) continue;
      for (const run of RUNS) {
        tried++;
        const at = (n: number): string => {
          const r = run.repeat(Math.floor(n / run.length));
          const m = text.slice(0, p + 1) + r + text.slice(p + 1);
          // In the body, Content-Length grows with it (else the run is cut off as bytes past it).
          return head < 0 || p < head ? m : m.replace(CL, (_all, name: string, v: string) => `${name}${Number(v) + r.length}`);
        };
        const long = time(at(7000));
        if (long < 1) continue; // too fast to tell
        if (long / Math.max(time(at(1750)), 0.05) <= 6) continue;
        // Again, best of five: a slow turn of the machine (a collection, another process) shows once.
        const short = time(at(1750), 5);
        const again = time(at(7000), 5);
        if (again / Math.max(short, 0.05) <= 6) continue;
        const what = `${dir}/${i + 1}.sip after byte ${p}, a run of ${JSON.stringify(run)}: ${short.toFixed(2)} -> ${again.toFixed(2)} ms, after ${JSON.stringify(text.slice(Math.max(0, p - 29), p + 1))}`;
        found.push([again, what]);
        if (found.length <= 10) console.log(`found: ${what}`); // as it goes: a slow reading makes the whole run slow
      }
    }
  });
}
found.sort((a, b) => b[0] - a[0]);
console.log(`${tried} runs tried; ${found.length} grew more than 6 times for 4 times the length, twice`);
for (const [, what] of found.slice(0, 30)) console.log(what);
process.exitCode = found.length > 0 ? 1 : 0;
