// The operator's documents agree with the program: the man page renders without warnings,
// and --help, the man page and the CLI name exactly the same flags and directives.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECTIVES } from '../src/config/config.js';
import { FLAG_NAMES, HELP } from '../src/cli/flags.js';
import { ALL_REASONS } from '../src/sip/reasons.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
let man = readFileSync(join(root, 'man', 'sipproxy64.8'), 'utf8');
// Other programs' command lines quoted in the page (Jool, ip6tables) carry their own flags.
const ours = man.split('\n').filter((l) => !/^(jool|ip6tables|iptables) /.test(l)).join('\n');
const manFlags = new Set([...ours.matchAll(/\\-\\-([a-z0-9]+(?:\\-[a-z0-9]+)*)/g)].map((m) => m[1].replace(/\\-/g, '-')));
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

/** The REASONS section as the one list of reasons (src/sip/reasons.ts) gives it. */
function reasonsSection(): string {
  const esc = (x: string): string => x.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^\./, '\\&.');
  const metric = { sip_refusals: 'sipproxy64_sip_refusals_total', sip_drops: 'sipproxy64_sip_drops_total', rtp_drops: 'sipproxy64_rtp_drops_total' };
  let out = '.SH REASONS\n' +
    'Every refusal and every drop is counted under one of these reasons (the\n.B reason\nlabel of the metrics named in STATUS AND METRICS).\n' +
    'A status is what a request gets; a response or an ACK is never answered, so for them\nevery reason is a counted drop.\n' +
    'This list is generated from the program\'s own list (a test keeps them equal).\n';
  for (const r of ALL_REASONS) {
    const status = r.status === 0 ? 'counted drop' : `${r.status}${r.phrase ? ' ' + r.phrase : ''}`;
    out += `.TP\n.B ${esc(r.code)}\n${esc(status)} (${metric[r.counter]}): ${esc(r.means)}.\n`;
  }
  return out;
}

t.test('the man page lists exactly the reasons of src/sip/reasons.ts (UPDATE_MAN=1 rewrites it)', async (t) => {
  const want = reasonsSection();
  const start = man.indexOf('.SH REASONS');
  const end = start < 0 ? -1 : man.indexOf('.SH ', start + 4);
  const have = start < 0 ? '' : man.slice(start, end);
  if (process.env.UPDATE_MAN) {
    const at = start < 0 ? man.indexOf('.SH EXIT STATUS') : start;
    man = man.slice(0, at) + want + man.slice(start < 0 ? at : end);
    writeFileSync(join(root, 'man', 'sipproxy64.8'), man);
  } else t.equal(have, want, 'REASONS section in step with the code');
  const codes = ALL_REASONS.map((r) => r.code);
  t.equal(new Set(codes).size, codes.length, 'each code once');
});

t.test('every metric the daemon registers is in the man page', async (t) => {
  const src = readFileSync(join(root, 'src', 'daemon', 'metrics.ts'), 'utf8');
  const names = [...src.matchAll(/name: '(sipproxy64_[a-z0-9_]+)'/g)].map((m) => m[1]);
  t.ok(names.length > 20, `metrics found in src/daemon/metrics.ts: ${names.length}`);
  const entries = man.split('\n').filter((l) => /^\.BR? /.test(l)).join('\n'); // .B NAME, or .BR NAME ", " NAME
  for (const n of names) t.ok(new RegExp(`\\b${n}\\b`).test(entries), `${n} has its entry`);
});
