// A TCP port nobody listens on at the moment, on a loopback address (the tests bind it next).
import net from 'node:net';

export const freePort = (addr = '127.0.0.1'): Promise<number> => new Promise((res) => {
  const s = net.createServer().listen(0, addr, () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => res(p));
  });
});
