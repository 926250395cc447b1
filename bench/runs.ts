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
// About five minutes. The runs and the messages are bench/runs-gen.ts's; t/e2e/runs.ts puts
// them into the messages of 13 cases in every test run and counts instructions instead.
//   npm run build && node dist/bench/runs.js    (CASES=a,b: those cases of t/cases only; AFTER=:@ after those delimiters)
import { AFTER, bestMs, caseMessages, places, RUNS, withRun } from './runs-gen.js';

const found: Array<[number, string]> = [];
let tried = 0;
const only = process.env.CASES?.split(','); // CASES=call-v4-to-v6,...: those cases only
for (const c of caseMessages(process.cwd(), only)) {
  const time = (m: string, turns = 2): number => bestMs(c, m, turns);
  for (const p of places(c.text, process.env.AFTER ?? AFTER)) {
    for (const run of RUNS) {
      tried++;
      const long = time(withRun(c, p, run, 7000));
      if (long < 1) continue; // too fast to tell
      if (long / Math.max(time(withRun(c, p, run, 1750)), 0.05) <= 6) continue;
      // Again, best of five: a slow turn of the machine (a collection, another process) shows once.
      const short = time(withRun(c, p, run, 1750), 5);
      const again = time(withRun(c, p, run, 7000), 5);
      if (again / Math.max(short, 0.05) <= 6) continue;
      const what = `${c.name} after byte ${p}, a run of ${JSON.stringify(run)}: ${short.toFixed(2)} -> ${again.toFixed(2)} ms, after ${JSON.stringify(c.text.slice(Math.max(0, p - 29), p + 1))}`;
      found.push([again, what]);
      if (found.length <= 10) console.log(`found: ${what}`); // as it goes: a slow reading makes the whole run slow
    }
  }
}
found.sort((a, b) => b[0] - a[0]);
console.log(`${tried} runs tried; ${found.length} grew more than 6 times for 4 times the length, twice`);
for (const [, what] of found.slice(0, 30)) console.log(what);
process.exitCode = found.length > 0 ? 1 : 0;
