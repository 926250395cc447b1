// A public address that changes (sipproxy64(8) MASQUERADING): when the watch of outbound
// NAME or outbound if:IFACE sees new addresses, bind them, then write them from the next
// message on. The old ones stay bound and ours while the host still holds them, so calls
// set up through them keep their signalling and media; once the host has dropped one, its
// sockets close. Registrations are kept by LAN address and are not touched.
import { Config } from '../config/config.js';
import { Engine } from '../core/engine.js';
import { MasqPlanner } from '../masq/planner.js';
import { Addr } from '../net/addr.js';
import { Logger } from './log.js';
import { advertisedSource, publicSource } from './masq.js';
import { ownAddresses } from '../config/own.js';
import { hostAddresses, kernelAddressEvents, PublicWatch, readIface } from './public.js';
import { DnsApi, systemDns } from './resolver.js';
import { SipTcp } from './sip-tcp.js';
import { SipUdp } from './sip-udp.js';

/** The SIP transports of the daemon: UDP always, TCP with `tcp yes`, TLS with a certificate. */
export interface SipSockets {
  readonly udp: SipUdp;
  tcp: SipTcp | null;
  tls: SipTcp | null;
}

export function watchPublic(cfg: Config, masq: MasqPlanner | null, engine: Engine, sip: SipSockets, log: Logger, dnsApi: DnsApi = systemDns): PublicWatch | null {
  if (!masq || (!cfg.outboundName && !cfg.outboundIface)) return null;
  const nat = masq.nat;
  const current = (): Addr[] => [nat.outbound, ...(nat.outbound2 ? [nat.outbound2] : [])];
  const served = new Set(current().map((a) => a.addr));
  const release = (a: string): void => {
    sip.udp.release(a, cfg.sipPort);
    sip.tcp?.release(a, cfg.sipPort);
    sip.tls?.release(a, cfg.tlsPort);
  };

  const change = async (now: Addr[], was: Addr[]): Promise<boolean> => {
    const fresh = now.filter((a) => !served.has(a.addr));
    try {
      await sip.udp.start(fresh, cfg.sipPort);
      if (sip.tcp) await sip.tcp.start(fresh, cfg.sipPort);
      if (sip.tls) await sip.tls.start(fresh, cfg.tlsPort);
    } catch (e) {
      for (const a of fresh) release(a.addr);
      log.warn('the public address changed, but the new one cannot be bound: still writing the old one', { now: now.map((a) => a.addr).join(','), error: (e as Error).message });
      return false;
    }
    for (const a of fresh) {
      served.add(a.addr);
      engine.map.setOwn(a.addr, true);
    }
    const kept = nat.setPublic(now[0], now[1] ?? null);
    cfg.outbound = now[0];
    cfg.outbound2 = now[1] ?? null;
    engine.count('public-address-changed');
    log.info('public address changed: new calls and registrations use the new one', { was: was.map((a) => a.addr).join(','), now: now.map((a) => a.addr).join(','), ...(kept.length ? { kept: `${kept.join(',')} while this host holds it` } : {}) });
    return true;
  };

  // Each round: close what the host no longer holds of the former addresses.
  const round = (held: Set<string>): void => {
    const now = new Set(current().map((a) => a.addr));
    for (const a of [...served]) {
      if (now.has(a) || held.has(a)) continue;
      release(a);
      served.delete(a);
      nat.forget(a);
      engine.map.setOwn(a, false);
      log.info('a former public address is gone from this host; its sockets are closed', { addr: a });
    }
  };

  // The kernel says when an address of the host changes: a look then, not at the next outbound-check.
  const events = (nudge: () => void): (() => void) => {
    const stop = kernelAddressEvents(nudge);
    if (!(stop instanceof Error)) return stop;
    log.warn('no word from the kernel when an address changes: the public address is looked at every outbound-check only', { error: stop.message });
    return () => {};
  };
  const w = new PublicWatch(publicSource(cfg), { dns: dnsApi, readIface, held: hostAddresses, events }, current(), change, round);
  w.start();
  return w;
}

/**
 * advertise LOCAL NAME: the router in front has a dynamic address (siproxd's host_outbound).
 * Its name is looked up again at its TTL (or every outbound-check); a new address is written
 * from the next message on. Nothing is bound: the router forwards to LOCAL, which stays.
 */
export function watchAdvertised(cfg: Config, masq: MasqPlanner | null, engine: Engine, log: Logger, dnsApi: DnsApi = systemDns): PublicWatch[] {
  if (!masq) return [];
  const out: PublicWatch[] = [];
  for (const a of cfg.advertise) {
    if (!a.name) continue;
    const change = async (now: Addr[], was: Addr[]): Promise<boolean> => {
      const next = now[0];
      // Another of our own addresses (the LAN side, say) would make it ambiguous: kept out.
      if (next.family !== a.local.family || (next.addr !== a.local.addr && ownAddresses(cfg).some(([, o]) => o.addr === next.addr))) {
        log.warn('the advertised name gives an address it cannot be: still writing the old one', { name: a.name, now: next.addr });
        return false;
      }
      const old = a.public.addr;
      a.public = next;
      engine.map.readvertise(a.local.addr, next.addr);
      // The former address stays ours while a call set up through it may last (its media on
      // hold at most rtp-hold-timeout): a LAN phone's BYE whose route set names it goes on
      // to the party, not out to that address, which the ISP may give to someone else.
      setTimeout(() => engine.map.retire(old), cfg.rtpHoldTimeout * 1000).unref();
      masq.nat.readvertise();
      engine.count('public-address-changed');
      log.info('advertised address changed: new calls and registrations use the new one', { name: a.name, was: was.map((x) => x.addr).join(','), now: next.addr });
      return true;
    };
    const w = new PublicWatch(advertisedSource(cfg, a), { dns: dnsApi, readIface: async () => null, held: () => new Set() }, [a.public], change);
    w.start();
    out.push(w);
  }
  return out;
}
