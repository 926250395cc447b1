// The registrations made over one TCP/TLS connection keep it open while one lasts (RFC 5626
// 5.3; Kamailio registrar's tcp_persistent_flag): per AOR, at most 16 (SPEC 11).
import t from 'tap';
import { MAX_REGISTRATIONS_PER_CONNECTION, TcpRegistrations } from '../../../src/daemon/tcp-registrations.js';

const aor = (n: number): string => `sip:user${n}@192.0.2.105`;

t.test('the connection stays open until the last registration ends, and 32 s more', async (t) => {
  const r = new TcpRegistrations();
  t.equal(r.note({ aor: aor(1), lasts: 60 }, 0), 92_000, 'one account of 60 s');
  t.equal(r.note({ aor: aor(2), lasts: 3600 }, 1000), 3_632_000, 'another of an hour: the longer one');
  t.equal(r.note({ aor: aor(2), lasts: 0 }, 2000), 90_000, 'that one unregistered: the first still holds');
  t.equal(r.note({ aor: aor(1), lasts: 60 }, 30_000), 92_000, 'a refresh starts its time again');
  t.equal(r.note({ aor: aor(1), lasts: 0 }, 31_000), 0, 'none left: tcp-idle again');
  t.equal(r.note({ aor: aor(3), lasts: 0 }, 31_000), 0, 'unregistering an AOR it never had changes nothing');
});

t.test('a registration that ran out no longer holds the connection', async (t) => {
  const r = new TcpRegistrations();
  r.note({ aor: aor(1), lasts: 10 }, 0);
  t.equal(r.note({ aor: aor(2), lasts: 5 }, 20_000), 37_000, 'the first ran out at 10 s: only the second counts');
  t.equal(r.note({ aor: aor(3), lasts: 0 }, 30_000), 0, 'and after both ran out, none');
});

t.test('SPEC 11: at most 16 AORs a connection; the ones it has are still refreshed', async (t) => {
  const r = new TcpRegistrations();
  for (let i = 0; i < MAX_REGISTRATIONS_PER_CONNECTION; i++) r.note({ aor: aor(i), lasts: 60 }, 0);
  t.equal(r.note({ aor: aor(99), lasts: 86400 }, 0), 92_000, 'a seventeenth keeps nothing');
  t.equal(r.note({ aor: aor(0), lasts: 600 }, 0), 632_000, 'one of the sixteen is refreshed');
  for (let i = 0; i < MAX_REGISTRATIONS_PER_CONNECTION; i++) r.note({ aor: aor(i), lasts: 0 }, 0);
  t.equal(r.note({ aor: aor(99), lasts: 60 }, 0), 92_000, 'once they ended, a new one counts');
});
