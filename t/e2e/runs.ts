// No reading of a message grows faster than the message (SPEC 11: a stranger who can make one
// datagram cost a second owns the proxy). Twice a reading did (a From/To tag's regexes, 140 ms
// for 8,000 '<'; unfolding a multipart part's head, 100 ms for 16,000 SP), and only bench/runs,
// which is not in .ci/run, would have said so. Here its runs go into the messages of cases that
// reach every reader (headers, URIs, Via, SDP, multipart, masquerading, registrar), in two steps:
//  1. screen, by time: every run at 1,750 and 7,000 characters; those whose time grows more than
//     4.5 times (best of two) are kept, at most 40, the steepest first. Time only chooses what
//     to count: a loaded machine keeps more runs, never fails the test.
//  2. count, by instructions: bench/runs-count.js under callgrind handles each kept run at both
//     lengths, three turns each (the fewest count). Linear is 4 times; a run whose count grows
//     more than 6 times for 4 times the length is counted again, alone in a fresh process, and
//     fails if it grows more than 6 times there too. A reading quadratic on purpose is counted
//     too and must show its growth (16 times), and three runs are counted every time, so
//     that the counting itself is tested when the screen keeps nothing.
import t, { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bestMs, caseMessages, CountItem, places, RUNS, SIZES, TURNS, withRun } from '../../bench/runs-gen.js';
import { ROOT } from '../lib/world.js';
import { tempDir } from '../lib/tmp.js';

/** Cases whose messages take every reader: calls both ways, a registration, multipart SDP, ICE,
 *  Route sets, URI headers, folded and compact headers, masquerading out and in. */
const SCREEN = ['call-v4-to-v6', 'register-v4-to-v6', 'multipart-sdp', 'ice-candidates', 'strict-route', 'registrar-record-route', 'uri-headers', 'folded-headers', 'compact-headers', 'remote-party-id', 'nat-outbound', 'nat-registrar', 'forked-early-media'];
const KEEP = 40;
const LIMIT = 6;

/** Runs counted every time (steps of the readers the screen most often keeps none of). */
function always(): CountItem[] {
  const text = readFileSync(join(ROOT, 't/cases/call-v4-to-v6/1.sip'), 'latin1');
  return [
    { name: 'call-v4-to-v6/1.sip', p: text.indexOf('To:') + 2, run: '<' },
    { name: 'call-v4-to-v6/1.sip', p: text.indexOf('Via:') + 3, run: ';a=' },
    { name: 'call-v4-to-v6/1.sip', p: text.lastIndexOf('\n', text.length - 2), run: 'a=x\n' },
  ];
}

const label = (it: CountItem): string => ('control' in it ? 'the quadratic control' : `${it.name} after byte ${it.p}, a run of ${JSON.stringify(it.run)}`);

t.setTimeout(900_000);

t.test('no run in a message costs more than 6 times as much at 4 times the length', async (t) => {
  // Step 1: the screen, in this process.
  const kept: Array<[number, CountItem]> = [];
  let tried = 0;
  for (const c of caseMessages(ROOT, SCREEN)) {
    const time = (m: string): number => bestMs(c, m, 2);
    for (const p of places(c.text)) {
      for (const run of RUNS) {
        tried++;
        const long = time(withRun(c, p, run, SIZES[1]));
        if (long < 0.3) continue; // under 0.3 ms at 7,000 characters: nothing grows there
        const growth = long / Math.max(time(withRun(c, p, run, SIZES[0])), 0.02);
        if (growth > 4.5) kept.push([growth, { name: c.name, p, run }]);
      }
    }
  }
  kept.sort((a, b) => b[0] - a[0]);
  t.ok(tried > 50_000, `screened ${tried} runs; ${kept.length} kept by time`);

  // Step 2: the count, under callgrind; a run counted over the limit is counted again alone,
  // in a fresh process, and only that count judges it (a collection or a recompilation that
  // fell in every turn of one length once made a count 0.89 times; one can err upward too).
  const items: CountItem[] = [{ control: 'quadratic' }, ...always(), ...kept.slice(0, KEEP).map(([, it]) => it)];
  const dir = tempDir(t, 'sp64-runs-');
  const bad = (it: CountItem, c: Count): boolean => ('control' in it ? c.growth <= 12 : c.growth > LIMIT);
  const first = await count(t, dir, 'all', items);
  const again = items.map((_, i) => i).filter((i) => first.counts[i] && bad(items[i], first.counts[i]));
  const second = again.length ? await count(t, dir, 'again', again.map((i) => items[i])) : { counts: [], stderr: '' };
  first.counts.forEach((c, i) => {
    const it = items[i];
    const k = again.indexOf(i);
    const last = k < 0 ? c : second.counts[k];
    const what = `${label(it)}: ${show(c)}${k < 0 ? '' : `; alone, ${last ? show(last) : 'not counted'}`}`;
    t.ok(last && !bad(it, last), 'control' in it ? `the count shows growth where there is some: ${what}` : what);
  });
  t.equal(first.counts.length, items.length, `every item counted (${items.length})`);
  if (first.counts.length < items.length) t.comment(first.stderr);
  if (second.counts.length < again.length) t.comment(second.stderr);
});

interface Count {
  readonly short: number; // the fewest instructions of a turn at SIZES[0]
  readonly long: number; // at SIZES[1]
  readonly growth: number;
}
const show = (c: Count): string => `${c.short} -> ${c.long} instructions, ${c.growth.toFixed(2)} times`;

/** Counts `items` in one process of bench/runs-count.js under callgrind, reading each dump as it
 *  comes: the items counted, in order, within 600 s. */
async function count(t: Test, dir: string, tag: string, items: CountItem[]): Promise<{ counts: Count[]; stderr: string }> {
  const out = join(dir, tag);
  mkdirSync(out);
  writeFileSync(join(out, 'items.json'), JSON.stringify(items));
  // --vgdb=no: valgrind makes no gdbserver FIFOs in /tmp (a child killed at teardown left them).
  const child = spawn('valgrind', ['--tool=callgrind', '--vgdb=no', '--dump-before=node::Uptime*', `--callgrind-out-file=${out}/cg.%p`,
    'node', '--predictable', '--expose-gc', '--hash-seed=1', '--random-seed=1', 'dist/bench/runs-count.js', join(out, 'items.json')],
  // Without tap's coverage and process-info hook (NODE_V8_COVERAGE, NODE_OPTIONS): the count is the engine's (bench/instructions).
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_V8_COVERAGE: undefined, NODE_OPTIONS: undefined } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let code: number | null | undefined; // set when the child ends
  child.on('exit', (c) => (code = c));
  child.on('error', (e) => { // no valgrind: t/run-all installs it
    stderr += String(e);
    code = -1;
  });
  t.teardown(() => void child.kill('SIGKILL'));
  // cg.PID.K: dump 2k+2 is the turn k alone (bench/runs-count.ts; the odd ones hold the
  // collections and warm-ups between turns); a dump is read once its last line (totals) is written.
  const dumps = new Map<number, number>();
  const read = (): void => {
    for (const f of readdirSync(out)) {
      const k = /^cg\.\d+\.(\d+)$/.exec(f);
      if (!k || dumps.has(Number(k[1]))) continue;
      const n = /^totals: (\d+)/m.exec(readFileSync(join(out, f), 'latin1'));
      if (n) dumps.set(Number(k[1]), Number(n[1]));
    }
  };
  const per = SIZES.length * TURNS;
  const dumpOf = (turn: number): number => 2 * turn + 2; // the one place the layout is known
  const fewest = (i: number, s: number): number => {
    let m = Infinity;
    for (let k = 0; k < TURNS; k++) m = Math.min(m, dumps.get(dumpOf(i * per + s * TURNS + k)) ?? Infinity);
    return m;
  };
  const counts: Count[] = [];
  for (let waited = 0; counts.length < items.length && waited < 600; waited++) { // 600 s at most
    const over = code !== undefined; // seen before the read: an ended child's dumps are all written
    read();
    while (counts.length < items.length && dumps.has(dumpOf((counts.length + 1) * per - 1))) { // its last turn's dump
      const [short, long] = [fewest(counts.length, 0), fewest(counts.length, 1)];
      counts.push({ short, long, growth: long / short });
    }
    if (over) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  child.kill('SIGKILL');
  return { counts, stderr };
}
