// UDP sockets for IP literals only: a lookup that answers at once, so send() skips the
// DNS module and its extra tick (a measurable share of each packet's cost).
import dgram from 'node:dgram';
import { Family } from './addr.js';

const literal = ((address: string, _options: unknown, cb: (err: Error | null, address: string, family: number) => void) => {
  cb(null, address, address.includes(':') ? 6 : 4);
}) as unknown as dgram.SocketOptions['lookup'];

export function udpSocket(family: Family, opts: Omit<dgram.SocketOptions, 'type' | 'lookup'> = {}): dgram.Socket {
  return dgram.createSocket({ ...opts, type: family === 4 ? 'udp4' : 'udp6', lookup: literal });
}
