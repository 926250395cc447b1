// The registrar against guessing (SPEC 11): failed authentications are counted per source
// (an IPv4 address or an IPv6 /64: the caller's sourceKey) and per user; a source that fails
// `threshold` times is refused (403 auth-backoff) for a back-off that doubles each time it
// earns one, up to an hour. A user whose password is being guessed from many addresses makes
// every source that fails for it earn the back-off at its first failure; the user's own
// phone, whose credentials are right, is never locked out.
// Pure (time injected) and bounded: the oldest entries go first.

import { detached } from '../net/strings.js';

interface SourceState {
  fails: number;
  last: number; //  time of the last failure
  until: number; // refused until then
  level: number; // back-offs earned so far (the next one lasts base * 2**level)
}

const MAX_MS = 3_600_000;
const MAX_ENTRIES = 65536;

export class AuthGuard {
  private readonly sources = new Map<string, SourceState>();
  private readonly users = new Map<string, { fails: number; last: number }>();

  constructor(private readonly now: () => number, private readonly threshold: number, private readonly baseMs: number) {}

  /** Milliseconds this source is still refused for, or 0. */
  refusedFor(source: string): number {
    const s = this.sources.get(source);
    return s ? Math.max(0, s.until - this.now()) : 0;
  }

  /** A REGISTER from `source` carried credentials that did not verify (for `user`, if named). */
  failed(source: string, user: string | null): void {
    const t = this.now();
    const s = touch(this.sources, source, () => ({ fails: 0, last: t, until: 0, level: 0 }));
    if (t - s.last > MAX_MS) s.fails = 0; // an old failure is forgiven
    s.fails++;
    s.last = t;
    let attacked = false;
    if (user !== null) {
      const u = touch(this.users, user, () => ({ fails: 0, last: t }));
      if (t - u.last > MAX_MS) u.fails = 0;
      u.fails++;
      u.last = t;
      attacked = u.fails >= this.threshold;
    }
    if (s.fails >= this.threshold || attacked) {
      s.until = t + Math.min(MAX_MS, this.baseMs * 2 ** s.level);
      s.level = Math.min(s.level + 1, 20);
      s.fails = 0;
    }
  }

  /** Right credentials: the source starts afresh. */
  succeeded(source: string): void {
    this.sources.delete(source);
  }
}

/** The entry for `key`, made by `make` if absent; moved to the end (newest); the oldest go past the bound. */
function touch<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v !== undefined) map.delete(key);
  else v = make();
  map.set(detached(key), v); // a user's name comes from a stranger's Authorization (net/strings.ts)
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
  return v;
}
