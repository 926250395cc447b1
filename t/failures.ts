// t/run-all repeats each failure, with its file, just above its last line (t/tools/failures.awk):
// CI shows only the end of a log of 6,000 assertions, and once a failure could not be named
// from it. Here the real tap runner fails a file on purpose, and the awk must name it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/world.js';
import { tempDir } from './lib/tmp.js';

const tapLog = (dir: string, body: string): string => {
  const file = join(dir, 'case.mjs');
  // The nested run's own project (its .tap/ stays in dir), with this one's packages.
  writeFileSync(join(dir, 'package.json'), '{}\n');
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(file, `import t from 'tap';\n${body}\n`);
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tap'), ['--disable-coverage', '--jobs=1', 'case.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 60_000 });
  return r.stdout + r.stderr;
};
const failures = (log: string): string => spawnSync('awk', ['-f', join(ROOT, 't/tools/failures.awk')], { input: log, encoding: 'utf8' }).stdout;

t.test('a failed assertion is named with its file and its diagnostics', async (t) => {
  const dir = tempDir(t, 'sp64-failures-');
  const failed = failures(tapLog(dir, "t.test('one', async (t) => { t.ok(true, 'fine'); t.equal(1, 2, 'broken thing'); });"));
  t.match(failed, /^\[case\.mjs\] not ok 2 - broken thing$/m, 'the assertion, with its file');
  t.match(failed, /^ {2}---\n(?: .*\n)*? {2}diff: \|\n(?: .*\n)*? {4}\+1\n/m, 'its diagnostics, the diff in them');
  t.match(failed, /^\[case\.mjs\] not ok 1 - one /m, 'its subtest');
  t.notMatch(failed, /ok 1 - fine/, 'no passed assertion');
  t.equal(failures(tapLog(dir, "t.ok(true, 'fine');")), '', 'a passing file: nothing');
});
