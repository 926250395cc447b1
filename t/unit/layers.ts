// The shape of the house (README "How the code is laid out"): what each folder of src/ may
// import. Pure folders import no socket, file or process module and no outer folder; the
// core knows no mode. A new import that breaks the shape fails here.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'src');

/** Folders of src/ and the folders each may import (itself always). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  net: [],
  sip: ['net'],
  sdp: ['net', 'sip'],
  media: ['net', 'sip'],
  config: ['net'],
  core: ['net', 'sip', 'sdp', 'media', 'config'],
  masq: ['net', 'sip', 'sdp', 'media', 'config', 'core'],
  daemon: ['net', 'sip', 'sdp', 'media', 'config', 'core', 'masq', '.'],
  cli: ['net', 'sip', 'sdp', 'media', 'config', 'core', 'masq', 'daemon', '.'],
};
/** Node modules that do I/O: only daemon/ and cli/ may use them (node:net's isIP aside). */
const IO = /^node:(dgram|net|tls|fs|child_process|http|https|os)$/;
const PURE = new Set(['net', 'sip', 'sdp', 'media', 'config', 'core', 'masq']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const imports = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
const folderOf = (file: string): string => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0] : '.';
};

const problems: string[] = [];
for (const file of files(src)) {
  const from = folderOf(file);
  const allowed = MAY_IMPORT[from];
  if (from !== '.' && !allowed) {
    problems.push(`${relative(src, file)}: folder ${from} is not in the layer list (t/unit/layers.ts, README)`);
    continue;
  }
  for (const spec of imports(file)) {
    if (spec.startsWith('.')) {
      const to = folderOf(resolve(dirname(file), spec));
      if (from !== '.' && to !== from && !allowed.includes(to)) problems.push(`${relative(src, file)} imports ${spec} (${from} may not import ${to})`);
    } else if (PURE.has(from) && IO.test(spec) && !(from === 'net' && spec === 'node:net')) {
      problems.push(`${relative(src, file)} imports ${spec} (${from} is pure: sockets, files and processes live in daemon/)`);
    }
  }
}

t.test('every folder imports only the layers below it', async (t) => {
  t.same(problems, [], problems.join('\n'));
});

t.test('the check itself sees a violation', async (t) => {
  // A core file that imports masquerading or a socket would be reported.
  const core = MAY_IMPORT.core;
  t.notOk(core.includes('masq'), 'core may not import masq');
  t.notOk(core.includes('daemon'), 'core may not import daemon');
  t.ok(IO.test('node:dgram') && IO.test('node:fs') && IO.test('node:tls'), 'socket and file modules are I/O');
  t.ok(files(join(src, 'core')).length > 5, 'the core is read');
});
