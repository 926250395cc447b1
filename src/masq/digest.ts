// Digest authentication for the registrar (RFC 3261 22.4 with RFC 2617 qop=auth; SHA-256
// per RFC 8760). Nonces are stateless: a timestamp and a MAC over it and the address the
// challenge went to, so a captured Authorization is worth nothing from another address.
// Replay from the same address is refused too: each nonce's highest nonce-count is kept
// while the nonce lives (RFC 2617 3.2.2: nc must grow), in a bounded table.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { keyList } from '../core/mac.js';
import { detached } from '../net/strings.js';

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

/** How many live nonces have their nonce-count remembered; older ones are then stale. */
const MAX_NONCES = 65536;

export type Verdict = string | 'stale' | 'replay' | null; // the user, or why not

export class DigestAuth {
  private readonly counts = new Map<string, { nc: number; ts: number }>(); // nonce -> highest nc
  private forgottenTs = -1; // nonces issued at or before this second were evicted: stale

  constructor(
    private readonly realm: string,
    key: Buffer | readonly Buffer[], // secret FILE rotation: the first signs nonces, each verifies
    private readonly now: () => number = Date.now,
    private readonly nonceLifeMs = 300_000,
    private readonly algorithms: Algorithm[] = ['SHA-256', 'MD5'],
  ) {
    this.keys = keyList(key);
  }

  /** A nonce for a challenge sent to `to` (the address the REGISTER came from). */
  nonce(to: string): string {
    const ts = Math.floor(this.now() / 1000).toString(16);
    return `${ts}.${this.nonceMac(ts, to)}`;
  }

  private readonly keys: readonly Buffer[] = [];

  private nonceMac(ts: string, to: string, key = this.keys[0]): string {
    return createHmac('sha256', key).update(`${ts}\n${to}`).digest('hex').slice(0, 24);
  }

  private nonceOk(nonce: string, from: string): 'ok' | 'stale' | 'bad' {
    const [ts, mac] = nonce.split('.');
    if (!ts || !mac || !/^[0-9a-f]{1,12}$/.test(ts)) return 'bad';
    const ok = this.keys.some((k) => {
      const want = this.nonceMac(ts, from, k);
      return mac.length === want.length && timingSafeEqual(Buffer.from(mac, 'latin1'), Buffer.from(want, 'latin1'));
    });
    if (!ok) return 'bad';
    return this.now() - parseInt(ts, 16) * 1000 > this.nonceLifeMs ? 'stale' : 'ok';
  }

  /**
   * Accept nonce-count `nc` for a live nonce only if it is higher than any accepted before
   * (RFC 2617 3.2.2); a nonce whose count was forgotten to keep the table bounded is stale.
   */
  private fresh(nonce: string, nc: number): 'ok' | 'stale' | 'replay' {
    const ts = parseInt(nonce.split('.')[0], 16);
    const seen = this.counts.get(nonce);
    if (seen) {
      if (nc <= seen.nc) return 'replay';
      seen.nc = nc;
      return 'ok';
    }
    if (ts <= this.forgottenTs) return 'stale';
    const oldest = (this.now() - this.nonceLifeMs) / 1000;
    for (const [k, v] of this.counts) {
      if (v.ts >= oldest && this.counts.size < MAX_NONCES) break;
      this.counts.delete(k);
      if (v.ts >= oldest) this.forgottenTs = Math.max(this.forgottenTs, v.ts);
    }
    this.counts.set(detached(nonce), { nc, ts }); // kept while the nonce lives (net/strings.ts)
    return 'ok';
  }

  /** WWW-Authenticate values for a challenge to `to`, most preferred first (RFC 8760 2.4). */
  challenge(to: string, stale = false): string[] {
    const n = this.nonce(to);
    const s = stale ? ', stale=true' : '';
    return this.algorithms.map((a) => `Digest realm="${this.realm}", nonce="${n}", algorithm=${a}, qop="auth"${s}`);
  }

  /**
   * Check an Authorization value for `method` from address `from`. Returns the user name when
   * it is right, 'stale' when only the nonce is too old (or its count was forgotten),
   * 'replay' when this nonce-count was used before, or null.
   */
  verify(value: string, method: string, lookup: (user: string) => Credentials | undefined, from: string): Verdict {
    const p = parseDigest(value);
    if (!p || p.realm !== this.realm || !p.username || !p.nonce || !p.uri || !p.response) return null;
    const alg: Algorithm | null = !p.algorithm || p.algorithm.toUpperCase() === 'MD5' ? 'MD5' : p.algorithm.toUpperCase() === 'SHA-256' ? 'SHA-256' : null;
    if (!alg || !this.algorithms.includes(alg)) return null;
    const creds = lookup(p.username);
    if (!creds) return null;
    const n = this.nonceOk(p.nonce, from);
    if (n === 'bad') return null;
    const ha2 = hashOf(alg, `${method}:${p.uri}`);
    const ha1 = creds.ha1(alg);
    let want: string;
    if (p.qop === 'auth') {
      if (!p.nc || !/^[0-9a-fA-F]{8}$/.test(p.nc) || !p.cnonce) return null;
      want = hashOf(alg, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    } else if (!p.qop) want = hashOf(alg, `${ha1}:${p.nonce}:${ha2}`);
    else return null;
    const got = p.response.toLowerCase();
    if (got.length !== want.length || !timingSafeEqual(Buffer.from(got, 'latin1'), Buffer.from(want, 'latin1'))) return null;
    if (n === 'stale') return 'stale';
    // Without qop there is no count: such a response is good once (nc 0).
    const f = this.fresh(p.nonce, p.qop === 'auth' ? parseInt(p.nc, 16) : 0);
    return f === 'ok' ? p.username : f;
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
