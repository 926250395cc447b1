// The operator's documents agree with the program: the man page renders without warnings,
// and --help, the man page and the CLI name exactly the same flags and directives.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECTIVES } from '../src/config/config.js';
import { FLAG_NAMES, HELP } from '../src/cli/flags.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const man = readFileSync(join(root, 'man', 'sipproxy64.8'), 'utf8');
const manFlags = new Set([...man.matchAll(/\\-\\-([a-z0-9]+(?:\\-[a-z0-9]+)*)/g)].map((m) => m[1].replace(/\\-/g, '-')));
const helpFlags = new Set([...HELP.matchAll(/--([a-z0-9]+(?:-[a-z0-9]+)*)/g)].map((m) => m[1]));

t.test('groff -man -ww -z: no warnings', async (t) => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', join(root, 'man', 'sipproxy64.8')], { encoding: 'utf8' });
  t.equal(r.error, undefined, 'groff runs');
  t.equal(r.status, 0);
  t.equal(r.stderr, '', 'no warnings');
});

t.test('every CLI flag is in --help and in the man page', async (t) => {
  for (const f of FLAG_NAMES) {
    t.ok(helpFlags.has(f), `--${f} in --help`);
    t.ok(manFlags.has(f), `--${f} in the man page`);
  }
});

t.test('--help and the man page name no flag the CLI lacks', async (t) => {
  for (const f of helpFlags) t.ok(FLAG_NAMES.includes(f), `--${f} (help) exists`);
  for (const f of manFlags) t.ok(FLAG_NAMES.includes(f), `--${f} (man page) exists`);
});

t.test('every directive is in the man page CONFIGURATION section and in etc/sipproxy64.conf', async (t) => {
  const conf = man.slice(man.indexOf('.SH CONFIGURATION'), man.indexOf('.SH', man.indexOf('.SH CONFIGURATION') + 4));
  const example = readFileSync(join(root, 'etc', 'sipproxy64.conf'), 'utf8');
  for (const d of DIRECTIVES) {
    t.match(conf, new RegExp(`^\\.B[IR]? ${d.replace(/-/g, '\\\\-')}\\b`, 'm'), `${d} documented`);
    t.match(example, new RegExp(`^#? ?${d}\\b`, 'm'), `${d} in the example config`);
  }
});

t.test('the README points to the man page; package.json installs it', async (t) => {
  t.match(readFileSync(join(root, 'README.md'), 'utf8'), 'man ./man/sipproxy64.8');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { man: string[] };
  t.same(pkg.man, ['man/sipproxy64.8']);
});
