// Masquerading as a mode of the core (core/types.ts Planner): it serves the inbound and
// outbound addresses; the address model serves every other address of the same process.
import { createHmac } from 'node:crypto';
import { writtenOf } from '../config/advertise.js';
import { Config } from '../config/config.js';
import { Plan, Planner, PlanRequest, PlanResponse, ProxyContext, Writing } from '../core/types.js';
import { Addr } from '../net/addr.js';
import { R, Reason } from '../sip/reasons.js';
import { Credentials } from './digest.js';
import { learnRegistration } from './learn.js';
import { NameCache } from './names.js';
import { Nat, NAT_PARAM } from './nat.js';
import { MasqState, natPlan, natResponsePlan } from './plan.js';
import { Registrar } from './registrar.js';
import { Keepalive } from './keepalive.js';
import type { SipMessage } from '../sip/message.js';
import type { Via } from '../sip/via.js';
import { keyList } from '../core/mac.js';

export class MasqPlanner implements Planner, MasqState {
  readonly nat: Nat;
  readonly registrar: Registrar;
  readonly names: NameCache;
  readonly addresses: readonly Addr[];
  readonly markers = [NAT_PARAM];
  readonly defaultTarget: string | null;
  /** keepalive SECONDS: OPTIONS to the phones registered from the public side (the daemon's timer ticks it). */
  readonly keepalive: Keepalive | null;
  readonly outboundProxies: Config['outboundProxies'];

  /** `mac`: the engine's MAC (tokens and branches); `secret`: the key the nonces derive from. */
  constructor(cfg: Config & { inbound: Addr; outbound: Addr }, users: Map<string, Credentials>, macs: ReadonlyArray<(v: string) => string>, secret: Buffer | readonly Buffer[], now: () => number = Date.now) {
    const mac = macs[0];
    this.nat = new Nat(cfg.inbound, cfg.inboundPrefix, cfg.outbound, cfg.sipPort, macs, writtenOf(cfg), cfg.outbound2);
    this.registrar = new Registrar(cfg, users, keyList(secret).map((k) => createHmac('sha256', k).update('digest nonce').digest()), now);
    this.names = new NameCache(now);
    this.addresses = [cfg.inbound, cfg.outbound, ...(cfg.outbound2 ? [cfg.outbound2] : [])];
    this.defaultTarget = cfg.defaultTarget;
    this.keepalive = cfg.keepalive > 0 && cfg.registrar ? new Keepalive(this.registrar, this.nat, cfg.sipPort, mac) : null;
    this.outboundProxies = cfg.outboundProxies;
  }

  serves(a: string): boolean {
    return this.nat.realmOf(a) !== null;
  }

  /** A Route a phone preloads for its outbound proxy names the inbound or outbound address. */
  preloaded(a: string): boolean {
    return this.nat.realmOf(a) !== null;
  }

  /** The LAN's phones are this gateway's own. */
  isParty(a: Addr): boolean {
    return this.nat.isLan(a);
  }

  ownResponse(m: SipMessage, top: Via): boolean {
    return this.keepalive?.answer(m, top) ?? false;
  }

  request(ctx: ProxyContext, r: PlanRequest): Plan {
    return natPlan(ctx, this, r, this.nat.realmOf(r.local.addr) ?? 'lan');
  }

  response(_ctx: ProxyContext, r: PlanResponse): Writing | Reason {
    const realm = this.nat.realmOf(r.local.addr) ?? 'lan';
    // From the LAN or the public side, to the realm of the next Via.
    const p = natResponsePlan(this.nat, realm, r.src, r.dest, r.callId);
    if (!p) return R.noAddressInFamily;
    const { m, cseq } = r;
    if (realm === 'wan' && p.to === 'lan' && cseq.method === 'REGISTER' && m.status >= 200 && m.status < 300) learnRegistration(this.nat, this.registrar, m, r.callId, Number(cseq.num));
    return p;
  }
}
