// Logging to stderr (journald): a plain one-line form, or JSON lines (SPEC section 7).

export type Level = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  readonly debugEnabled: boolean;
}

function plainValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(format: 'plain' | 'json', level: Level, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const max = ORDER[level];
  const emit = (lv: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lv] > max) return;
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level: lv, msg, ...fields }) + '\n');
    } else {
      let line = `${lv} ${msg}`;
      if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${plainValue(v)}`;
      write(line + '\n');
    }
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    debugEnabled: max >= ORDER.debug,
  };
}
