// `sipproxy64 status`: the registrations (masquerading mode, from the registrations file the
// daemon keeps) and the active media sessions (from its metrics endpoint, GET /sessions).
import { HostPort } from '../net/addr.js';
import type { StreamInfo } from '../daemon/relay.js';
import { metricsUrl } from '../daemon/metrics.js';

/** A failure at run time (exit status 1), reported by its message alone. */
export class RuntimeError extends Error {}

/**
 * A value as the terminal may show it: control characters (C0, DEL, C1) as \xNN. A Call-ID, a
 * user or a contact is a stranger's text, and an escape sequence in it would drive the
 * operator's terminal (its title, its clipboard, what the screen shows): SPEC 11.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, hex);
}

/** Whole messages for a terminal: as printable, but tabs and line ends stay what they are. */
export function printableText(s: string): string {
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g, hex);
}

/** One character as \xNN. */
const hex = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Rows as columns padded to their widest cell, two spaces apart; every cell printable. */
function columns(raw: string[][]): string {
  const rows = raw.map((r) => r.map(printable));
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export function sessionsTable(list: StreamInfo[]): string {
  const head = ['CALL-ID', '#', 'PORT', 'IPV4 PARTY', 'IPV6 PARTY', 'PKTS>V4', 'PKTS>V6', 'AGE', 'IDLE', 'LOST V4/V6', 'JITTER MS V4/V6'];
  // Lost and jitter of what each party sends (RFC 3550); an older daemon has no quality figures.
  const q = (s: StreamInfo, f: (x: StreamInfo['from4']) => string): string => (s.from4 && s.from6 ? `${f(s.from4)}/${f(s.from6)}` : '-');
  const rows = list.map((s) => [s.callId, String(s.index), String(s.port), s.party4 ?? '-', s.party6 ?? '-', String(s.packets4), String(s.packets6), `${s.ageSeconds}s`, `${s.idleSeconds}s${s.held ? ' (held)' : ''}`, q(s, (x) => String(x.lost)), q(s, (x) => x.jitterMs.toFixed(1))]);
  const verdicts = list.filter((s) => s.verdict).map((s) => printable(`${s.callId} #${s.index}: ${s.verdict}`));
  return columns([head, ...rows]) + `\n${list.length} media stream${list.length === 1 ? '' : 's'}\n` + (verdicts.length ? `\nVERDICTS\n${verdicts.join('\n')}\n` : '');
}

/** Registrar bindings and phones registered elsewhere through us, with their time left. */
export function registrationsTable(saved: unknown, now: number): string {
  const d = (saved ?? {}) as { registrar?: unknown; outbound?: unknown };
  const rows: string[][] = [['KIND', 'USER', 'CONTACT', 'FROM', 'EXPIRES']];
  for (const [kind, list] of [['registrar', d.registrar], ['outbound', d.outbound]] as const) {
    if (!Array.isArray(list)) continue;
    for (const x of list as Array<{ aor: string; bindings: Array<{ contact: string; expires: number; source: string }> }>) {
      for (const b of x.bindings ?? []) {
        if (b.expires > now) rows.push([kind, x.aor, b.contact, b.source, `${Math.round((b.expires - now) / 1000)}s`]);
      }
    }
  }
  return columns(rows) + `\n${rows.length - 1} registration${rows.length === 2 ? '' : 's'}\n`;
}

export async function runStatus(at: HostPort): Promise<string> {
  const url = metricsUrl(at, '/sessions');
  // media-engine rtpengine: each engine, whether it answers, its sessions (an older daemon has no /engines).
  const engines = fetch(metricsUrl(at, '/engines'), { signal: AbortSignal.timeout(5000) }).then((r) => (r.ok ? r.json() : []), () => []);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new RuntimeError(`cannot reach ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message} (is the daemon running with a metrics directive?)`);
  }
  if (!res.ok) throw new RuntimeError(`${url}: HTTP ${res.status}`);
  const table = sessionsTable((await res.json()) as StreamInfo[]);
  const eng: unknown = await engines;
  return (Array.isArray(eng) && eng.length > 0 ? enginesTable(eng as EngineRow[]) + '\n' : '') + table;
}

interface EngineRow { engine: string; up: boolean; requests: Record<string, number>; stats: Record<string, number> }

/** The media engines: up or down, our requests, and the sessions each reports. */
export function enginesTable(list: EngineRow[]): string {
  const sum = (r: Record<string, number>, re: RegExp): string => String(Object.entries(r).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0));
  const rows = list.map((e) => [`rtpengine ${e.engine}`, e.up ? 'up' : 'DOWN', sum(e.requests, / ok$/), sum(e.requests, / (error|timeout)$/), sum(e.stats, /sessionsown$/i)]);
  return columns([['MEDIA ENGINE', 'STATE', 'REQUESTS OK', 'FAILED', 'SESSIONS'], ...rows]) + '\n';
}
