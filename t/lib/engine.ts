// Build an engine from a config for a test, as the daemon does (daemon/compose.ts): the
// fixtures, the torture and fuzz tests and the unit tests share this one way.
import { readFileSync } from 'node:fs';
import { Config, parseConfig, validate } from '../../src/config/config.js';
import { EngineDeps } from '../../src/core/engine.js';
import { Built, buildEngine } from '../../src/daemon/compose.js';
import { PRODUCT } from '../../src/version.js';

/** A config from its text; `file` names it in errors and is where relative paths start. */
export function configOf(text: string, file = 'test'): Config {
  return validate(parseConfig(text, file));
}

/** The engine (and masquerading, when configured) of a config file, at time 0 by default; `extra` directives are added. */
export function engineFor(configFile: string, deps: Omit<EngineDeps, 'planners'> = {}, extra = ''): Built {
  return buildEngine(configOf(readFileSync(configFile, 'latin1') + '\n' + extra, configFile), { product: PRODUCT, now: () => 0, ...deps });
}

/** The same from config text. */
export function engineOf(text: string, deps: Omit<EngineDeps, 'planners'> = {}): Built {
  return buildEngine(configOf(text), { product: PRODUCT, now: () => 0, ...deps });
}
