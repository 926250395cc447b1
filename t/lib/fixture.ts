// Fixture runner core: a directory of plain files is a test (SPEC section 9).
//   config      the sipproxy64 config
//   route       one line per message: "FROM TO [tcp|tls]" (source, local address, transport)
//   1.sip, 2.sip, ...  the messages, exact bytes
//   hosts       (optional) "NAME ADDR [PORT [udp|tcp|tls]]" lines: names the masquerading mode
//               resolves, for the transport's SRV service (udp when none is given)
//   passwd      (optional) the registrar's password file, when the config names it
//   expected    what `sipproxy64 rewrite` prints for each message, in order, then a
//               "# media" section listing the relay sessions left open
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/core/engine.js';
import { Action } from '../../src/core/types.js';
import { formatActions } from '../../src/cli/rewrite.js';
import { parseHostPort, parseIp } from '../../src/net/addr.js';
import { engineFor } from './engine.js';

export interface CaseResult {
  output: string;
  actions: Action[][];
  engine: Engine;
}

export function listCases(root: string): string[] {
  return readdirSync(root)
    .filter((n) => statSync(join(root, n)).isDirectory())
    .sort();
}

export function messageFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^\d+\.sip$/.test(n))
    .sort((a, b) => parseInt(a) - parseInt(b));
}

export function runCase(dir: string): CaseResult {
  const { engine, masq } = engineFor(join(dir, 'config'));
  if (existsSync(join(dir, 'hosts'))) {
    for (const line of readFileSync(join(dir, 'hosts'), 'latin1').split('\n')) {
      const [name, addr, port, service] = line.trim().split(/\s+/);
      const a = addr ? parseIp(addr) : null;
      const svc = service === 'tcp' || service === 'tls' ? service : 'udp';
      if (name && a) masq?.names.set(name, a.family, { addr: a, port: port && port !== '-' ? Number(port) : undefined }, 86400, svc);
    }
  }
  const routes = readFileSync(join(dir, 'route'), 'latin1').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const files = messageFiles(dir);
  if (files.length !== routes.length) throw new Error(`${dir}: ${files.length} messages but ${routes.length} route lines`);
  let output = '';
  const actions: Action[][] = [];
  files.forEach((f, i) => {
    const [from, to, transport] = routes[i].trim().split(/\s+/);
    const src = parseHostPort(from);
    const dst = parseHostPort(to);
    if (!src || !dst) throw new Error(`${dir}/route line ${i + 1}: bad address`);
    const a = engine.handle(readFileSync(join(dir, f)), src, dst, transport === 'tcp' || transport === 'tls' ? transport : 'udp');
    actions.push(a);
    output += formatActions(a);
  });
  output += '# media\n';
  for (const s of engine.media.all()) {
    const p = (x: typeof s.party4) => (x ? `${x.addr ?? '-'}:${x.rtp}/${x.rtcp}${x.mux ? ' mux' : ''}` : '-');
    output += `${s.callId} #${s.index} port ${s.port} v4 ${p(s.party4)} v6 ${p(s.party6)}${s.established ? ' established' : ''}${engine.media.isHeld(s) ? ' held' : ''}\n`;
  }
  return { output, actions, engine };
}
