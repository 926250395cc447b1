// rtpengine's ng control protocol over UDP (rtpengine's docs, "ng control protocol"): a
// datagram is a cookie, a space and one bencoded dictionary; the answer repeats the cookie.
// Our own small client (no registry package fits: the ones there keep one engine each, no
// failover, and pull in dependencies for what is 150 lines): bencode, the engine per call by
// rendezvous hashing, retransmission, failover to the next engine, and their statistics.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { NgCommand } from '../core/types.js';
import { formatHostPort, HostPort, parseIp } from '../net/addr.js';

export type Bencoded = string | number | Bencoded[] | { [k: string]: Bencoded };

/** bencode (BEP 3): strings as latin1 bytes, integers, lists, dictionaries with sorted keys. */
export function bencode(v: Bencoded | NgCommand | readonly string[]): string {
  if (typeof v === 'string') return `${v.length}:${v}`;
  if (typeof v === 'number') return `i${Math.trunc(v)}e`;
  if (Array.isArray(v)) return `l${v.map((x) => bencode(x as Bencoded)).join('')}e`;
  const keys = Object.keys(v).sort();
  return `d${keys.map((k) => bencode(k) + bencode((v as Record<string, Bencoded>)[k])).join('')}e`;
}

/** Decode one value at `at`; throws on anything malformed (the engine is a peer, not trusted blindly). */
export function bdecode(s: string, at = 0, depth = 0): [Bencoded, number] {
  if (depth > 32) throw new Error('bencode nested too deep');
  const c = s[at];
  if (c === 'i') {
    const e = s.indexOf('e', at);
    if (e < 0 || !/^-?\d{1,15}$/.test(s.slice(at + 1, e))) throw new Error('bad bencode integer');
    return [Number(s.slice(at + 1, e)), e + 1];
  }
  if (c === 'l' || c === 'd') {
    const list: Bencoded[] = [];
    const dict: Record<string, Bencoded> = Object.create(null); // a key "__proto__" is a key, not a prototype
    let p = at + 1;
    while (s[p] !== 'e') {
      if (p >= s.length) throw new Error('bencode ends inside a list');
      const [k, q] = bdecode(s, p, depth + 1);
      if (c === 'l') {
        list.push(k);
        p = q;
        continue;
      }
      if (typeof k !== 'string') throw new Error('bencode dictionary key is no string');
      const [v, r] = bdecode(s, q, depth + 1);
      dict[k] = v;
      p = r;
    }
    return [c === 'l' ? list : dict, p + 1];
  }
  const colon = s.indexOf(':', at);
  if (colon < 0 || colon - at > 8 || !/^\d+$/.test(s.slice(at, colon))) throw new Error('bad bencode string');
  const n = Number(s.slice(at, colon));
  if (colon + 1 + n > s.length) throw new Error('bencode string runs past the end');
  return [s.slice(colon + 1, colon + 1 + n), colon + 1 + n];
}

/** The engines for a key, best first: rendezvous hashing, so a call stays on its engine and only an engine's own calls move when it goes. */
export function rank(engines: readonly HostPort[], key: string): HostPort[] {
  const score = (e: HostPort): string => createHash('sha1').update(`${formatHostPort(e)}\n${key}`).digest('hex');
  return [...engines].map((e) => ({ e, s: score(e) })).sort((a, b) => (a.s < b.s ? 1 : a.s > b.s ? -1 : 0)).map((x) => x.e);
}

export interface EngineState {
  readonly engine: string;
  up: boolean;
  requests: Map<string, number>; // "command result" -> count
  stats: Record<string, number>; // from its `statistics`: current sessions and totals
}

export interface NgOptions {
  readonly timeoutMs: number; // per try
  readonly tries: number; //     per engine before the next
  readonly downMs: number; //    an engine that failed is tried last for this long
  readonly now: () => number;
  readonly onIgnored: () => void; // an answer not taken (a stranger's, a late one): the daemon counts it
}

const DEFAULTS: NgOptions = { timeoutMs: 500, tries: 2, downMs: 10_000, now: Date.now, onIgnored: () => {} };

/** The client: one socket per family, answers matched by cookie, each request bounded in time. */
export class NgClient {
  private readonly socks = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<string, { readonly from: HostPort; readonly done: (r: Record<string, Bencoded> | null) => void }>();
  private readonly downUntil = new Map<string, number>();
  readonly states: EngineState[];
  private seq = 0;
  private closed = false;
  private readonly opts: NgOptions;

  constructor(private readonly engines: readonly HostPort[], opts: Partial<NgOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.states = engines.map((e) => ({ engine: formatHostPort(e), up: true, requests: new Map(), stats: {} }));
    for (const f of new Set(engines.map((e) => e.family))) {
      const s = dgram.createSocket(f === 6 ? 'udp6' : 'udp4');
      s.on('error', () => {}); // ICMP errors: the request times out and fails over
      s.on('message', (msg, rinfo) => this.receive(msg, rinfo));
      s.unref();
      this.socks.set(f, s);
    }
  }

  /**
   * An answer counts only from the engine asked, under the cookie of the request: a stranger
   * who sends one (even with the engine's address forged, it cannot guess 64 random bits) is
   * counted (onIgnored) and ignored, and the engine's own answer is still awaited.
   */
  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const t = msg.toString('latin1');
    const sp = t.indexOf(' ');
    const p = sp > 0 ? this.pending.get(t.slice(0, sp)) : undefined;
    if (!p || rinfo.port !== p.from.port || parseIp(rinfo.address)?.addr !== p.from.addr) {
      this.opts.onIgnored(); // late, or not ours
      return;
    }
    try {
      const [v] = bdecode(t, sp + 1);
      if (v && typeof v === 'object' && !Array.isArray(v)) return p.done(v);
    } catch {
      /* malformed: counted below; the request times out and fails over */
    }
    this.opts.onIgnored();
  }

  private state(e: HostPort): EngineState {
    return this.states[this.engines.indexOf(e)];
  }

  private count(e: HostPort, what: string): void {
    const st = this.state(e);
    st.requests.set(what, (st.requests.get(what) ?? 0) + 1);
  }

  /** One engine, `tries` times: its answer, or null. */
  private ask(e: HostPort, cmd: NgCommand | Record<string, Bencoded>): Promise<Record<string, Bencoded> | null> {
    const sock = this.socks.get(e.family);
    if (!sock || this.closed) return Promise.resolve(null);
    const cookie = `${++this.seq}_${randomBytes(8).toString('hex')}`; // unguessable per request
    const data = Buffer.from(`${cookie} ${bencode(cmd as NgCommand)}`, 'latin1');
    return new Promise((resolve) => {
      let tries = 0;
      let timer: NodeJS.Timeout;
      const finish = (r: Record<string, Bencoded> | null): void => {
        clearTimeout(timer);
        this.pending.delete(cookie);
        resolve(r);
      };
      const send = (): void => {
        if (tries++ >= this.opts.tries || this.closed) return finish(null);
        sock.send(data, e.port, e.addr);
        timer = setTimeout(send, this.opts.timeoutMs);
      };
      this.pending.set(cookie, { from: e, done: finish });
      send();
    });
  }

  /**
   * A command for the call `key`: its engine first, the others in turn when one does not
   * answer (an engine that failed lately is tried last). The ok answer, else the first
   * error one, or null when none answered (a query: when any did not).
   */
  async request(key: string, cmd: NgCommand): Promise<Record<string, Bencoded> | null> {
    const t = this.opts.now();
    let refused: Record<string, Bencoded> | null = null;
    let silent = false;
    const order = rank(this.engines, key);
    order.sort((a, b) => Number((this.downUntil.get(formatHostPort(a)) ?? 0) > t) - Number((this.downUntil.get(formatHostPort(b)) ?? 0) > t));
    for (const e of order) {
      const r = await this.ask(e, cmd);
      const name = formatHostPort(e);
      if (r === null) {
        this.downUntil.set(name, this.opts.now() + this.opts.downMs);
        this.state(e).up = false;
        this.count(e, `${cmd.command} timeout`);
        silent = true;
        continue;
      }
      this.downUntil.delete(name);
      this.state(e).up = true;
      this.count(e, `${cmd.command} ${r.result === 'ok' ? 'ok' : 'error'}`);
      // A delete of a call the engine no longer knows is done; a failed offer goes to the next engine.
      if (r.result === 'ok' || cmd.command === 'delete') return r;
      refused ??= r;
    }
    // A query none holds, while one was silent: that one may (null: not known either way).
    if (silent && cmd.command === 'query') return null;
    return refused; // each engine answered, none with ok: the first one's error; null if none answered
  }

  /** Each engine's `statistics` (current sessions, packets and bytes relayed): for status and metrics. */
  async poll(): Promise<void> {
    await Promise.all(this.engines.map(async (e) => {
      const r = await this.ask(e, { command: 'statistics' });
      const st = this.state(e);
      st.up = r !== null && r.result === 'ok';
      const cur = r?.statistics && typeof r.statistics === 'object' && !Array.isArray(r.statistics) ? r.statistics : null;
      if (!cur) return;
      const flat: Record<string, number> = {};
      for (const [group, vals] of Object.entries(cur)) {
        if (!vals || typeof vals !== 'object' || Array.isArray(vals)) continue;
        for (const [k, v] of Object.entries(vals)) {
          const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
          if (Number.isFinite(n) && /^(sessionsown|sessionsforeign|sessionstotal|packetrate|byterate|errorrate|managedsessions)$/i.test(k)) flat[`${group}.${k}`] = n;
        }
      }
      st.stats = flat;
    }));
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.done(null);
    for (const s of this.socks.values()) s.close();
    this.socks.clear();
  }
}
