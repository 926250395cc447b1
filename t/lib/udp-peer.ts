// A UDP peer for the native socket tests (t/unit/daemon/sipsock.ts, outbox.ts).
import type { Test } from 'tap';
import dgram from 'node:dgram';

/** A UDP peer on 127.0.0.1 that keeps what it receives; closed at the end of the test. */
export async function udpPeer(t: Test): Promise<{ client: dgram.Socket; port: number; back: Buffer[] }> {
  const client = dgram.createSocket('udp4');
  t.teardown(() => client.close());
  const back: Buffer[] = [];
  client.on('message', (m) => back.push(m));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  return { client, port: client.address().port, back };
}
