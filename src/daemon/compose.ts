// The composition root: which modes a config asks for, handed to the pure engine as planners.
// The daemon, `sipproxy64 rewrite`, the fixtures and the benches build their engine here.
import { Config } from '../config/config.js';
import { Engine, EngineDeps } from '../core/engine.js';
import { keyring, TEST_SECRET } from '../core/mac.js';
import { MasqPlanner } from '../masq/planner.js';
import { loadUsers } from './masq.js';

export interface Built {
  readonly engine: Engine;
  readonly masq: MasqPlanner | null; // masquerading (inbound and outbound), if configured
}

/** The engine a config describes; reads the registrar's password file (MasqError if it cannot). */
export function buildEngine(cfg: Config, deps: Omit<EngineDeps, 'planners'> = {}): Built {
  const secret = deps.secret ?? TEST_SECRET;
  const { inbound, outbound } = cfg;
  const masq = inbound && outbound
    ? new MasqPlanner({ ...cfg, inbound, outbound }, loadUsers(cfg), keyring(secret, deps.hasher), secret, deps.now)
    : null;
  return { engine: new Engine(cfg, { ...deps, secret, planners: masq ? [masq] : [] }), masq };
}
