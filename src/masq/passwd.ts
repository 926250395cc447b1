// The password file of the registrar: one user a line, "#" comments.
//   alice  secret                        a clear password
//   bob    md5:<HA1> sha256:<HA1>        HA1 values only (H(user:realm:password)), no password
// Passwords are never logged; a bad line is an error naming the line. The daemon reads the
// file (daemon/masq.ts readPasswd); this parses it.
import { Credentials, fromPassword } from './digest.js';

export class PasswdError extends Error {}

export function parsePasswd(text: string, file: string, realm: string): Map<string, Credentials> {
  const users = new Map<string, Credentials>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${i + 1}`;
    const [user, ...rest] = line.split(/\s+/);
    if (!/^[A-Za-z0-9._~!$&'()*+,;=%-]+$/.test(user)) throw new PasswdError(`${where}: bad user name`);
    if (users.has(user)) throw new PasswdError(`${where}: ${user} is listed twice`);
    if (rest.length === 1 && !/^(md5|sha256):/.test(rest[0])) {
      users.set(user, fromPassword(user, realm, rest[0]));
      return;
    }
    const md5 = rest.find((x) => x.startsWith('md5:'))?.slice(4);
    const sha = rest.find((x) => x.startsWith('sha256:'))?.slice(7);
    if (!md5 || !/^[0-9a-f]{32}$/i.test(md5) || (sha !== undefined && !/^[0-9a-f]{64}$/i.test(sha)) || rest.length > 2) {
      throw new PasswdError(`${where}: expected "USER PASSWORD" or "USER md5:HA1 [sha256:HA1]"`);
    }
    users.set(user, { ha1: (alg) => (alg === 'MD5' ? md5.toLowerCase() : (sha ?? '').toLowerCase()) });
  });
  return users;
}
