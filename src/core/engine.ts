// The pure core: one call takes a datagram and the addresses it came from and arrived on,
// and returns what to send where. No sockets, timers or files here; time is injected.
import { createHmac } from 'node:crypto';
import { Config } from '../config/config.js';
import { HostPort } from '../net/addr.js';
import { SipError } from '../sip/errors.js';
import { parseMessage } from '../sip/message.js';
import { MediaTable } from '../media/table.js';
import { Mapping } from './mapping.js';
import { localReply } from './reply.js';
import { handleRequest, MAX_UDP } from './request.js';
import { handleResponse } from './response.js';
import { Action, drop } from './types.js';
import { isOurPort, type Transport } from './transport.js';
import { Nat } from '../nat/nat.js';
import { NameCache } from '../nat/names.js';
import { NeedsName } from '../nat/plan.js';
import { Registrar } from '../registrar/registrar.js';
import { Credentials } from '../registrar/digest.js';

/** Methods counted by name; others count as "other" (bounded metric labels). */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE', 'response', 'unparsed']);

export interface EngineDeps {
  now?: () => number;
  secret?: Buffer; // key for the MAC on received= in our Record-Route (default: fixed, for fixtures)
  product?: string; // User-Agent / Server value, "sipproxy64/VERSION"
  users?: Map<string, Credentials>; // the registrar's password file, read by the caller
  onInternalError?: (err: unknown) => void; // a bug in a rule: the daemon logs its stack
}

export class Engine {
  readonly map: Mapping;
  readonly media: MediaTable;
  readonly product: string;
  readonly counters = new Map<string, number>();
  readonly msgIn = new Map<string, number>(); //  "METHOD|family" ("response", "unparsed")
  readonly msgOut = new Map<string, number>();
  readonly nat: Nat | null; //             masquerading (inbound/outbound), if configured
  readonly registrar: Registrar | null; //  its registrar and table of phones registered through it
  readonly names: NameCache;
  private readonly secret: Buffer;
  private readonly onInternalError?: (err: unknown) => void;

  constructor(readonly cfg: Config, deps: EngineDeps = {}) {
    this.onInternalError = deps.onInternalError;
    const now = deps.now ?? Date.now;
    this.map = new Mapping(cfg);
    this.media = new MediaTable(cfg.rtpPorts, now);
    this.product = deps.product ?? 'sipproxy64';
    this.secret = deps.secret ?? Buffer.from('sipproxy64 fixed test key');
    this.names = new NameCache(now);
    this.nat = cfg.inbound && cfg.outbound ? new Nat(cfg.inbound, cfg.inboundPrefix, cfg.outbound, cfg.sipPort, (v) => this.receivedMac(v)) : null;
    this.registrar = this.nat ? new Registrar(cfg, deps.users ?? new Map(), createHmac('sha256', this.secret).update('digest nonce').digest(), now) : null;
  }

  /** MAC over a received= value we put in our Record-Route (12 hex digits of HMAC-SHA256). */
  receivedMac(value: string): string {
    return createHmac('sha256', this.secret).update(value).digest('hex').slice(0, 12);
  }

  count(what: string): void {
    this.counters.set(what, (this.counters.get(what) ?? 0) + 1);
  }

  /** Process one datagram. Never throws: every failure is a SIP answer or a counted drop. */
  handle(data: Buffer | string, src: HostPort, local: HostPort, transport: Transport = 'udp'): Action[] {
    const text = typeof data === 'string' ? data : data.toString('latin1');
    let out: Action[];
    try {
      if (!this.map.isOurs(local.addr) || !isOurPort(local.port, this.cfg)) {
        out = [drop('not-our-address')];
      } else {
        let m;
        try {
          m = parseMessage(text);
        } catch (err) {
          this.count('parse-error');
          this.countIn('unparsed', src.family);
          throw err;
        }
        this.countIn(m.isRequest ? m.method : 'response', src.family);
        out = m.isRequest ? handleRequest(this, m, src, local, transport) : handleResponse(this, m, src, local);
      }
    } catch (err) {
      if (err instanceof NeedsName) {
        this.count('resolve');
        return [{ type: 'resolve', name: err.name, family: err.family, retry: () => this.handle(text, src, local, transport) }];
      }
      if (err instanceof SipError) {
        out = [err.status === 0 ? drop(err.reason) : localReply(text, err.status, err.phrase, err.reason, src, local, this.product, err.extraHeaders, transport)];
        if (err.status !== 0 && out[0].type === 'send') this.count(`refuse:${err.status} ${err.reason}`);
      } else {
        // A bug in a rule must not take the proxy down: count it and drop the message.
        this.count('internal-error');
        this.onInternalError?.(err);
        out = [drop('internal-error')];
      }
    }
    // Nothing larger than a UDP datagram leaves (a local answer copies every Via).
    if (out.length === 1 && out[0].type === 'send' && out[0].transport === 'udp' && out[0].data.length > MAX_UDP) out = [drop('too-large-for-udp')];
    for (const a of out) {
      if (a.type === 'drop') this.count(`drop:${a.reason}`);
      else if (a.type === 'send') {
        this.count('sent');
        const sp = a.data.indexOf(' ');
        const method = a.data.startsWith('SIP/2.0 ') ? 'response' : a.data.slice(0, sp);
        const key = `${KNOWN_METHODS.has(method) ? method : 'other'}|${a.to.family}`;
        this.msgOut.set(key, (this.msgOut.get(key) ?? 0) + 1);
      }
    }
    return out;
  }

  private countIn(method: string, family: number): void {
    const key = `${KNOWN_METHODS.has(method) ? method : 'other'}|${family}`;
    this.msgIn.set(key, (this.msgIn.get(key) ?? 0) + 1);
  }
}
