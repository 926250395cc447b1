// keepalive SECONDS (issue 17; Kamailio nathelper's natping, RFC 5626 4.4): a phone that
// registered at our registrar from the public side (a teleworker behind a home router) is
// reached at the address its REGISTER came from, which its router forgets when nothing
// passes for a while. Every interval each such binding gets an OPTIONS there, from our
// public address of its family; any answer shows it alive; one that misses MAX_MISSES in a
// row is dropped. A phone registered over TCP or TLS gets CRLFCRLF on the connection it
// opened instead (RFC 5626 4.4.1), which keeps its router's mapping and our idle timer
// from closing it; no connection in a round is a miss (the proxy cannot open one to a phone
// behind a NAT). Pure: the daemon's timer calls tick(); answers come through the engine.
import { Action } from '../core/types.js';
import type { Transport } from '../core/transport.js';
import { Addr, HostPort, uriHost, withPort } from '../net/addr.js';
import { SipMessage } from '../sip/message.js';
import { Via, viaParam } from '../sip/via.js';
import { Nat } from './nat.js';
import { sourceOf } from './bindings.js';
import { Registrar } from './registrar.js';

/** Unanswered keep-alives in a row before a binding is dropped. */
export const MAX_MISSES = 3;
/** The branch prefix of our keep-alives (RFC 3261 8.1.1.7 magic cookie, then ours). */
const PREFIX = 'z9hG4bK64ka';

export class Keepalive {
  private readonly misses = new Map<string, number>(); // binding ("aor\ncontact") -> unanswered in a row
  private pending = new Map<string, string>(); //        branch of the last round -> binding
  private pinged = new Set<string>(); //                 stream bindings whose ping of the last round found its connection
  private round = 0;

  /** Told of each binding dropped (the daemon logs it). */
  onDrop: (aor: string, contact: string) => void = () => {};

  constructor(private readonly reg: Registrar, private readonly nat: Nat, private readonly sipPort: number, private readonly mac: (v: string) => string) {}

  /** One round: an OPTIONS to every binding from the public side; drop those that stopped answering. */
  tick(): Action[] {
    for (const key of this.pending.values()) this.misses.set(key, (this.misses.get(key) ?? 0) + 1);
    for (const key of this.pinged) this.misses.set(key, 0);
    this.pending = new Map();
    this.pinged = new Set();
    this.round++;
    const out: Action[] = [];
    const live = new Set<string>();
    for (const { aor, bindings } of this.reg.bindings.all()) {
      for (const b of bindings) {
        const src = sourceOf(b);
        if (!src || this.nat.isLan(src.hp)) continue; // from the public side only
        const to = src.hp;
        const key = `${aor}\n${b.contact}`;
        if ((this.misses.get(key) ?? 0) >= MAX_MISSES) {
          this.reg.bindings.remove(aor, b.contact);
          this.reg.dirty = true;
          this.misses.delete(key);
          this.onDrop(aor, b.contact);
          continue;
        }
        live.add(key);
        const from = this.nat.addrOf('wan', to.family);
        if (from.family !== to.family) continue;
        if (src.transport !== 'udp') {
          out.push(this.ping(key, withPort(from, this.sipPort), to, src.transport));
          continue;
        }
        const branch = PREFIX + this.mac(`${this.round}\n${key}`);
        this.pending.set(branch, key);
        out.push({ type: 'send', from: withPort(from, this.sipPort), to, data: this.options(b.contact, branch, this.mac(key), from), transport: 'udp' });
      }
    }
    for (const key of this.misses.keys()) if (!live.has(key)) this.misses.delete(key); // gone by expiry or REGISTER
    return out;
  }

  /** RFC 5626 4.4.1: CRLFCRLF on the phone's own connection; none there is a miss. */
  private ping(key: string, from: HostPort, to: HostPort, transport: Transport): Action {
    this.pinged.add(key);
    const unreachable = (): Action[] => {
      this.pinged.delete(key);
      this.misses.set(key, (this.misses.get(key) ?? 0) + 1);
      return [];
    };
    return { type: 'send', from, to, data: '\r\n\r\n', transport, ping: true, unreachable };
  }

  /** RFC 3261 11: an OPTIONS from us (no dialog) to the binding's Contact; one Call-ID a binding, the CSeq counting rounds. */
  private options(contact: string, branch: string, id: string, from: Addr): string {
    const w = uriHost(this.nat.writtenOf('wan', from.family));
    return `OPTIONS ${contact} SIP/2.0\r\nVia: SIP/2.0/UDP ${w}:${this.sipPort};branch=${branch};rport\r\nMax-Forwards: 70\r\n` +
      `From: <sip:keepalive@${w}>;tag=${id.slice(0, 8)}\r\nTo: <${contact}>\r\nCall-ID: ka-${id}@${w}\r\nCSeq: ${this.round} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  }

  /** A response to one of our keep-alives (any status: the phone is there): true when it was one. */
  answer(_m: SipMessage, top: Via): boolean {
    const branch = viaParam(top, 'branch')?.value;
    const key = branch ? this.pending.get(branch) : undefined;
    if (key === undefined || !branch) return false;
    this.pending.delete(branch);
    this.misses.set(key, 0);
    return true;
  }
}
