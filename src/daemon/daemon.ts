// The daemon (SPEC section 7): binds every SIP address, runs RTPproxy64, resolves uplinks,
// and handles signals. HUP: stop SIP, keep media until the calls end, then exit. It is the
// composition root of the process: startDaemon is the list of its start-up steps.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Config } from '../config/config.js';
import { Engine } from '../core/engine.js';
import { Action } from '../core/types.js';
import { pairsIn } from '../media/table.js';
import { MasqPlanner } from '../masq/planner.js';
import { Addr, Family, uriHost } from '../net/addr.js';
import { buildEngine } from './compose.js';
import { connectionsAllowed, filesOpen, limitNeeded, MAX_CONNECTIONS, openFileLimit, pairsAllowed, raiseOpenFileLimit } from './fdlimit.js';
import { Logger } from './log.js';
import { fillInboundPrefix, MasqError, NameResolver, RegistrationStore, resolveAdvertised, resolveOutbound } from './masq.js';
import { Connections, serveMetrics } from './metrics.js';
import { MediaEngine } from './media-engine.js';
import { CallLog } from './call-log.js';
import { nativeFile } from './datapath-native.js';
import { nativeHasher } from './mac-native.js';
import { HepMirror } from './hep.js';
import { Relay } from './relay.js';
import { hostSecret, readSecret } from './secret.js';
import { SipSockets, watchAdvertised, watchPublic } from './renumber.js';
import { DnsApi, UplinkResolver } from './resolver.js';
import { SipTcp } from './sip-tcp.js';
import { MAX_PENDING, MAX_UNSENT, MAX_UNSENT_PER_CONNECTION, MESSAGE_MS, WRITE_MS } from './tcp-limits.js';
import { SipUdp } from './sip-udp.js';
import { Outbox } from './outbox.js';
import { canBind } from './udp.js';

export class StartupError extends Error {}

export interface Daemon {
  readonly engine: Engine;
  readonly relay: Relay;
  /** Close SIP sockets; resolve when the last media stream has ended. */
  drain(): Promise<void>;
  /** Close everything now. */
  stop(): void;
  /** USR1: reopen the call log (after logrotate renamed it). */
  reopen(): void;
}

/** The TLS key, certificate and CAs; a file that cannot be read stops start-up (exit 2). */
function readTls(cert: string, key: string, ca: string | null): { key: Buffer; cert: Buffer; ca?: Buffer } {
  const read = (f: string, what: string): Buffer => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new StartupError(`cannot read ${what} ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return { cert: read(cert, 'tls-cert'), key: read(key, 'tls-key'), ...(ca ? { ca: read(ca, 'tls-ca') } : {}) };
}

/** Every address the proxy answers SIP on: the faces and the generic addresses. */
export function sipAddresses(cfg: Config): Addr[] {
  const out: Addr[] = [];
  for (const a of [cfg.generic4, cfg.generic6, ...cfg.maps.filter((m) => !m.facePort).map((m) => m.face), cfg.inbound, cfg.outbound, cfg.outbound2]) if (a && !out.some((x) => x.addr === a.addr)) out.push(a);
  return out;
}

/**
 * The families whose SIP on sip-port goes through one native socket on the wildcard address
 * (a nat64 prefix, the faces of a prefix line of more than 256 hosts), with what needs it.
 */
export function wildcardFamilies(cfg: Config): Map<Family, string> {
  const out = new Map<Family, string>();
  for (const l of cfg.prefixLines) out.set(l.face.family, `map ${l.real.text} ${l.face.text}`);
  if (cfg.nat64) out.set(6, `nat64 ${cfg.nat64.text}`);
  return out;
}

/** The port faces (map REAL FACE:PORT), by port: each binds its own SIP port. */
export function portFaces(cfg: Config): Map<number, Addr[]> {
  const out = new Map<number, Addr[]>();
  for (const m of cfg.maps) if (m.facePort) out.set(m.facePort, [...(out.get(m.facePort) ?? []), m.face]);
  return out;
}

/** The relay binds per stream; check once that the media addresses are local at all. */
async function checkMedia(a: Addr): Promise<void> {
  const err = await canBind(a, 0);
  if (err) throw new StartupError(`cannot bind media address ${uriHost(a)}: ${err}`);
}

function closeTransports(t: SipSockets): void {
  t.udp.close();
  t.tcp?.close();
  t.tls?.close();
}

/** advertise LOCAL NAME lines for the start-up log: the address each name gives now. */
function advertisedNames(cfg: Config): { advertised?: string } {
  const named = cfg.advertise.filter((a) => a.name);
  return named.length ? { advertised: named.map((a) => `${a.local.addr}=${a.name}=${a.public.addr}`).join(',') } : {};
}

/** Masquerading's start-up: the outbound name, the LAN prefix (the password file is read by buildEngine). */
async function setupMasquerading(cfg: Config, log: Logger, dnsApi?: DnsApi): Promise<void> {
  try {
    await resolveOutbound(cfg, dnsApi);
    await resolveAdvertised(cfg, dnsApi);
  } catch (e) {
    if (e instanceof MasqError) throw new StartupError(e.message);
    throw e;
  }
  if (!fillInboundPrefix(cfg)) log.warn('inbound has no /PREFIX and no interface holds it; the LAN is taken as /24 (/64 for IPv6)', { inbound: cfg.inbound?.addr });
}

/** secret FILE (instances that share it accept each other's dialogs), else this host's key. */
function keysOf(cfg: Config, log: Logger): Buffer[] {
  if (!cfg.secret) return [hostSecret()];
  try {
    const { keys, warning } = readSecret(cfg.secret);
    if (warning) log.warn(warning);
    return keys;
  } catch (e) {
    throw new StartupError((e as Error).message);
  }
}

/** The engine with its modes, on the relay's table. */
function createEngine(cfg: Config, log: Logger, product: string, relay: Relay): { engine: Engine; masq: MasqPlanner | null } {
  try {
    const { hasher, why } = nativeHasher();
    if (why && nativeFile()) log.warn('MACs by crypto.hash: the addon\'s SHA-256 is not used', { why });
    return buildEngine(cfg, { product, secret: keysOf(cfg, log), hasher: hasher ?? undefined, media: relay.table, onInternalError: (e) => log.error('internal error (a bug: please report it with this line)', { error: (e as Error)?.stack ?? String(e) }) });
  } catch (e) {
    if (e instanceof MasqError) throw new StartupError(e.message);
    throw e;
  }
}

/** RTPproxy64 and its table (no socket yet). */
function createRelay(cfg: Config, log: Logger): Relay {
  let relay: Relay;
  try {
    relay = newRelay(cfg, log);
  } catch (err) {
    throw new StartupError((err as Error).message); // media-datapath native, and it does not load
  }
  if (relay.fellBack) log.warn('the native media datapath does not load: relaying on the event loop (media-datapath js)', { error: relay.fellBack.message });
  return relay;
}

function newRelay(cfg: Config, log: Logger): Relay {
  const names: [string, string] = cfg.inbound ? ['LAN', 'public'] : ['IPv4', 'IPv6'];
  const calls = cfg.callLog ? new CallLog(cfg.callLog, names, (e) => log.warn('call-log cannot be written', { file: cfg.callLog, error: e.message })) : null;
  return new Relay({
    onStreamEnd: calls ? (s, left) => calls.streamEnded(s, left) : undefined,
    callLog: calls,
    ports: cfg.rtpPorts,
    quota: cfg.rtpQuota,
    maxPairs: relayPairs(cfg, log),
    media4: cfg.media4,
    media6: cfg.media6,
    probeAddr: (cfg.media4 ?? cfg.inbound) as Addr,
    sideNames: names,
    latch: cfg.rtpLatch,
    timeoutMs: cfg.rtpTimeout * 1000,
    holdTimeoutMs: cfg.rtpHoldTimeout * 1000,
    datapath: cfg.mediaDatapath,
    threads: cfg.mediaThreads || availableParallelism(),
    io: cfg.mediaIo,
    onError: (what, err) => log.warn('relay socket error', { socket: what, error: err.message }),
    onIoChange: (io) => log.warn('media-io: an io_uring ring failed; its thread goes on with epoll', { datapath: io }),
  });
}

/** The pairs the open-file limit allows (raised first when it can be); a warning when rtp-ports holds more. */
function relayPairs(cfg: Config, log: Logger): number {
  const lim = raiseOpenFileLimit();
  if (!lim) return Infinity;
  const pool = pairsIn(cfg.rtpPorts);
  const allowed = pairsAllowed(lim.soft);
  if (allowed < pool) {
    log.warn('the open-file limit serves fewer streams than rtp-ports holds: offers past it get 503 rtp-fd-limit', { openFiles: lim.soft, hard: lim.hard, streams: allowed, rtpPorts: pool, needed: limitNeeded(pool) });
  }
  return allowed;
}

/**
 * SIP TCP and TLS connections get the files the limit leaves once SIP and the relay are up
 * and the relay holds every pair it may (SPEC 11: a stranger's connections never take a
 * stream's sockets); past that, new ones are counted drops (tcp-too-many-connections).
 */
function limitConnections(cfg: Config, sip: SipSockets, log: Logger): void {
  const lim = openFileLimit();
  const inUse = filesOpen();
  const budget = (sip.tcp ?? sip.tls)?.budget;
  if (!lim || inUse === null || !budget) return;
  budget.max = connectionsAllowed(lim.soft, inUse, Math.min(pairsIn(cfg.rtpPorts), pairsAllowed(lim.soft)));
  if (budget.max < MAX_CONNECTIONS) log.warn('the open-file limit leaves fewer SIP TCP and TLS connections than usual: more are refused (tcp-too-many-connections)', { openFiles: lim.soft, filesOpen: inUse, connections: budget.max, usual: MAX_CONNECTIONS });
}

/** Check the media addresses; skip the pairs a draining instance holds. */
async function probeRelay(cfg: Config, relay: Relay, log: Logger): Promise<void> {
  for (const a of [cfg.media4, cfg.media6, cfg.inbound, cfg.outbound, cfg.outbound2]) if (a) await checkMedia(a);
  const held = await relay.probe();
  if (held > 0) log.info('relay port pairs held by another process (a draining instance?) are skipped', { pairs: held });
}

/** Bind SIP on every address: UDP, and TCP and TLS when configured; nothing stays bound on failure. */
async function startTransports(cfg: Config, engine: Engine, log: Logger, deliver: (a: Action[]) => void, masq: MasqPlanner | null): Promise<SipSockets> {
  // RFC 5922 7.3: a TLS server proves the name its address was resolved from.
  const names = (a: string): readonly string[] => [...engine.map.namesAt(a), ...(masq?.names.namesAt(a) ?? [])];
  const outbox = new Outbox(); // a read's sends go out together, over UDP and TCP alike
  const stream = { names, outbox, idleMs: cfg.tcpIdle * 1000, connectTimeoutMs: 5000, handshakeMs: 5000, messageMs: MESSAGE_MS, writeMs: WRITE_MS, maxUnsentPerConnection: MAX_UNSENT_PER_CONNECTION, maxPerSource: 64, maxPerDestination: 16, budget: { open: 0, max: MAX_CONNECTIONS, pending: 0, maxPending: MAX_PENDING, unsent: 0, maxUnsent: MAX_UNSENT } };
  let udp: SipUdp;
  try {
    udp = new SipUdp(engine, log, deliver, cfg.sipIo, outbox);
  } catch (err) {
    throw new StartupError((err as Error).message); // sip-io native, and the addon does not load
  }
  const t: SipSockets = { udp, tcp: null, tls: null };
  try {
    // nat64 and large prefix lines: their family on sip-port through one socket that sees each datagram's destination.
    const wild = wildcardFamilies(cfg);
    await t.udp.start(sipAddresses(cfg).filter((a) => !wild.has(a.family)), cfg.sipPort);
    for (const [f, why] of wild) t.udp.startAny(f, cfg.sipPort, why);
    for (const [port, addrs] of portFaces(cfg)) await t.udp.start(addrs, port);
    if (cfg.tcp) {
      t.tcp = new SipTcp(engine, log, deliver, { ...stream, transport: 'tcp' });
      await t.tcp.start(sipAddresses(cfg), cfg.sipPort);
      for (const [port, addrs] of portFaces(cfg)) await t.tcp.start(addrs, port);
    }
    if (cfg.tlsCert && cfg.tlsKey) {
      t.tls = new SipTcp(engine, log, deliver, { ...stream, transport: 'tls', tls: readTls(cfg.tlsCert, cfg.tlsKey, cfg.tlsCa) });
      await t.tls.start(sipAddresses(cfg), cfg.tlsPort);
    }
  } catch (err) {
    closeTransports(t);
    throw new StartupError((err as Error).message);
  }
  return t;
}

/** The metrics and status endpoint, when configured. */
async function startStatus(cfg: Config, engine: Engine, relay: Relay, log: Logger, media: MediaEngine | null, masq: MasqPlanner | null, sip: SipSockets): Promise<Awaited<ReturnType<typeof serveMetrics>> | null> {
  if (!cfg.metrics) return null;
  const conns = (): Connections[] => (['tcp', 'tls'] as const).flatMap((transport) => {
    const t = sip[transport];
    return t ? [{ transport, size: t.size, registered: t.registered }] : [];
  });
  try {
    return await serveMetrics(cfg.metrics, engine, relay, media?.client.states ?? [], (e) => log.warn('metrics server error', { error: e.message }), masq ? () => masq.registrar.toJSON() : null, conns);
  } catch (err) {
    throw new StartupError(`cannot listen for metrics on ${uriHost(cfg.metrics)}:${cfg.metrics.port}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function logStarted(cfg: Config, log: Logger, masq: MasqPlanner | null, relay: Relay, sipIo: string, hepIo: string | null): void {
  const wild = wildcardFamilies(cfg);
  log.info('sipproxy64 started', {
    sip: [...sipAddresses(cfg).filter((a) => !wild.has(a.family)).map((a) => `${uriHost(a)}:${cfg.sipPort}`), ...[...wild.keys()].map((f) => `${f === 6 ? '[::]' : '0.0.0.0'}:${cfg.sipPort}`), ...[...portFaces(cfg)].flatMap(([p, addrs]) => addrs.map((a) => `${uriHost(a)}:${p}`))].join(','),
    'sip-io': sipIo,
    ...(cfg.nat64 ? { nat64: cfg.nat64.text } : {}),
    media4: cfg.media4?.addr,
    media6: cfg.media6?.addr,
    ports: `${cfg.rtpPorts[0]}-${cfg.rtpPorts[1]}`,
    streams: relay.table.allowed, // what rtp-ports and the open-file limit allow
    datapath: relay.path.kind === 'native' ? `native, ${relay.threads} threads, ${relay.path.io()}` : 'js',
    metrics: cfg.metrics ? `${uriHost(cfg.metrics)}:${cfg.metrics.port}` : 'off',
    tcp: cfg.tcp ? 'yes' : 'no',
    tls: cfg.tlsCert ? `port ${cfg.tlsPort}` : 'off',
    ...(cfg.hep && hepIo ? { hep: `${uriHost(cfg.hep.to)}:${cfg.hep.to.port} ${hepIo}` } : {}),
    ...(masq ? { inbound: `${cfg.inbound?.addr}/${cfg.inboundPrefix ?? '?'}`, outbound: [cfg.outbound?.addr, cfg.outbound2?.addr].filter(Boolean).join(','), ...advertisedNames(cfg), registrar: cfg.registrar ? cfg.domains.join(',') : 'no' } : {}),
  });
}

export async function startDaemon(cfg: Config, log: Logger, product: string, dnsApi?: DnsApi): Promise<Daemon> {
  await setupMasquerading(cfg, log, dnsApi);
  const relay = createRelay(cfg, log);
  const { engine, masq } = createEngine(cfg, log, product, relay);
  await probeRelay(cfg, relay, log);
  const deliver = (actions: Action[]): void => {
    for (const a of actions) {
      if (a.type === 'drop') {
        if (log.debugEnabled) log.debug('sip drop', { reason: a.reason.code });
      } else if (a.type === 'resolve') names?.resolve(a);
      else if (a.type === 'media') media?.handle(a, deliver);
      else if (a.transport === 'tcp' && sip.tcp) sip.tcp.send(a);
      else if (a.transport === 'tls' && sip.tls) sip.tls.send(a);
      else sip.udp.send(a);
    }
  };
  const media = cfg.rtpengines.length > 0 ? new MediaEngine(cfg, engine, log) : null; // media-engine rtpengine
  const names = masq ? new NameResolver(masq.names, (x) => deliver(x), (r) => engine.countDrop(r), dnsApi) : null;
  const store = new RegistrationStore(masq?.registrar ?? null, cfg.registrations, log);
  store.start();
  const sip = await startTransports(cfg, engine, log, deliver, masq);
  const hep = cfg.hep ? new HepMirror(cfg.hep.to, cfg.hep.id, Date.now, sip.udp.addon, (k, n) => engine.count(k, n)) : null; // hep ADDR:PORT [ID]: through the addon with sip-io native
  const mirror: SipUdp['mirror'] = hep && ((d, s, r, tr) => hep.sip(d, s, r, tr));
  for (const t of [sip.udp, sip.tcp, sip.tls]) if (t) t.mirror = mirror;
  const keepalive = startKeepalive(cfg, masq, log, deliver);
  const watch = watchPublic(cfg, masq, engine, sip, log, dnsApi); // outbound NAME or if:IFACE
  const watchNames = watchAdvertised(cfg, masq, engine, log, dnsApi); // advertise LOCAL NAME
  relay.start();
  limitConnections(cfg, sip, log);
  let status: Awaited<ReturnType<typeof serveMetrics>> | null;
  try {
    status = await startStatus(cfg, engine, relay, log, media, masq, sip);
  } catch (err) {
    closeTransports(sip);
    throw err;
  }
  const resolver = new UplinkResolver(engine.map, log, dnsApi);
  await resolver.start();
  logStarted(cfg, log, masq, relay, sip.udp.io, hep?.io ?? null);
  return shutdown(engine, relay, sip, resolver, store, status, log, () => {
    if (keepalive) clearInterval(keepalive);
    watch?.stop();
    for (const w of watchNames) w.stop();
    media?.stop();
    hep?.close();
  });
}

/** keepalive SECONDS: a round of OPTIONS to the phones registered from the public side, each interval. */
function startKeepalive(cfg: Config, masq: MasqPlanner | null, log: Logger, deliver: (a: Action[]) => void): NodeJS.Timeout | null {
  const ka = masq?.keepalive;
  if (!ka) return null;
  ka.onDrop = (aor, contact) => log.info('keep-alive: a phone stopped answering; its binding is dropped', { aor, contact });
  return setInterval(() => deliver(ka.tick()), cfg.keepalive * 1000).unref();
}

/** The daemon's two ways out (SPEC 7): stop now, or drain (SIP closed, media until the calls end). */
function shutdown(engine: Engine, relay: Relay, sip: SipSockets, resolver: UplinkResolver, store: RegistrationStore, status: Awaited<ReturnType<typeof serveMetrics>> | null, log: Logger, stopTimers: () => void): Daemon {
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stopTimers();
    resolver.stop();
    store.stop();
    closeTransports(sip);
    relay.closeAll();
    status?.close();
  };
  const drain = (): Promise<void> => {
    stopTimers();
    closeTransports(sip);
    resolver.stop();
    store.stop();
    status?.close(); // the next instance takes the metrics address too
    status = null;
    log.info('SIP closed; relaying media until the calls end', { streams: relay.size });
    return new Promise((resolve) => {
      const check = (): void => {
        if (relay.size === 0) {
          clearInterval(t);
          log.info('media ended', { streamsWithMedia: relay.stats.streamsWithMedia, streamsWithoutMedia: relay.stats.streamsWithoutMedia, packets4: relay.stats.packets4, packets6: relay.stats.packets6 });
          stop();
          resolve();
        }
      };
      const t = setInterval(check, 200);
      check();
    });
  };
  return { engine, relay, drain, stop, reopen: () => relay.reopenLog() };
}
