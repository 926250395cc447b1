// The counting half of t/e2e/runs.ts, run under callgrind: each listed run is handled three
// times at 1,750 and at 7,000 characters (the JIT's warm-up), then three turns at each. Each
// turn starts after a full collection, between two calls of process.uptime(), whose C++
// function (node::Uptime) callgrind is told to dump its counts before: dump 2k+2 holds the
// instructions of turn k alone, written as it ends (the test reads them as they come). An
// instruction count, not a time: a loaded machine does not change it. The first item is a
// reading quadratic on purpose, so the test sees that the count shows growth where there is some.
//   valgrind --tool=callgrind --vgdb=no --dump-before='node::Uptime*' node --predictable --expose-gc dist/bench/runs-count.js ITEMS.json
import { readFileSync } from 'node:fs';
import { caseMessages, CountItem, handle, SIZES, TURNS, withRun } from './runs-gen.js';

/** Compares each character with every one after it: n²/2 steps. */
function quadratic(s: string): number {
  let same = 0;
  for (let i = 0; i < s.length; i++) for (let j = i + 1; j < s.length; j++) if (s.charCodeAt(i) === s.charCodeAt(j)) same++;
  return same;
}

function main(file: string): void {
  const items = JSON.parse(readFileSync(file, 'utf8')) as CountItem[];
  const names = new Set(items.flatMap((it) => ('name' in it ? [it.name.split('/')[0]] : [])));
  const all = caseMessages(process.cwd(), [...names]);
  for (const c of all) handle(c, c.text); // each case's calls as its messages leave them, as in the screen
  const messages = new Map(all.map((c) => [c.name, c]));
  const turns = items.map((it): ((n: number) => void) => {
    if ('control' in it) return (n) => void quadratic('ab'.repeat(n / 8)); // a quarter of the length: the same growth, fewer seconds
    const c = messages.get(it.name);
    if (!c) throw new Error(`no message ${it.name}`);
    return (n) => handle(c, withRun(c, it.p, it.run, n));
  });
  const gc = (globalThis as { gc?: () => void }).gc; // node --expose-gc
  for (const turn of turns) {
    for (let w = 0; w < 3; w++) for (const n of SIZES) turn(n); // warm-up: the tiers its turns run in
    for (const n of SIZES) {
      for (let k = 0; k < TURNS; k++) {
        gc?.(); // each turn starts on an empty young generation: no collection falls in it by chance
        process.uptime(); // the marks: callgrind dumps before each
        turn(n);
        process.uptime();
      }
    }
  }
}

main(process.argv[2]);
