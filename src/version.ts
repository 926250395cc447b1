// The package version, read once from package.json (found by walking up from this file).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'sipproxy64' && j.version) return j.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const VERSION = find();
export const PRODUCT = `sipproxy64/${VERSION}`;
