// --check-config --host (issue 16): on the machine where it will run, is the configuration
// servable? One table of checks: each address of ours local (an address, or a local route:
// Linux AnyIP) and its SIP ports bindable; rtp-ports clear of the kernel's ephemeral range
// and within the open-file limit; the native datapath and io_uring (media-io); uplinks
// resolving in the family they are used from; and addresses that do not belong in SIP.
// Errors exit 2, warnings 0.
import { spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { Config } from '../config/config.js';
import { ownAddresses } from '../config/own.js';
import { embed } from '../config/nat64.js';
import { nth } from '../config/prefix.js';
import { wildcardFamilies } from '../daemon/daemon.js';
import { Addon, chooseNative, loadNative, NativeChoice, NativeDatapath } from '../daemon/datapath-native.js';
import { canBind } from '../daemon/udp.js';
import { pairsAllowed, raiseOpenFileLimit, limitNeeded } from '../daemon/fdlimit.js';
import { pairsIn } from '../media/table.js';
import { Addr, formatHostPort, other, withPort } from '../net/addr.js';

type Level = 'ok' | 'warning' | 'error';
export interface Check { readonly check: string; readonly subject: string; readonly level: Level; readonly detail: string }

/** The kernel's local routes ("local 127.0.0.0/8 dev lo ..."): every address the host accepts as its own. */
function localRoutes(): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  const out: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const fam of ['-4', '-6']) {
    const r = spawnSync('ip', [fam, '-o', 'route', 'show', 'table', 'local'], { encoding: 'utf8' });
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = /^local\s+(\S+)/.exec(line);
      if (!m) continue;
      try {
        out.push(m[1].includes('/') ? ipaddr.parseCIDR(m[1]) : [ipaddr.parse(m[1]), m[1].includes(':') ? 128 : 32]);
      } catch {
        /* a route we cannot read names nothing */
      }
    }
  }
  return out;
}

const isLocal = (a: Addr, routes: ReturnType<typeof localRoutes>): boolean => {
  const ip = ipaddr.parse(a.addr);
  return routes.some(([net, len]) => net.kind() === ip.kind() && ip.match([net, len] as [typeof ip, number]));
};

/** Addresses that do not belong in SIP wherever they are (RFC 4380, 3056, 4291, 4193, 1918). */
const NEVER: Array<[string, string]> = [['2001::/32', 'Teredo'], ['2002::/16', '6to4'], ['fe80::/10', 'link-local'], ['169.254.0.0/16', 'link-local'], ['::ffff:0:0/96', 'IPv4-mapped']];
const PRIVATE: Array<[string, string]> = [['fc00::/7', 'ULA'], ['10.0.0.0/8', 'RFC 1918'], ['172.16.0.0/12', 'RFC 1918'], ['192.168.0.0/16', 'RFC 1918']];
function kindOf(a: string, list: Array<[string, string]>): string | null {
  const ip = ipaddr.parse(a);
  for (const [cidr, name] of list) {
    const net = ipaddr.parseCIDR(cidr);
    if (net[0].kind() === ip.kind() && ip.match(net as [typeof ip, number])) return name;
  }
  return null;
}

export async function hostChecks(cfg: Config): Promise<Check[]> {
  const out: Check[] = [];
  const add = (check: string, subject: string, level: Level, detail = ''): void => void out.push({ check, subject, level, detail });
  const routes = localRoutes();
  const advertised = new Set(cfg.advertise.map((a) => a.local.addr));
  const own = ownAddresses(cfg).map(([role, a]) => ({ role, a, local: isLocal(a, routes) }));
  for (const { role, a, local } of own) {
    add('local', `${role} ${a.addr}`, local ? 'ok' : 'error', local ? '' : 'not an address or local route of this host');
    const never = kindOf(a.addr, NEVER);
    if (never) add('address', `${role} ${a.addr}`, 'warning', `${never}: does not belong in SIP`);
    const priv = kindOf(a.addr, PRIVATE);
    if (priv && role !== 'inbound' && !advertised.has(a.addr)) add('address', `${role} ${a.addr}`, 'warning', `${priv} on a side others must reach (advertise a public address?)`);
  }
  wildcardChecks(cfg, routes, add);
  for (const m of cfg.maps) {
    const never = m.real ? kindOf(m.real.addr, NEVER) : null;
    if (never) add('address', `map ${m.real?.addr} (${m.where})`, 'warning', `${never}: does not belong in SIP`);
  }
  // SIP sockets: every face, generic, inbound and outbound address on sip-port (and tls-port).
  const wild = wildcardFamilies(cfg);
  const ports = [cfg.sipPort, ...(cfg.tlsCert ? [cfg.tlsPort] : [])];
  for (const { role, a, local } of own) {
    if (role === 'media4' || role === 'media6' || !local) continue; // media binds rtp-ports only
    for (const port of ports) {
      if (wild.has(a.family) && port === cfg.sipPort) continue; // the wildcard socket serves them (below)
      const why = await canBind(a, port);
      add('bind', formatHostPort(withPort(a, port)), why ? 'error' : 'ok', why ?? '');
    }
  }
  for (const [f, what] of wild) {
    const why = await canBind({ addr: f === 6 ? '::' : '0.0.0.0', family: f }, cfg.sipPort);
    add('bind', `${f === 6 ? '[::]' : '0.0.0.0'}:${cfg.sipPort} (${what.split(' ')[0]})`, why ? 'error' : 'ok', why ?? '');
  }
  // Port faces: each on its own SIP port.
  for (const m of cfg.maps) {
    if (!m.facePort || !own.some((o) => o.a.addr === m.face.addr && o.local)) continue;
    const why = await canBind(m.face, m.facePort);
    add('bind', formatHostPort(withPort(m.face, m.facePort)), why ? 'error' : 'ok', why ?? '');
  }
  // rtp-ports: clear of the ephemeral range (the kernel hands those to outgoing sockets) and served by the open-file limit.
  const [lo, hi] = cfg.rtpPorts;
  try {
    const [elo, ehi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/).map(Number);
    const overlap = lo <= ehi && hi >= elo;
    add('rtp-ports', `${lo}-${hi}`, overlap ? 'warning' : 'ok', overlap ? `overlaps the ephemeral range ${elo}-${ehi}: a relay bind may find its port taken` : `clear of the ephemeral range ${elo}-${ehi}`);
  } catch {
    /* not Linux */
  }
  const lim = raiseOpenFileLimit();
  if (lim) {
    const pool = pairsIn(cfg.rtpPorts);
    const allowed = pairsAllowed(lim.soft);
    add('open files', `${lim.soft} (hard ${lim.hard})`, allowed < pool ? 'warning' : 'ok', allowed < pool ? `serves ${allowed} of ${pool} streams; set it to ${limitNeeded(pool)}` : `serves all ${pool} streams`);
  }
  sipIoCheck(cfg, add);
  datapathCheck(cfg, add);
  // Uplinks by name, in the family they are reached from (the face's other family).
  for (const m of cfg.maps.filter((x) => x.name)) {
    const fam = other(m.face.family);
    try {
      const r = await Promise.race([lookup(m.name as string, { family: fam, all: true }), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 3000))]);
      add('resolve', `${m.name} (IPv${fam})`, r.length ? 'ok' : 'error', r.map((x) => x.address).join(' '));
    } catch (e) {
      add('resolve', `${m.name} (IPv${fam})`, 'error', (e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
  }
  return out;
}

type Add = (check: string, subject: string, level: Level, detail?: string) => void;

/** nat64 and large prefix lines: each prefix routed to this host (AnyIP), and the native socket that serves it. */
function wildcardChecks(cfg: Config, routes: ReturnType<typeof localRoutes>, add: Add): void {
  const prefixes: Array<[string, Addr, string]> = cfg.prefixLines.map((l) => [`map ${l.real.text} ${l.face.text}`, nth(l.face, 0), l.face.text]);
  if (cfg.nat64) prefixes.push([`nat64 ${cfg.nat64.text}`, embed(cfg.nat64, '192.0.2.1'), cfg.nat64.text]);
  if (prefixes.length === 0) return;
  for (const [subject, a, text] of prefixes) {
    const local = isLocal(a, routes);
    add('local', subject, local ? 'ok' : 'error', local ? 'a local route' : `not routed to this host (ip ${a.family === 6 ? '-6 ' : ''}route add local ${text} dev lo; sipproxy64-faces add does it)`);
  }
  const addon = loadNative();
  add('native', prefixes.map((p) => p[0]).join(', '), addon instanceof Error ? 'error' : 'ok', addon instanceof Error ? `the native addon does not load: ${addon.message}` : 'the addon that serves them loads');
}

/** An auto|native|js directive's addon, as the daemon would choose it; what it could not load is said. */
function addonCheck(check: string, directive: string, choice: NativeChoice, fallback: string, add: Add): Addon | null {
  // native would not start: an error here, where auto's fallback is a warning.
  const { addon, fellBack } = chooseNative(directive, choice === 'native' ? 'auto' : choice);
  if (fellBack) add(check, `${directive} ${choice}`, choice === 'native' ? 'error' : 'warning', `the native addon does not load (auto ${fallback}): ${fellBack.message}`);
  return addon;
}

/** SIP over UDP: the addon's sockets load (sip-io). */
function sipIoCheck(cfg: Config, add: Add): void {
  if (addonCheck('sip-io', 'sip-io', cfg.sipIo, "uses Node's dgram", add)) add('sip-io', `sip-io ${cfg.sipIo}`, 'ok', 'native sockets');
}

/** Where RTPproxy64 relays: the native addon loads, and io_uring is there if media-io asks for it. */
function datapathCheck(cfg: Config, add: Add): void {
  if (cfg.rtpengines.length > 0) return;
  const addon = addonCheck('datapath', 'media-datapath', cfg.mediaDatapath, 'relays on the event loop', add);
  if (!addon) return;
  try {
    const path = new NativeDatapath(addon, { ports: [20000, 20000], latch: cfg.rtpLatch, threads: 1, io: cfg.mediaIo });
    add('datapath', `media-io ${cfg.mediaIo}`, 'ok', `native, ${path.io()}`);
    path.close();
  } catch (e) {
    add('datapath', `media-io ${cfg.mediaIo}`, 'error', (e as Error).message);
  }
}

export function checksTable(checks: Check[]): string {
  const rows = [['CHECK', 'SUBJECT', 'RESULT'], ...checks.map((c) => [c.check, c.subject, c.level + (c.detail ? `: ${c.detail}` : '')])];
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const errors = checks.filter((c) => c.level === 'error').length;
  const warnings = checks.filter((c) => c.level === 'warning').length;
  return rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`).join('\n') + `\n${errors} errors, ${warnings} warnings\n`;
}
