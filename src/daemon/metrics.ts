// Status for operators: Prometheus metrics (prom-client) and the active media sessions as
// JSON, over HTTP on the `metrics` address (off by default; loopback unless told otherwise).
import http from 'node:http';
import { hostname } from 'node:os';
import { Counter, Gauge, Registry } from 'prom-client';
import { Engine } from '../core/engine.js';
import { EngineState } from './ng.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './status-page.js';
import { Relay, StreamInfo } from './relay.js';
import { HEP_FAILED, HEP_SENT } from './hep.js';
import { FULL_READ } from './turn.js';
import { HostPort, parseHostIp, uriHost } from '../net/addr.js';
import { R } from '../sip/reasons.js';
import { VERSION } from '../version.js';

function fill(c: Counter<string>, entries: Iterable<[Record<string, string>, number]>): void {
  c.reset();
  for (const [labels, v] of entries) c.inc(labels, v);
}

/** SIP connections of one transport: open (both ways), and kept open by a registration. */
export interface Connections {
  readonly transport: 'tcp' | 'tls';
  readonly size: number;
  readonly registered: number;
}

export function createRegistry(engine: Engine, relay: Relay, engines: readonly EngineState[] = [], conns: () => readonly Connections[] = () => []): Registry {
  const reg = new Registry();
  reg.setDefaultLabels({});
  const byMethod = (m: Map<string, number>) =>
    [...m].map(([k, v]): [Record<string, string>, number] => {
      const [method, family] = k.split('|');
      return [{ method, family: `ipv${family}` }, v];
    });
  const prefixed = (prefix: string) =>
    [...engine.counters].filter(([k]) => k.startsWith(prefix)).map(([k, v]): [Record<string, string>, number] => [{ reason: k.slice(prefix.length) }, v]);
  new Counter({ name: 'sipproxy64_sip_messages_in_total', help: 'SIP messages received, by method ("response" for responses) and family', labelNames: ['method', 'family'], registers: [reg], collect() { fill(this, byMethod(engine.msgIn)); } });
  new Counter({ name: 'sipproxy64_sip_messages_out_total', help: 'SIP messages sent, by method and family', labelNames: ['method', 'family'], registers: [reg], collect() { fill(this, byMethod(engine.msgOut)); } });
  new Counter({ name: 'sipproxy64_sip_refusals_total', help: 'Requests answered by the proxy itself with an error, by status and reason', labelNames: ['reason'], registers: [reg], collect() { fill(this, prefixed('refuse:')); } });
  new Counter({ name: 'sipproxy64_sip_drops_total', help: 'SIP messages dropped, by reason', labelNames: ['reason'], registers: [reg], collect() { fill(this, prefixed('drop:')); } });
  new Counter({ name: 'sipproxy64_sip_tcp_fallbacks_total', help: 'Requests sent over UDP after TCP, chosen only by their size, could not connect', registers: [reg], collect() { this.reset(); this.inc(engine.counters.get('tcp-fallback-udp') ?? 0); } });
  new Counter({ name: 'sipproxy64_sip_udp_full_reads_total', help: 'Turns of the event loop in which a SIP UDP socket read a whole batch (more may wait: the proxy is at its core\'s rate)', registers: [reg], collect() { this.reset(); this.inc(engine.counters.get(FULL_READ) ?? 0); } });
  new Counter({ name: 'sipproxy64_sip_parse_errors_total', help: 'Datagrams that could not be parsed as SIP', registers: [reg], collect() { this.reset(); this.inc(engine.counters.get('parse-error') ?? 0); } });
  new Counter({ name: 'sipproxy64_sip_socket_errors_total', help: 'Sends and connections that failed in the socket layer, by transport', labelNames: ['transport'], registers: [reg], collect() { fill(this, [[{ transport: 'udp' }, engine.counters.get('sip-socket-error') ?? 0], [{ transport: 'tcp' }, engine.counters.get('tcp-socket-error') ?? 0]]); } });
  new Counter({ name: 'sipproxy64_hep_datagrams_total', help: 'HEP copies of SIP messages (hep ADDR:PORT), by result: sent, or failed (not taken by the kernel, or too large)', labelNames: ['result'], registers: [reg], collect() { fill(this, [[{ result: 'sent' }, engine.counters.get(HEP_SENT) ?? 0], [{ result: 'failed' }, engine.counters.get(HEP_FAILED) ?? 0]]); } });
  new Counter({ name: 'sipproxy64_public_address_changes_total', help: 'Changes of the public address of masquerading followed (outbound NAME or if:IFACE, advertise LOCAL NAME)', registers: [reg], collect() { this.reset(); this.inc(engine.counters.get('public-address-changed') ?? 0); } });
  new Counter({ name: 'sipproxy64_internal_errors_total', help: 'Messages dropped because a rule failed (a bug: please report)', registers: [reg], collect() { this.reset(); this.inc(engine.counters.get(R.internalError.code) ?? 0); } });
  new Gauge({ name: 'sipproxy64_sip_connections', help: 'SIP connections open, both ways, by transport', labelNames: ['transport'], registers: [reg], collect() { this.reset(); for (const c of conns()) this.set({ transport: c.transport }, c.size); } });
  new Gauge({ name: 'sipproxy64_sip_connections_registered', help: 'SIP connections a registration keeps open past tcp-idle (RFC 5626 5.3), by transport', labelNames: ['transport'], registers: [reg], collect() { this.reset(); for (const c of conns()) this.set({ transport: c.transport }, c.registered); } });
  new Gauge({ name: 'sipproxy64_media_sessions', help: 'Active media streams (one per m= line)', registers: [reg], collect() { this.set(engine.media.size); } });
  new Gauge({ name: 'sipproxy64_rtp_port_pairs_in_use', help: 'Relay port pairs in use', registers: [reg], collect() { this.set(engine.media.portsInUse); } });
  new Gauge({ name: 'sipproxy64_rtp_port_pairs', help: 'Relay port pairs in rtp-ports', registers: [reg], collect() { this.set(engine.media.capacity); } });
  new Gauge({ name: 'sipproxy64_rtp_port_pairs_allowed', help: 'Relay port pairs the process may hold: rtp-ports, or fewer under the open-file limit', registers: [reg], collect() { this.set(engine.media.allowed); } });
  new Counter({ name: 'sipproxy64_rtp_packets_total', help: 'RTP/RTCP packets relayed, by the family they went out on', labelNames: ['family'], registers: [reg], collect() { fill(this, [[{ family: 'ipv4' }, relay.stats.packets4], [{ family: 'ipv6' }, relay.stats.packets6]]); } });
  new Counter({ name: 'sipproxy64_rtp_bytes_total', help: 'RTP/RTCP bytes relayed, by the family they went out on', labelNames: ['family'], registers: [reg], collect() { fill(this, [[{ family: 'ipv4' }, relay.stats.bytes4], [{ family: 'ipv6' }, relay.stats.bytes6]]); } });
  new Counter({ name: 'sipproxy64_rtp_drops_total', help: 'RTP/RTCP packets dropped, by reason', labelNames: ['reason'], registers: [reg], collect() { fill(this, [...relay.stats.drops].map(([k, v]): [Record<string, string>, number] => [{ reason: k }, v])); } });
  new Gauge({ name: 'sipproxy64_rtp_datapath', help: 'RTPproxy64\'s packet path (media-datapath): native with its threads and system calls (media-io), or js', labelNames: ['datapath', 'threads', 'io'], registers: [reg], collect() { this.reset(); this.set({ datapath: relay.path.kind, threads: String(relay.threads), io: relay.path.io()?.split(' ')[0] ?? '' }, 1); } });
  if (engines.length > 0) {
    // media-engine rtpengine: each engine's state, our requests to it, and its own figures.
    new Gauge({ name: 'sipproxy64_rtpengine_up', help: 'An rtpengine answered its last request (1) or not (0)', labelNames: ['engine'], registers: [reg], collect() { this.reset(); for (const e of engines) this.set({ engine: e.engine }, e.up ? 1 : 0); } });
    new Counter({ name: 'sipproxy64_rtpengine_requests_total', help: 'ng requests to each rtpengine, by command and result (ok, error, timeout)', labelNames: ['engine', 'command', 'result'], registers: [reg], collect() { fill(this, engines.flatMap((e) => [...e.requests].map(([k, v]): [Record<string, string>, number] => { const [command, result] = k.split(' '); return [{ engine: e.engine, command, result }, v]; }))); } });
    new Gauge({ name: 'sipproxy64_rtpengine_statistic', help: 'Figures from each rtpengine\'s ng statistics (sessions, packets, bytes)', labelNames: ['engine', 'statistic'], registers: [reg], collect() { this.reset(); for (const e of engines) for (const [k, v] of Object.entries(e.stats)) this.set({ engine: e.engine, statistic: k }, v); } });
  }
  // Quality (issue 19): streams by verdict, and what their parties lose (RFC 3550). One look at
  // the streams a scrape (prom-client calls every collect in one turn), not one per gauge.
  let snap: StreamInfo[] | null = null;
  const streams = (): StreamInfo[] => {
    if (!snap) {
      snap = relay.describe();
      setImmediate(() => (snap = null));
    }
    return snap;
  };
  const verdicts = ['ok', 'one-way', 'never-latched', 'held', 'no-media', 'waiting'];
  new Gauge({ name: 'sipproxy64_media_streams_by_verdict', help: 'Active media streams by verdict (ok, one-way, never-latched, held, no-media, waiting)', labelNames: ['verdict'], registers: [reg], collect() {
    const n = new Map(verdicts.map((v) => [v, 0]));
    for (const s of streams()) n.set(s.verdictKind, (n.get(s.verdictKind) ?? 0) + 1);
    for (const [verdict, v] of n) this.set({ verdict }, v);
  } });
  new Gauge({ name: 'sipproxy64_rtp_stream_lost_packets', help: 'RTP packets the parties of the active streams sent that never arrived (RFC 3550 A.3), by the side they came from', labelNames: ['side'], registers: [reg], collect() {
    const d = streams();
    this.set({ side: '4' }, d.reduce((a, s) => a + s.from4.lost, 0));
    this.set({ side: '6' }, d.reduce((a, s) => a + s.from6.lost, 0));
  } });
  new Gauge({ name: 'sipproxy64_rtp_stream_jitter_ms_max', help: 'The highest interarrival jitter (RFC 3550 A.8) among the active streams\' parties, ms', registers: [reg], collect() {
    this.set(streams().reduce((a, s) => Math.max(a, s.from4.jitterMs, s.from6.jitterMs), 0));
  } });
  new Gauge({ name: 'sipproxy64_info', help: 'Version', labelNames: ['version'], registers: [reg], collect() { this.set({ version: VERSION }, 1); } });
  return reg;
}

/** Connections at once, and seconds to send a request's head and the request (SPEC 11: a stranger on the port holds few files, briefly). */
const MAX_CONNECTIONS = 32;
const REQUEST_SECONDS = 10;

/**
 * May a request with this Host header be answered? An IP literal (any), localhost, this
 * host's own name, or none (HTTP/1.0): never another name, which is what a web page's
 * DNS rebinding sends, so a page a browser of the operator opens cannot read the calls and
 * registrations (RFC 9110 7.2; the answer is 421 Misdirected Request, 15.5.20).
 */
export function hostAllowed(host: string | undefined, own = hostname()): boolean {
  if (host === undefined) return true;
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::\d*)?$/.exec(host);
  if (!m) return false;
  const h = m[1].toLowerCase().replace(/\.$/, '');
  return parseHostIp(h) !== null || h === 'localhost' || (h !== '' && h === own.toLowerCase());
}

/** Serve /metrics and /sessions; resolves once listening. Errors never end the process. */
export async function serveMetrics(at: HostPort, engine: Engine, relay: Relay, engines: readonly EngineState[], onError: (e: Error) => void, registrations: (() => unknown) | null = null, conns: () => readonly Connections[] = () => []): Promise<http.Server> {
  const reg = createRegistry(engine, relay, engines, conns);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('sipproxy64: ask by address, localhost or this host\'s name\n');
    } else if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (url === '/metrics') {
      reg.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': reg.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else if (url === '/sessions') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(relay.describe()));
    } else if (url === '/' || url === '/status.js' || url === '/status.css') {
      // The status page: one document, its style and its script, nothing from elsewhere.
      const [type, body] = url === '/' ? ['text/html; charset=utf-8', PAGE_HTML] : url === '/status.js' ? ['text/javascript; charset=utf-8', PAGE_JS] : ['text/css; charset=utf-8', PAGE_CSS];
      res.writeHead(200, { 'Content-Type': type, 'Content-Security-Policy': "default-src 'self'", 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' }).end(body);
    } else if (url === '/favicon.ico') {
      res.writeHead(204).end(); // browsers ask for it: none, and no error in their console
    } else if (url === '/registrations') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(registrations ? { enabled: true, now: Date.now(), ...(registrations() as object) } : { enabled: false }));
    } else if (url === '/engines') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(engines.map((e) => ({ engine: e.engine, up: e.up, requests: Object.fromEntries(e.requests), stats: e.stats }))));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('sipproxy64: /, /metrics, /sessions, /engines, /registrations\n');
    }
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = REQUEST_SECONDS * 1000;
  server.requestTimeout = REQUEST_SECONDS * 1000;
  server.on('error', onError);
  server.on('clientError', (_e, sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.addr, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function metricsUrl(at: HostPort, path: string): string {
  return `http://${uriHost(at)}:${at.port}${path}`;
}
