// What the pure core returns (datagrams to send, a counted drop, a name to resolve first), and
// the one interface through which a mode (the address model, masquerading) plugs into it.
import type { Config } from '../config/config.js';
import type { Forks } from '../media/forks.js';
import type { MediaTable } from '../media/table.js';
import { Addr, Family, HostPort, isSpecial } from '../net/addr.js';
import type { SipMessage } from '../sip/message.js';
import type { CSeq } from '../sip/fields.js';
import type { Reason } from '../sip/reasons.js';
import type { UriParts } from '../sip/uri.js';
import type { Via } from '../sip/via.js';
import type { Mapping } from './mapping.js';
import type { NgCalls } from './ng.js';
import type { Registration, Transport } from './transport.js';
import type { Translator, UriHook } from './uris.js';

export type Action =
  | {
    readonly type: 'send'; readonly from: HostPort; readonly to: HostPort; readonly data: string /* latin1 */; readonly transport: Transport;
    // A request over TCP/TLS: what to do when no connection opens (the UDP form, or a 503).
    readonly unreachable?: () => Action[];
    // RFC 5626 5.3: the port of the party's own connection to us, tried before a new one.
    readonly flow?: number;
    // A response over TCP/TLS: where a new connection goes when its request's has closed
    // (RFC 3261 18.2.2: received= with the sent-by port; `to` names the closed one by rport=).
    readonly reopen?: HostPort;
    // A keep-alive (RFC 5626 4.4.1 CRLFCRLF) on the connection the peer opened: never opens one.
    readonly ping?: boolean;
    // A 2xx to REGISTER over TCP/TLS: the registration that keeps its connection open (transport.ts registrationLife).
    readonly registration?: Registration;
    // A forwarded request's method, for the message metrics (absent: a response), so that
    // counting never reads the bytes written.
    readonly method?: string;
  }
  | { readonly type: 'drop'; readonly reason: Reason }
  // media-engine rtpengine: an ng command (offer, answer, delete, query) for the engine chosen
  // by `key`; then() gets the SDP it returned (null: no engine answered) and gives what to
  // send; held() hears whether the engine still holds the call (null: no answer).
  | { readonly type: 'media'; readonly key: string; readonly ng: NgCommand; readonly then?: (sdp: string | null) => Action[]; readonly held?: (known: boolean | null) => void }
  // A host name to resolve first; the daemon resolves it, then calls retry().
  // `service`: the transport it is looked up for (RFC 3263 4.2: its SRV service).
  | { readonly type: 'resolve'; readonly name: string; readonly family: Family; readonly service: Transport; readonly retry: () => Action[] };

/** An ng protocol dictionary (rtpengine): strings, numbers and lists of strings. */
export type NgCommand = Readonly<Record<string, string | number | readonly string[]>>;

export const drop = (reason: Reason): Action => ({ type: 'drop', reason });

/** Which of our addresses a URI may name, and how our own Route entries are told apart. */
export interface Ours {
  isOurs(a: string): boolean; //     any SIP address of this proxy
  preloaded(a: string): boolean; //  a phone may preload it as its outbound proxy (RFC 3261 8.1.2)
  readonly markers: ReadonlySet<string>; // URI parameters of a foreign entry written onto our address
}

/** May anything be sent to `a`? Not to our own or special addresses, unless a map line names it (SPEC 11). */
export function sendable(ctx: Pick<ProxyContext, 'map' | 'ours'>, a: string): boolean {
  return ctx.map.isMapped(a) || (!ctx.ours.isOurs(a) && !isSpecial(a));
}

/** What the steps read: config, address model, relay table, our addresses, counters, MACs. */
export interface ProxyContext {
  readonly cfg: Config;
  readonly map: Mapping;
  readonly media: MediaTable;
  readonly product: string;
  readonly ours: Ours;
  readonly mac: (value: string) => string; // 12 hex digits of our MAC under the host's key (core/mac.ts)
  readonly macs: ReadonlyArray<(value: string) => string>; // every key's MAC (secret FILE: rotation); the first is mac
  readonly ng: NgCalls | null; // media-engine rtpengine: the calls offered to it (null: RTPproxy64)
  readonly forks: Forks; //       the branches of calls' first INVITEs still open through us
  count(what: string): void;
  /** A configured party (a map line's real address or uplink, a mode's own): no stranger. */
  isParty(a: Addr): boolean;
  /** May an error answer go to `a` now (a stranger's share of answer-limit)? */
  answerAllowed(a: Addr): boolean;
}

/** Where a message's media goes through the relay. */
export interface MediaPlan {
  readonly key: string; //    media table key: the Call-ID (and the LAN phone when masquerading)
  readonly side: Family; //   the sender's side of the relay (4: IPv4 or LAN, 6: IPv6 or public)
  readonly media: Addr; //    the relay address written into the SDP that goes out
  readonly addrs?: readonly [Addr, Addr]; // relay addresses of sides 4 and 6 (default media4, media6)
  readonly trusted?: boolean; // the sender is a configured party (default: its address has a map line)
  readonly via?: string; //     our two SIP addresses on this leg (the address model: MediaTable.legKey)
}

/** What route preprocessing (RFC 3261 16.4) left for the plan. */
export interface Routing {
  readonly remaining: ReadonlyArray<{ readonly uri: UriParts | null }>; // Route entries after ours
  readonly received: { readonly hp: HostPort; readonly uri: UriParts } | null; // a generic party named by our Record-Route (MACed)
  readonly newRuri: string | null; //          strict routing: the Request-URI to use
  readonly ruri: UriParts | null;
}

/** A request as the planner sees it, checked (RFC 3261 16.3) and preprocessed (16.4). */
export interface PlanRequest {
  readonly m: SipMessage;
  readonly src: HostPort;
  readonly local: HostPort;
  readonly transport: Transport;
  readonly via: Via;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly routing: Routing;
}

/** How addresses are written towards one side. */
export interface Writing {
  readonly outAddr: Addr; //       our address on the outgoing side (SPEC 3 step 5)
  readonly outPort?: number; //    its SIP port when it is a port face (default sip-port, tls-port)
  readonly tr: Translator;
  readonly hook?: UriHook;
  readonly media: MediaPlan | null; // null: SDP passes unchanged
}

export interface Forward extends Writing {
  readonly type: 'forward';
  readonly target: HostPort;
  readonly newRuri: string | null; //  replaces the Request-URI (then written by tr)
  readonly ruriHost: string | null; // replaces only the Request-URI host
  readonly viaReceived: boolean; //    the target came from received= on our Route
  readonly generic: boolean; //        our incoming-side Record-Route carries received=
  readonly pushRoute?: string; //      a URI pushed as the top Route (RFC 3261 16.6 step 6: an outbound proxy)
}

export type Plan =
  | Forward
  | { readonly type: 'answer'; readonly action: Action } // answered here (a registrar)
  | { readonly type: 'resolve'; readonly name: string; readonly family: Family; readonly service: Transport }; // a name first

/** A response whose top Via is ours and signed for its next hop, and where that Via says it goes. */
export interface PlanResponse {
  readonly m: SipMessage;
  readonly src: HostPort;
  readonly local: HostPort;
  readonly top: Via;
  readonly next: Via;
  readonly dest: HostPort;
  readonly callId: string;
  readonly cseq: CSeq;
}

/** A mode: what it decides for requests and responses that arrive on the addresses it serves. */
export interface Planner {
  /** Does this planner serve messages arriving on local address `a`? */
  serves(a: string): boolean;
  /** Its own SIP addresses (added to ours). */
  readonly addresses: readonly Addr[];
  /** URI parameters it writes onto our addresses for foreign entries (never our own Route). */
  readonly markers: readonly string[];
  /** Addresses a phone may preload in a Route without our marker. */
  preloaded(a: string): boolean;
  /** Is `a` a party this mode was configured for (for masquerading: a LAN phone)? */
  isParty(a: Addr): boolean;
  /** RFC 3261 16.5-16.6: target, outgoing address, how to write, media. */
  request(ctx: ProxyContext, r: PlanRequest): Plan;
  /** RFC 3261 16.7: how a response is written, or the reason it is dropped. */
  response(ctx: ProxyContext, r: PlanResponse): Writing | Reason;
  /** A response with our Via alone: to a request the mode sent itself (a keep-alive)? It is taken. */
  ownResponse?(m: SipMessage, top: Via): boolean;
}
