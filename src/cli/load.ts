// Config from a file plus command-line flags; flags win (SPEC section 8).
import { readFileSync } from 'node:fs';
import { applyDirective, Config, ConfigError, defaultConfig, DIRECTIVES, parseConfig, validate } from '../config/config.js';

export type DirectiveFlags = Partial<Record<string, string | string[] | undefined>>;

/** camelCase meow flag name for a directive ("rtp-ports" -> "rtpPorts"). */
export const flagKey = (d: string): string => d.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function loadConfig(file: string | undefined, flags: DirectiveFlags, partial = false): Config {
  const cfg = defaultConfig();
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (e) {
      throw new ConfigError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    parseConfig(text, file, cfg);
  }
  for (const d of DIRECTIVES) {
    const v = flags[flagKey(d)];
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) {
      if (d === 'map') {
        const eq = x.lastIndexOf('=');
        if (eq <= 0) throw new ConfigError('--map', `expected REAL=FACE[,udp|tcp|tls], got "${x}"`);
        applyDirective(cfg, '--map', 'map', [x.slice(0, eq), ...x.slice(eq + 1).split(',')]);
      } else if (d === 'advertise' || d === 'outbound-proxy') {
        const [a, b, ...rest] = x.split('=');
        if (!a || !b || rest.length) throw new ConfigError(`--${d}`, `expected ${d === 'advertise' ? 'LOCAL=PUBLIC' : 'DOMAIN=HOST[:PORT]'}, got "${x}"`);
        applyDirective(cfg, `--${d}`, d, [a, b]);
      } else if (d === 'media-engine') applyDirective(cfg, '--media-engine', d, x.split(/[=,]/));
      else if (d === 'hep') applyDirective(cfg, '--hep', d, x.split(','));
      else applyDirective(cfg, `--${d}`, d, [x]);
    }
  }
  return partial ? cfg : validate(cfg, file ?? 'command line');
}
