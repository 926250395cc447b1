// Logging to stderr (journald): a plain one-line form, or JSON lines (SPEC section 7).
import { pino } from 'pino';

export type Level = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  readonly debugEnabled: boolean;
}

/** What a plain value may not hold bare: spaces, quotes, '=', and every control character (C0, DEL, C1). */
const QUOTED = /[\s"=\x00-\x1f\x7f-\x9f]/;

/**
 * A field value in the plain form. SPEC 11: a stranger's Call-ID or request line may carry
 * terminal escapes (ESC, or C1's CSI); quoted, each control character is written as an escape.
 */
export function plainValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (!QUOTED.test(s)) return s;
  return jsonC1(JSON.stringify(s));
}

/**
 * JSON text with DEL and C1 written as \u escapes: JSON.stringify and pino escape only C0,
 * and a terminal that shows the log or call log (tail -f) obeys C1's CSI (SPEC 11). The
 * same JSON value: a parser reads the escape back as the character.
 */
export function jsonC1(json: string): string {
  return json.replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** JSON lines through pino (the choice; fast, and the format log shippers expect). */
function jsonLogger(level: Level, write?: (line: string) => void): Logger {
  const fd2 = write ? null : pino.destination({ fd: 2, sync: true });
  const out = write ?? ((line: string): void => void fd2?.write(line));
  const dest = { write: (line: string): void => out(jsonC1(line)) };
  const p = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, dest);
  return {
    error: (m, f) => p.error(f ?? {}, m),
    warn: (m, f) => p.warn(f ?? {}, m),
    info: (m, f) => p.info(f ?? {}, m),
    debug: (m, f) => p.debug(f ?? {}, m),
    debugEnabled: ORDER[level] >= ORDER.debug,
  };
}

/** Warning and error lines of one message text per minute, before the rest are only counted. */
export const REPEATS = 10;
const WINDOW_MS = 60_000;
const MAX_TEXTS = 1024;

/**
 * SPEC 11: a stranger can repeat what a warning reports (a send that fails, a next hop that
 * refuses, a bug) as fast as flood-limit lets it. Each message text is written at most
 * REPEATS times a minute; the first line after a window that held more says how many were
 * not written (suppressed=N). Counters and metrics count every one. Time is injected.
 */
export function repeatGate(now: () => number): (msg: string) => number | null {
  const seen = new Map<string, { start: number; n: number; quiet: number }>();
  return (msg) => {
    const t = now();
    const w = seen.get(msg);
    if (w === undefined || t - w.start >= WINDOW_MS) {
      if (w === undefined && seen.size >= MAX_TEXTS) seen.delete(seen.keys().next().value as string);
      seen.set(msg, { start: t, n: 1, quiet: 0 });
      return w?.quiet ?? 0;
    }
    if (++w.n <= REPEATS) return 0;
    w.quiet++;
    return null;
  };
}

/** Warnings and errors through repeatGate; info and debug as they come. */
function gated(log: Logger, now: () => number): Logger {
  const gate = repeatGate(now);
  const pass = (lv: 'error' | 'warn') => (m: string, f?: Record<string, unknown>): void => {
    const quiet = gate(m);
    if (quiet !== null) log[lv](m, quiet ? { ...f, suppressed: quiet } : f);
  };
  return { error: pass('error'), warn: pass('warn'), info: log.info, debug: log.debug, debugEnabled: log.debugEnabled };
}

export function createLogger(format: 'plain' | 'json', level: Level, write?: (line: string) => void, now: () => number = Date.now): Logger {
  return gated(ungated(format, level, write), now);
}

function ungated(format: 'plain' | 'json', level: Level, write?: (line: string) => void): Logger {
  if (format === 'json') return jsonLogger(level, write);
  const out = write ?? ((l: string) => process.stderr.write(l));
  const max = ORDER[level];
  const emit = (lv: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lv] > max) return;
    let line = `${lv} ${msg}`;
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${plainValue(v)}`;
    out(line + '\n');
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    debugEnabled: max >= ORDER.debug,
  };
}
