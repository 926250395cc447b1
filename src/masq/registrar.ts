// The registrar of masquerading mode (RFC 3261 10.3) and the table of phones that registered
// elsewhere through us (outbound-proxy operation). Pure: time is injected; the daemon saves
// the tables (saveAtomic) when `dirty` is set.
import { Config } from '../config/config.js';
import { HostPort, sourceKey, uriHost } from '../net/addr.js';
import { refuse } from '../sip/errors.js';
import { contactsOf, expiresOf } from '../sip/fields.js';
import { Header, SipMessage, splitList, unfold } from '../sip/message.js';
import { R } from '../sip/reasons.js';
import { checkRequestUriAt, findUri, parseUri, userOf } from '../sip/uri.js';
import { Binding, Bindings } from './bindings.js';
import { Credentials, DigestAuth, parseDigest, Verdict } from './digest.js';
import { AuthGuard } from './guard.js';

/** The saved form of both tables (the registrations file). */
export interface SavedRegistrations {
  registrar: unknown;
  outbound: unknown;
}

const MAX_EXPIRES = 604800;
/** The longest Contact URI bound: ten of them keep the 200 OK well inside a UDP datagram. */
const MAX_CONTACT = 1024;

export class Registrar {
  readonly bindings: Bindings; // registrar yes: AOR "user@domain" -> the phones' contacts
  readonly learned: Bindings; //  outbound-proxy operation: user part -> the phone that registered
  readonly domains: string[];
  private readonly digest: DigestAuth | null;
  private readonly guard: AuthGuard;
  dirty = false; // a table changed since the daemon last saved it

  constructor(private readonly cfg: Config, private readonly users: Map<string, Credentials>, key: Buffer | readonly Buffer[], private readonly now: () => number) {
    this.bindings = new Bindings(now);
    this.learned = new Bindings(now);
    this.domains = cfg.domains;
    this.digest = cfg.registrar ? new DigestAuth(cfg.domains[0], key, now, 300_000, cfg.digestAlgorithms) : null;
    this.guard = new AuthGuard(now, cfg.authFailures, cfg.authBackoff * 1000);
  }

  get enabled(): boolean {
    return this.digest !== null;
  }

  isOurDomain(host: string): boolean {
    return this.domains.includes(host.toLowerCase().replace(/\.$/, ''));
  }

  knows(user: string): boolean {
    return this.users.has(user);
  }

  /** The most recently registered contact of an AOR. */
  contactOf(aor: string): Binding | null {
    const list = this.bindings.lookup(aor);
    return list.length ? list[list.length - 1] : null;
  }

  /**
   * A REGISTER for one of our domains (RFC 3261 10.3). Returns the extra header lines of the
   * 200 OK, and `lasts`: the seconds the longest of the AOR's bindings registered from this
   * source and transport has left (over TCP or TLS, its connection: they are reached on it,
   * a phone behind a NAT of its own too); throws SipError for 401 (with a challenge), 403, 400, 500.
   */
  register(m: SipMessage, src: HostPort, transport: string, callId: string, cseq: number): { extra: string; lasts: number } {
    const user = this.authenticate(m, src);
    // Steps 5 and 6: the address-of-record, and the right to change it.
    const to = m.hot.to as Header;
    const [s, e] = splitList(m.text, to.valueStart, to.valueEnd)[0];
    const span = findUri(m.text, s, e);
    const u = span ? parseUri(m.text, span.start, span.end) : null;
    const toUser = u ? userOf(m.text, u) : null;
    if (!u || !toUser) throw refuse(R.badTo);
    const host = m.text.slice(u.hostStart, u.hostEnd).toLowerCase();
    if (!this.isOurDomain(host)) throw refuse(R.notOurDomain);
    if (toUser !== user) throw refuse(R.wrongUser);
    const aor = `${toUser}@${host}`;
    // Step 7: the bindings (expires: the contact's, the Expires header's, or default-expires).
    const all = this.contactsFor(m);
    if (all.some((c) => c.uri.length > MAX_CONTACT)) throw refuse(R.contactTooLong);
    const source = `${uriHost(src)}:${src.port}/${transport}`;
    if (all.length > 0) {
      const r = this.bindings.register(aor, callId, cseq, source, all, this.cfg.maxBindings, this.cfg.maxRegistrations);
      if (!r.ok) throw refuse(r.reason);
      this.dirty = true;
    }
    // Step 8: 200 OK with every current binding and its remaining time, and a Date.
    const t = this.now();
    const left = (b: Binding) => Math.max(0, Math.round((b.expires - t) / 1000));
    const current = this.bindings.lookup(aor);
    const contacts = current.map((b) => `Contact: <${b.contact}>;expires=${left(b)}\r\n`);
    const lasts = current.reduce((n, b) => (b.source === source ? Math.max(n, left(b)) : n), 0);
    return { extra: contacts.join('') + `Date: ${new Date(t).toUTCString()}\r\n`, lasts };
  }

  /**
   * Step 3: authentication (RFC 3261 22.4; SHA-256 and MD5, RFC 8760), with the defences of
   * SPEC 11: a source in back-off is refused before any hash is computed; credentials that
   * do not verify (wrong, replayed, or from another address than the nonce went to) count
   * against the source and the user. Returns the user; throws 401 or 403.
   */
  private authenticate(m: SipMessage, src: HostPort): string {
    const digest = this.digest as DigestAuth;
    const source = sourceKey(src); // an IPv6 host guesses from its whole /64 (SPEC 11)
    const wait = this.guard.refusedFor(source);
    if (wait > 0) throw refuse(R.authBackoff, undefined, `Retry-After: ${Math.ceil(wait / 1000)}\r\n`);
    let verdict: Verdict = null;
    let named: string | null = null;
    for (const h of m.headers.filter((x: Header) => x.def.name === 'Authorization')) {
      const value = unfold(m.text.slice(h.valueStart, h.valueEnd));
      verdict = digest.verify(value, 'REGISTER', (u) => this.users.get(u), src.addr);
      named ??= parseDigest(value)?.username ?? null;
      if (verdict && verdict !== 'replay') break;
    }
    if (verdict && verdict !== 'stale' && verdict !== 'replay') {
      this.guard.succeeded(source);
      return verdict;
    }
    // Per user only for a user of the file: names made up by the thousand would push the
    // count of a user under attack out of the guard's table (SPEC 11).
    if (named !== null && verdict !== 'stale') this.guard.failed(source, this.users.has(named) ? named : null);
    const extra = digest.challenge(src.addr, verdict === 'stale').map((c) => `WWW-Authenticate: ${c}\r\n`).join('');
    throw refuse(verdict === 'stale' ? R.authStale : verdict === 'replay' ? R.authReplayed : R.authRequired, undefined, extra);
  }

  private contactsFor(m: SipMessage): Array<{ uri: string; expires: number }> {
    const hdr = expiresOf(m);
    return contactsOf(m).map((c) => {
      // A registered Contact becomes the Request-URI of the calls to it: it must be able to.
      if (c.uri !== '*') {
        try {
          checkRequestUriAt(c.uri, 0, c.uri.length);
        } catch {
          throw refuse(R.badContact);
        }
      }
      return { uri: c.uri, expires: Math.min(MAX_EXPIRES, c.expires ?? hdr ?? this.cfg.defaultExpires) };
    });
  }

  /**
   * A 2xx to a REGISTER a LAN phone sent to a registrar outside: remember, by the contact's
   * user part, which phone it was (for requests that come back without our ;sp64n=).
   */
  learn(m: SipMessage, contacts: Array<{ user: string; phone: HostPort; expires: number | null }>, callId: string, cseq: number): void {
    const hdr = expiresOf(m);
    for (const c of contacts) {
      const expires = Math.min(MAX_EXPIRES, c.expires ?? hdr ?? this.cfg.defaultExpires);
      const uri = `sip:${c.user}@${uriHost(c.phone)}:${c.phone.port}`;
      const r = this.learned.register(c.user, callId, cseq, `${uriHost(c.phone)}:${c.phone.port}`, [{ uri, expires }]);
      if (r.ok) this.dirty = true;
    }
  }

  /** The phone a user part registered from, through us. */
  learnedOf(user: string): Binding | null {
    const list = this.learned.lookup(user);
    return list.length ? list[list.length - 1] : null;
  }

  toJSON(): SavedRegistrations {
    return { registrar: this.bindings.all(), outbound: this.learned.all() };
  }

  restore(data: unknown): number {
    const d = (data ?? {}) as Partial<SavedRegistrations>;
    return this.bindings.restore(d.registrar) + this.learned.restore(d.outbound);
  }
}
