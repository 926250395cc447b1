// The key of every MAC the proxy writes (Record-Route received=, Via branches, masquerading
// tokens, digest nonces): `secret FILE`, so that instances sharing it accept each other's
// dialogs; else derived from /etc/machine-id, the same across restarts of this host and
// unknown outside it (SPEC 3, 11).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export class SecretError extends Error {}

/** A key from a line of text: SHA-256 of it, so any length and alphabet serves. */
function derive(text: string): Buffer {
  return createHash('sha256').update('sipproxy64 record-route key\n' + text).digest();
}

/**
 * `secret FILE`: one or two keys, a line each ("#" comments and blank lines skipped); the
 * first signs, both verify (rotation: add the new key as the first line on every instance,
 * then, after the longest call, remove the old one). Each at least 32 characters
 * (`openssl rand -hex 32`). Returns the keys and a warning when others may read the file.
 */
export function readSecret(file: string): { keys: Buffer[]; warning: string | null } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SecretError(`cannot read secret ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0 || lines.length > 2) throw new SecretError(`secret ${file}: one key a line, one or two keys (the first signs), found ${lines.length}`);
  const short = lines.findIndex((l) => l.length < 32);
  if (short >= 0) throw new SecretError(`secret ${file}: key ${short + 1} is shorter than 32 characters (make one with: openssl rand -hex 32)`);
  const mode = statSync(file).mode;
  return { keys: lines.map(derive), warning: mode & 0o044 ? `secret ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); anyone who reads it can forge Record-Route and tokens: chmod 600` : null };
}

/** The host's own key: the same across restarts of this host, from its machine id. */
export function hostSecret(): Buffer {
  let id = '';
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      id = readFileSync(f, 'utf8').trim();
      if (id) break;
    } catch {
      /* try the next */
    }
  }
  if (!id) id = randomBytes(16).toString('hex'); // no machine id: dialogs do not survive a restart
  return derive(id);
}
