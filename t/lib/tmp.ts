// A test's scratch directory: made under the system's temporary one, removed when the
// test that asked for it ends (pass or fail), so a suite run leaves nothing in /tmp.
// SP64_KEEP_TMP=1 keeps them, to read a failed run's files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => removeTemp(dir));
  return dir;
}

export function removeTemp(dir: string): void {
  if (!process.env.SP64_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}
