// From and To tags (RFC 3261 19.3), read outside display names, <URI> and quoted strings. The
// reader is two linear passes; it must read every value as the two regexes it replaced did
// (they took time quadratic in a run of '<' or '"', SPEC 11; bench/rewrite shows the time
// per byte), so those regexes are the oracle here, on short values where their cost is nil.
import t from 'tap';
import { hasTag, tagIn } from '../../../src/sip/fields.js';
import { unfold } from '../../../src/sip/message.js';
import { lcg } from '../../lib/rand.js';

const oldParams = (v: string): string => unfold(v).replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/<[^>]*>/g, '');
const oldHas = (v: string): boolean => /;\s*tag\s*=/i.test(oldParams(v));
const oldTag = (v: string): string | null => /;\s*tag\s*=\s*([^;\s,]+)/i.exec(oldParams(v))?.[1] ?? null;

t.test('as written by phones', async (t) => {
  t.equal(tagIn('"Alice" <sip:alice@192.0.2.10>;tag=a1'), 'a1');
  t.equal(tagIn('<sip:carol@[2001:db8:1::20]>;tag=c1;x=y'), 'c1');
  t.equal(tagIn('sip:bob@192.0.2.11;tag=b2'), 'b2', 'an addr-spec: its ;params are the header\'s');
  t.equal(tagIn('"x;tag=1" <sip:a@b;tag=2>'), null, 'not in the display name, not in the URI');
  t.equal(tagIn('<sip:a@b>;x="q;tag=3";tag=4'), '4', 'not in a quoted parameter value');
  t.equal(hasTag('<sip:a@b>;tag='), true, 'an empty tag is a tag');
  t.equal(hasTag('<sip:a@b>'), false);
});

t.test('the same reading as the regexes it replaced (the old reader and today\'s scan), on 300,000 random values', async (t) => {
  const pieces = ['<', '>', '"', '\\', '\\"', ';tag=', 'x', ' ', '<sip:a@b>', ';', '=', ',', 'tag', '\r\n ', '\\\n', 'Tag', '\t', '\u00a0', '\v', 'TAG', 'ta', 'g', ';TaG =', '\u2028', 'x\u00e9'];
  const rnd = lcg(20261202);
  let differ = 0;
  let first = '';
  for (let i = 0; i < 300000; i++) {
    let v = '';
    for (let k = 1 + rnd(12); k > 0; k--) v += pieces[rnd(pieces.length)];
    if (hasTag(v) !== oldHas(v) || tagIn(v) !== oldTag(v)) {
      differ++;
      first ||= JSON.stringify(v);
    }
  }
  t.equal(differ, 0, first ? `first: ${first}` : 'none differ');
});

t.test('long runs of what made the regexes slow, read the same', async (t) => {
  for (const run of ['<', '"', '\\"', '<"']) {
    const v = `<sip:carol@192.0.2.120>;tag=c1${run.repeat(2000)}`;
    t.equal(tagIn(v), oldTag(v), `a run of ${JSON.stringify(run)}`);
  }
});
