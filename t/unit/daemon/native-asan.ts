// The relay tests (t/unit/daemon/relay.ts, sipsock.ts, outbox.ts and addrwatch.ts) and mac.ts on a build of the
// native addon with AddressSanitizer and UBSan (issue 15: "run the relay tests under valgrind
// or ASan once in CI"). A file of its own: about 30 s alone, three times that on a loaded
// machine, within the 120 s every test file has.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../lib/tmp.js';

const SRC: string[] = (JSON.parse(readFileSync('binding.gyp', 'utf8')) as { targets: Array<{ sources: string[] }> }).targets[0].sources; // the build's own list
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-O1', '-g', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];
const runtime = (lib: string): string => spawnSync('gcc', [`-print-file-name=${lib}`], { encoding: 'utf8' }).stdout.trim();

t.test('the relay tests on a build of the addon with ASan and UBSan', async (t) => {
  const dir = tempDir(t, 'rtp64-asan-');
  const file = join(dir, 'rtp64.node');
  const include = join(process.execPath, '../../include/node');
  const cc = spawnSync('gcc', [...SANITIZE, '-shared', '-fPIC', '-DNAPI_VERSION=8', `-I${include}`, '-o', file, ...SRC, '-lpthread'], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr || 'built');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAP') && !k.startsWith('NODE_')) env[k] = v;
  Object.assign(env, {
    LD_PRELOAD: `${runtime('libasan.so')}:${runtime('libubsan.so')}`,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1', // Node's own allocations are not ours to judge
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    SIPPROXY64_NATIVE: file,
    RELAY_PATHS: 'native',
    RELAY_PORT_BASE: '27000', // the suite may run relay.ts itself meanwhile, on 24000-24909
  });
  const run = spawnSync('node_modules/.bin/tap', ['--disable-coverage', '--jobs=1', '--reporter=tap', 't/unit/daemon/relay.ts', 't/unit/daemon/sipsock.ts', 't/unit/daemon/outbox.ts', 't/unit/daemon/addrwatch.ts', 't/unit/daemon/mac.ts'], { encoding: 'utf8', env, timeout: 110000 });
  const out = run.stdout + run.stderr;
  const failed = out.split('\n').filter((l) => /not ok|found:|wanted:|Error:/.test(l)).slice(0, 20).join('\n');
  t.equal(run.status, 0, `relay tests pass on the sanitizer build${failed ? `\n${failed}` : ''}`);
  t.notMatch(out, /ERROR: AddressSanitizer|runtime error:/, 'no sanitizer report');
  t.match(out, /from the file SIPPROXY64_NATIVE names/, 'the sanitizer build was the one loaded');
});
