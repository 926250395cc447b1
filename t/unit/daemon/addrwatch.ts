// The kernel's address notifications through the addon (src/native/addrwatch.c), in a
// network namespace of the test's own: an address added there calls the callback, and a
// closed watch, closed again after the loop let go of it, is no crash; handles of each kind
// (watch, SIP socket, relay) are refused by the others' functions (the sanitizer build
// runs this file too: t/unit/daemon/native-asan.ts). What the daemon does with a call:
// t/unit/daemon/public.ts (the watch's nudge) and t/e2e/masq-change.ts.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { loadNative, nativeFile } from '../../../src/daemon/datapath-native.js';
import { canUseNetns, Netns, waitFor } from '../../lib/netns.js';

// The child, inside the namespace: a watch; at its first call it closes it (twice), lets the
// loop go round, closes it again, and ends.
const CHILD = `
const a = require(process.argv[1]);
let calls = 0;
const h = a.addrWatch(() => {
  if (calls++ > 0) return;
  a.addrWatchClose(h);
  a.addrWatchClose(h);
  console.log('closed');
  setTimeout(() => { a.addrWatchClose(h); console.log('closed again'); process.exit(0); }, 50);
});
if (typeof h === 'number') { console.log('errno ' + h); process.exit(1); }
console.log('ready');
setTimeout(() => process.exit(2), 60000);
`;

t.test('misuse is a TypeError or nothing', async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  t.throws(() => addon.addrWatch(5 as unknown as () => void), TypeError, 'a callback is needed');
  t.doesNotThrow(() => addon.addrWatchClose({}), 'closing what is no watch: nothing');
  t.doesNotThrow(() => addon.addrWatchClose(5), 'nor a number');
  // A handle of the other kind is refused by its kind, not read as this one.
  const sip = addon.sipOpen(4, 24968, () => {}, '127.0.0.1');
  const watch = addon.addrWatch(() => {});
  t.type(sip, 'object');
  t.type(watch, 'object', 'a watch opens here too (it only listens)');
  addon.addrWatchClose(sip);
  t.equal(addon.sipSend(sip, 'x', '127.0.0.1', '127.0.0.1', 24968), 1, 'addrWatchClose leaves a SIP socket open');
  t.throws(() => addon.sipSend(watch, 'x', '127.0.0.1', '127.0.0.1', 24968), TypeError, 'a watch is no SIP socket');
  addon.sipClose(watch);
  // The relay's handle too: each function reads only its own kind (every handle starts with it).
  const relay = addon.create(24960, 24966, 1, 0, 1);
  t.throws(() => addon.bind(sip, 24960, '127.0.0.1', '::1'), TypeError, 'a SIP socket is no relay');
  t.throws(() => addon.counters(watch), TypeError, 'nor is a watch');
  t.throws(() => addon.sipSend(relay, 'x', '127.0.0.1', '127.0.0.1', 24968), TypeError, 'a relay is no SIP socket');
  addon.sipClose(relay);
  addon.addrWatchClose(relay);
  t.equal(addon.bind(relay, 24960, '127.0.0.1', '::1'), 0, 'the relay still works after those');
  addon.stop(relay);
  addon.sipClose(sip);
  addon.addrWatchClose(watch);
});

const why = canUseNetns();
t.test('an address added in the namespace calls the callback', { skip: why ?? false }, async (t) => {
  const addon = loadNative();
  if (addon instanceof Error) return t.fail(`the addon does not load: ${addon.message}`);
  const ns = new Netns('aw');
  ns.setup([]);
  t.teardown(() => ns.destroy());
  const child = ns.start(process.execPath, ['-e', CHILD, nativeFile() as string], { env: process.env });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.ok(await waitFor(() => out.includes('ready') || out.includes('errno'), 20000, 20), `the watch is open${out ? `: ${out}` : ''}`);
  t.notMatch(out, /errno/, 'rtnetlink is there');
  const add = spawnSync('ip', ['-n', ns.name, 'addr', 'add', '192.0.2.77/32', 'dev', 'lo'], { encoding: 'utf8' });
  t.equal(add.status, 0, add.stderr || 'address added');
  t.ok(await waitFor(() => out.includes('closed again'), 20000, 20), `called, closed, closed again after a loop turn: ${out}`);
  t.equal(await exited, 0, `the child ends well: ${out}`);
});
