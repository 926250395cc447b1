// UDP sockets for IP literals only: a lookup that answers at once, so send() skips the
// DNS module and its extra tick (a measurable share of each packet's cost).
import dgram from 'node:dgram';
import { Family } from '../net/addr.js';

const literal = ((address: string, _options: unknown, cb: (err: Error | null, address: string, family: number) => void) => {
  cb(null, address, address.includes(':') ? 6 : 4);
}) as unknown as dgram.SocketOptions['lookup'];

export function udpSocket(family: Family, opts: Omit<dgram.SocketOptions, 'type' | 'lookup'> = {}): dgram.Socket {
  return dgram.createSocket({ ...opts, type: family === 4 ? 'udp4' : 'udp6', lookup: literal });
}

/** Can a UDP socket be bound to addr:port right now? Resolves null, or the error code. */
export function canBind(a: { addr: string; family: Family }, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = udpSocket(a.family, { reuseAddr: false });
    sock.once('error', (err) => {
      sock.close();
      resolve((err as NodeJS.ErrnoException).code ?? err.message);
    });
    sock.bind({ address: a.addr, port, exclusive: true }, () => {
      sock.close();
      resolve(null);
    });
  });
}
