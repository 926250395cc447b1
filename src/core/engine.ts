// The pure core: one call takes a datagram and the addresses it came from and arrived on,
// and returns what to send where. No sockets, timers or files here; time is injected. The
// modes it serves are handed to it as planners; the address model is always there, last.
import { Config } from '../config/config.js';
import { Forks } from '../media/forks.js';
import { MediaTable } from '../media/table.js';
import { Addr, Family, HostPort, isPort, sourceKey } from '../net/addr.js';
import { SipError } from '../sip/errors.js';
import { parseMessage } from '../sip/message.js';
import { R, Reason } from '../sip/reasons.js';
import { Hasher, keyring, Mac, TEST_SECRET } from './mac.js';
import { NgCalls } from './ng.js';
import { Mapping } from './mapping.js';
import { AddressPlanner } from './plan.js';
import { localReply } from './reply.js';
import { handleRequest } from './request.js';
import { handleResponse } from './response.js';
import { Throttle } from './throttle.js';
import { MAX_UDP, type Transport } from './transport.js';
import { Action, drop, Ours, Planner, ProxyContext } from './types.js';
import { KEEP_PARAM } from './uris.js';

/** Methods counted by name; others count as "other" (bounded metric labels). */
const KNOWN_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE', 'response', 'unparsed'];
/** The metric keys "METHOD|family", made once: no key is built per message. */
const familyKeys = (m: string): readonly [string, string] => [`${m}|4`, `${m}|6`];
const METHOD_KEYS = new Map(KNOWN_METHODS.map((m) => [m, familyKeys(m)]));
const OTHER_KEYS = familyKeys('other');
const metricKey = (method: string, family: Family): string => (METHOD_KEYS.get(method) ?? OTHER_KEYS)[family === 4 ? 0 : 1];

export interface EngineDeps {
  now?: () => number;
  secret?: Buffer | readonly Buffer[]; // key(s) for our MACs, the first signs (default: fixed, for fixtures)
  hasher?: Hasher; // the MACs' function (default crypto.hash; the daemon's native one gives the same values)
  product?: string; // User-Agent / Server value, "sipproxy64/VERSION"
  planners?: readonly Planner[]; // modes beside the address model, asked first
  media?: MediaTable; // the relay's table (default: a table with no relay behind it)
  onInternalError?: (err: unknown) => void; // a bug in a rule: the daemon logs its stack
}

export class Engine implements ProxyContext {
  readonly map: Mapping;
  readonly media: MediaTable;
  readonly product: string;
  readonly ours: Ours;
  readonly counters = new Map<string, number>();
  readonly msgIn = new Map<string, number>(); //  "METHOD|family" ("response", "unparsed")
  readonly msgOut = new Map<string, number>();
  private readonly planners: readonly Planner[];
  readonly throttle: Throttle;
  /** Our MAC (core/mac.ts) under the engine's key. */
  readonly mac: Mac;
  readonly macs: readonly Mac[];
  readonly ng: NgCalls | null;
  readonly forks = new Forks();
  private readonly onInternalError?: (err: unknown) => void;
  private parsedRequest = false; // the message being handled parsed as a request (ngSettle)

  constructor(readonly cfg: Config, deps: EngineDeps = {}) {
    this.onInternalError = deps.onInternalError;
    const modes = deps.planners ?? [];
    this.planners = [...modes, new AddressPlanner()];
    this.map = new Mapping(cfg, modes.flatMap((p) => p.addresses));
    this.media = deps.media ?? new MediaTable(cfg.rtpPorts, deps.now ?? Date.now, {}, cfg.rtpQuota);
    this.product = deps.product ?? 'sipproxy64';
    this.macs = keyring(deps.secret ?? TEST_SECRET, deps.hasher);
    this.mac = this.macs[0];
    // SPEC 11: strangers' offers at the engine within rtp-quota, and the table's cap for them all.
    this.ng = cfg.rtpengines.length > 0 ? new NgCalls({ perSource: cfg.rtpQuota, strangers: this.media.strangerCap, lifeMs: cfg.rtpTimeout * 1000 }, deps.now ?? Date.now) : null;
    this.throttle = new Throttle(deps.now ?? Date.now, cfg.floodLimit, cfg.floodBan * 1000, cfg.answerLimit);
    const map = this.map;
    this.ours = {
      isOurs: (a) => map.isOurs(a),
      preloaded: (a) => modes.some((p) => p.preloaded(a)),
      markers: new Set([KEEP_PARAM, ...modes.flatMap((p) => p.markers)]),
    };
  }

  count(what: string, n = 1): void {
    this.counters.set(what, (this.counters.get(what) ?? 0) + n);
  }

  /** `n` drops counted by the shell (sockets, connections), under their reason. */
  countDrop(r: Reason, n = 1): void {
    this.count(`drop:${r.code}`, n);
  }

  /** May an error answer go to `a`? Always to a party; to strangers within answer-limit (SPEC 11). */
  answerAllowed(a: Addr): boolean {
    return this.isParty(a) || this.throttle.answer();
  }

  /** May a stranger's new TCP/TLS connection be accepted? It spends one message of its
   *  flood-limit budget, so connecting (and a TLS handshake) is no cheaper than sending (SPEC 11). */
  admitConnection(a: Addr): boolean {
    if (this.isParty(a) || this.throttle.admit(sourceKey(a))) return true;
    this.countDrop(R.flooding);
    return false;
  }

  /** media-engine rtpengine: what a message changed of the engine's calls holds once it goes on (asked, or forwarded), not when answered here or dropped. */
  private ngSettle(out: Action[]): void {
    const request = this.parsedRequest; // a step is pending only once the message was parsed
    const on = out.some((a) => a.type === 'media' || (a.type === 'send' && !(request && a.data.startsWith('SIP/2.0 '))));
    if (on) this.ng?.commit();
    else this.ng?.discard();
  }

  /**
   * media-engine rtpengine, the daemon's timer (SPEC 11): deletes for strangers' offers still
   * unanswered after rtp-timeout, queries for their answered calls, which count while the
   * engine holds them.
   */
  ngSweep(): Array<Extract<Action, { type: 'media' }>> {
    const ng = this.ng;
    if (!ng) return [];
    const { gone, ask } = ng.sweep();
    return [
      ...gone.map((key) => ({ type: 'media' as const, key, ng: { command: 'delete', 'call-id': key } })),
      ...ask.map((key) => ({ type: 'media' as const, key, ng: { command: 'query', 'call-id': key }, held: (known: boolean | null) => ng.engineHolds(key, known) })),
    ];
  }

  isParty(a: Addr): boolean {
    return this.map.isMapped(a.addr) || this.planners.some((p) => p.isParty(a));
  }

  /** The planner of the mode that serves a local address. */
  private plannerFor(local: string): Planner {
    return this.planners.find((p) => p.serves(local)) as Planner;
  }

  /** Process one datagram. Never throws: every failure is a SIP answer or a counted drop. */
  handle(data: Buffer | string, src: HostPort, local: HostPort, transport: Transport = 'udp'): Action[] {
    const text = typeof data === 'string' ? data : data.toString('latin1');
    let out: Action[];
    const stranger = !this.isParty(src);
    // SPEC 11: a stranger over its budget is dropped before anything is parsed.
    if (stranger && !this.throttle.admit(sourceKey(src), data.length)) {
      out = [drop(R.flooding)];
      this.countOut(out);
      return out;
    }
    try {
      out = this.dispatch(text, src, local, transport);
    } catch (err) {
      if (err instanceof SipError) {
        // Error answers to strangers share one budget: the proxy is no reflector of errors.
        const silent = err.status === 0 || (stranger && err.status >= 300 && !this.throttle.answer());
        out = [silent ? drop(err.status === 0 ? err.reason : R.answerLimited) : localReply(text, err.status, err.phrase, err.reason, src, local, this.product, err.extraHeaders, transport)];
        if (!silent && out[0].type === 'send') this.count(`refuse:${err.status} ${err.reason.code}`);
      } else {
        // A bug in a rule must not take the proxy down: count it and drop the message.
        this.count(R.internalError.code);
        this.onInternalError?.(err);
        out = [drop(R.internalError)];
      }
    }
    // Nothing larger than a UDP datagram leaves (a local answer copies every Via).
    if (out.length === 1 && out[0].type === 'send' && out[0].transport === 'udp' && out[0].data.length > MAX_UDP) out = [drop(R.tooLargeForUdp)];
    // Nor to a port no datagram can go to: the rules refuse such URIs; one that did not is a bug.
    if (out.some((x) => x.type === 'send' && !(isPort(x.to.port) && isPort(x.from.port)))) {
      this.count(R.internalError.code);
      this.onInternalError?.(new Error('a send to or from a port outside 1-65535'));
      out = [drop(R.internalError)];
    }
    if (this.ng?.hasPending) this.ngSettle(out);
    this.countOut(out);
    const a = out[0];
    if (out.length === 1 && a.type === 'send' && a.unreachable) {
      const then = a.unreachable; // counted when the daemon asks (no connection opened)
      out = [{ ...a, unreachable: () => { const o = then(); this.countOut(o); return o; } }];
    }
    // media-engine rtpengine: what goes out once the engine answered is counted then; a rule
    // that fails there is a counted drop, as here.
    return out.some((x) => x.type === 'media' && x.then) ? out.map((x) => (x.type === 'media' && x.then ? { ...x, then: this.guarded(x.then) } : x)) : out;
  }

  private guarded(then: (sdp: string | null) => Action[]): (sdp: string | null) => Action[] {
    return (sdp) => {
      let o: Action[];
      try {
        o = then(sdp);
      } catch (err) {
        this.count(R.internalError.code);
        this.onInternalError?.(err);
        o = [drop(R.internalError)];
      }
      this.countOut(o);
      return o;
    };
  }

  private dispatch(text: string, src: HostPort, local: HostPort, transport: Transport): Action[] {
    if (!this.map.isOurs(local.addr) || !this.map.listensOn(local.port)) return [drop(this.map.nat64Refused(local.addr) ? R.nat64Refused : R.notOurAddress)];
    let m;
    try {
      m = parseMessage(text);
    } catch (err) {
      this.count('parse-error');
      this.countIn('unparsed', src.family);
      throw err;
    }
    this.parsedRequest = m.isRequest;
    this.countIn(m.isRequest ? m.method : 'response', src.family);
    const planner = this.plannerFor(local.addr);
    if (!m.isRequest) return handleResponse(this, planner, m, src, local, transport);
    return handleRequest(this, planner, m, src, local, transport, () => this.handle(text, src, local, transport));
  }

  private countOut(out: Action[]): void {
    for (const a of out) {
      if (a.type === 'drop') this.count(`drop:${a.reason.code}`);
      else if (a.type === 'resolve') this.count('resolve');
      else if (a.type === 'media') this.count(`media-engine:${a.ng.command}`);
      else if (a.type === 'send') {
        this.count('sent');
        const key = metricKey(a.method ?? 'response', a.to.family);
        this.msgOut.set(key, (this.msgOut.get(key) ?? 0) + 1);
      }
    }
  }

  private countIn(method: string, family: Family): void {
    const key = metricKey(method, family);
    this.msgIn.set(key, (this.msgIn.get(key) ?? 0) + 1);
  }
}
