// The open-file limit: read from /proc, split between SIP and the relay's pairs.
import t from 'tap';
import { connectionsAllowed, filesOpen, limitNeeded, MAX_CONNECTIONS, openFileLimit, pairsAllowed, parseLimits } from '../../../src/daemon/fdlimit.js';

t.test('parse /proc/self/limits', async (t) => {
  const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
  t.same(parseLimits(text), { soft: 1024, hard: 524288 });
  t.same(parseLimits('Max open files            unlimited            unlimited            files\n'), { soft: 1048576, hard: 1048576 });
  t.equal(parseLimits('nothing here'), null);
  const own = openFileLimit();
  t.ok(own && own.soft > 0 && own.soft <= own.hard, `this process: ${JSON.stringify(own)}`);
});

t.test('four sockets a pair, 1024 kept for SIP (a quarter of a smaller limit)', async (t) => {
  t.equal(pairsAllowed(1024), 192, 'the usual default soft limit: 256 kept, 768 for 192 pairs');
  t.equal(pairsAllowed(200), 37);
  t.equal(pairsAllowed(20000), 4744);
  t.equal(limitNeeded(5000), 21024, 'the default rtp-ports (5000 pairs)');
});

t.test('SIP TCP and TLS connections: what the limit leaves once the relay holds every pair it may', async (t) => {
  t.equal(connectionsAllowed(1048576, 60, 5000), MAX_CONNECTIONS, 'a large limit: the usual 20000');
  t.equal(connectionsAllowed(400, 40, 50), 96, '400 files, 40 open, 50 pairs (200 sockets), 64 spare: 96');
  t.equal(connectionsAllowed(200, 40, 37), 0, 'nothing left: none (the relay\'s sockets come first)');
  t.equal(connectionsAllowed(262144, 60, 32768), 20000, 'the systemd unit\'s limit with the largest rtp-ports');
  const n = filesOpen();
  t.ok(n !== null && n > 3, `this process has ${n} files open`);
});
