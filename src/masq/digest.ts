// Digest authentication for the registrar (RFC 3261 22.4 with RFC 2617 qop=auth; SHA-256
// per RFC 8760). Nonces are stateless: a timestamp and a MAC over it, so any instance that
// shares the key can check them, and nothing is stored per challenge.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type Algorithm = 'MD5' | 'SHA-256';

const hashOf = (alg: Algorithm, s: string): string => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');

export interface Credentials {
  /** HA1 = H(username:realm:password) for each algorithm. */
  ha1(alg: Algorithm): string;
}

/** Credentials from a clear password (kept only as its HA1 values). */
export function fromPassword(user: string, realm: string, password: string): Credentials {
  const md5 = hashOf('MD5', `${user}:${realm}:${password}`);
  const sha = hashOf('SHA-256', `${user}:${realm}:${password}`);
  return { ha1: (alg) => (alg === 'MD5' ? md5 : sha) };
}

export class DigestAuth {
  constructor(
    private readonly realm: string,
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
    private readonly nonceLifeMs = 300_000,
    private readonly algorithms: Algorithm[] = ['SHA-256', 'MD5'],
  ) {}

  nonce(): string {
    const ts = Math.floor(this.now() / 1000).toString(16);
    return `${ts}.${createHmac('sha256', this.key).update(ts).digest('hex').slice(0, 24)}`;
  }

  private nonceOk(nonce: string): 'ok' | 'stale' | 'bad' {
    const [ts, mac] = nonce.split('.');
    if (!ts || !mac || !/^[0-9a-f]{1,12}$/.test(ts)) return 'bad';
    const want = createHmac('sha256', this.key).update(ts).digest('hex').slice(0, 24);
    if (mac.length !== want.length || !timingSafeEqual(Buffer.from(mac, 'latin1'), Buffer.from(want, 'latin1'))) return 'bad';
    return this.now() - parseInt(ts, 16) * 1000 > this.nonceLifeMs ? 'stale' : 'ok';
  }

  /** WWW-Authenticate values, most preferred first (RFC 8760 2.4: SHA-256, then MD5 for older phones). */
  challenge(stale = false): string[] {
    const n = this.nonce();
    const s = stale ? ', stale=true' : '';
    return this.algorithms.map((a) => `Digest realm="${this.realm}", nonce="${n}", algorithm=${a}, qop="auth"${s}`);
  }

  /**
   * Check an Authorization value for `method`. Returns the user name when it is right,
   * 'stale' when only the nonce is too old, or null.
   */
  verify(value: string, method: string, lookup: (user: string) => Credentials | undefined): string | 'stale' | null {
    const p = parseDigest(value);
    if (!p || p.realm !== this.realm || !p.username || !p.nonce || !p.uri || !p.response) return null;
    const alg: Algorithm | null = !p.algorithm || p.algorithm.toUpperCase() === 'MD5' ? 'MD5' : p.algorithm.toUpperCase() === 'SHA-256' ? 'SHA-256' : null;
    if (!alg || !this.algorithms.includes(alg)) return null;
    const creds = lookup(p.username);
    if (!creds) return null;
    const n = this.nonceOk(p.nonce);
    if (n === 'bad') return null;
    const ha2 = hashOf(alg, `${method}:${p.uri}`);
    const ha1 = creds.ha1(alg);
    let want: string;
    if (p.qop === 'auth') {
      if (!p.nc || !p.cnonce) return null;
      want = hashOf(alg, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    } else if (!p.qop) want = hashOf(alg, `${ha1}:${p.nonce}:${ha2}`);
    else return null;
    const got = p.response.toLowerCase();
    if (got.length !== want.length || !timingSafeEqual(Buffer.from(got, 'latin1'), Buffer.from(want, 'latin1'))) return null;
    return n === 'stale' ? 'stale' : p.username;
  }
}

/** The parameters of a Digest credentials value (RFC 2617 3.2.2). */
export function parseDigest(value: string): Record<string, string> | null {
  const m = /^\s*Digest\s+/i.exec(value);
  if (!m) return null;
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/y;
  re.lastIndex = m[0].length;
  let r: RegExpExecArray | null;
  while ((r = re.exec(value))) out[r[1].toLowerCase()] = r[2] !== undefined ? r[2].replace(/\\(.)/g, '$1') : r[3];
  return re.lastIndex === 0 && Object.keys(out).length === 0 ? null : out;
}
