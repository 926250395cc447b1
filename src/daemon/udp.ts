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

/**
 * Where the kernel takes no more (EAGAIN: its send buffer full, as behind a congested link),
 * libuv keeps a dgram send in a queue of its own, with no bound (SPEC 11: memory). Past a
 * bound of datagrams or bytes waiting, a datagram is dropped and counted, as the native
 * paths drop one on EAGAIN and a router drops one: the sender's retransmission or the next
 * packet follows. In normal running only the sends of one loop turn wait (libuv reads 32
 * datagrams a socket a turn; a relay socket sends what one other socket read).
 */
export interface SendQueueBound {
  readonly datagrams: number;
  readonly bytes: number;
}
export const RELAY_SEND_QUEUE: SendQueueBound = { datagrams: 256, bytes: 1 << 20 };
export const SIP_SEND_QUEUE: SendQueueBound = { datagrams: 1024, bytes: 4 << 20 };

export function sendQueueFull(sock: dgram.Socket, bound: SendQueueBound): boolean {
  return sock.getSendQueueCount() >= bound.datagrams || sock.getSendQueueSize() >= bound.bytes;
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
