#!/usr/bin/env node
// sipproxy64 command line (meow): the daemon, `rewrite`, `--check-config`.
import { readFileSync, writeFileSync } from 'node:fs';
import meow from 'meow';
import { ConfigError } from '../config/config.js';
import { loadConfig } from './load.js';
import { FLAGS, HELP } from './flags.js';
import { printableText, registrationsTable, RuntimeError, runStatus } from './status.js';
import { buildEngine } from '../daemon/compose.js';
import { MasqError } from '../daemon/masq.js';
import { readJson } from '../daemon/store.js';
import { PRODUCT, VERSION } from '../version.js';
import { runPcap, runRewrite, runRewriteResolving, UsageError } from './rewrite.js';
import { PcapError, PcapWriter } from './pcap.js';
import { readSecret, SecretError } from '../daemon/secret.js';
import { createLogger } from '../daemon/log.js';
import { startDaemon, StartupError } from '../daemon/daemon.js';
import { UplinkResolver } from '../daemon/resolver.js';
import { mappingTable } from './table.js';
import { checksTable, hostChecks } from './hostcheck.js';

function main(argv: string[]): number | Promise<number> {
  const cli = meow(HELP, {
    importMeta: import.meta,
    argv,
    allowUnknownFlags: false,
    autoHelp: true,
    autoVersion: false,
    version: VERSION,
    flags: FLAGS,
  });
  const f = cli.flags as Record<string, unknown>;
  if (f.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [cmd, ...rest] = cli.input;
  if (rest.length > 0 || (cmd !== undefined && cmd !== 'rewrite' && cmd !== 'status')) {
    throw new UsageError(`unknown command "${cli.input.join(' ')}" (try --help)`);
  }
  const file = (f.config as string | undefined) ?? (cmd === 'rewrite' || (cmd === 'status' && f.metrics) ? undefined : '/etc/sipproxy64.conf');
  const cfg = loadConfig(file, f as Record<string, string | string[] | undefined>, cmd === 'status');
  if (f.checkConfig) {
    process.stdout.write(mappingTable(cfg));
    if (!f.host) return 0;
    return hostChecks(cfg).then((checks) => {
      process.stdout.write('\n' + checksTable(checks));
      return checks.some((c) => c.level === 'error') ? 2 : 0;
    });
  }
  if (f.host) throw new UsageError('--host goes with --check-config');
  if (cmd === 'status') {
    const masq = cfg.inbound !== null;
    if (!cfg.metrics && !masq) throw new UsageError('status needs the metrics address: a metrics directive in the config, or --metrics');
    let regs = '';
    if (masq) {
      try {
        regs = registrationsTable(readJson(cfg.registrations), Date.now());
      } catch (e) {
        throw new RuntimeError(`cannot read ${cfg.registrations}: ${(e as Error).message}`);
      }
    }
    if (!cfg.metrics) {
      process.stdout.write(regs);
      return 0;
    }
    return runStatus(cfg.metrics).then((text) => {
      process.stdout.write(regs + (regs ? '\n' : '') + text);
      return 0;
    });
  }
  if (cmd === 'rewrite') {
    const transport = (f.transport as string | undefined) ?? 'udp';
    if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') throw new UsageError(`--transport takes udp, tcp or tls, got "${transport}"`);
    if (typeof f.pcap === 'string') return rewritePcap(cfg, f.pcap, typeof f.write === 'string' ? f.write : null, transport === 'tls' ? 'tls' : 'tcp');
    if (typeof f.from !== 'string' || typeof f.to !== 'string') throw new UsageError('rewrite needs --from ADDR:PORT and --to ADDR:PORT (or --pcap FILE)');
    const input = readFileSync(0);
    const { engine, masq } = offlineEngine(cfg);
    const from = f.from;
    const to = f.to;
    const write = (text: string): number => {
      process.stdout.write(forStdout(text));
      return 0;
    };
    if (masq) return runRewriteResolving(engine, masq.names, input, from, to, transport).then(write);
    if (engine.map.uplinks().length === 0) return write(runRewrite(engine, input, from, to, transport));
    // Uplinks named by host name are resolved as the daemon would (RFC 3263), once.
    const resolver = new UplinkResolver(engine.map, createLogger('plain', 'warn'));
    return resolver.start().then(() => {
      resolver.stop();
      return write(runRewrite(engine, input, from, to, transport));
    });
  }
  const format = (f.logFormat as string | undefined) ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`--log-format takes plain or json, got "${format}"`);
  const log = createLogger(format, f.verbose || f.debug ? 'debug' : 'info');
  return runDaemon(cfg, log);
}

/**
 * rewrite's output: the exact bytes into a file or a pipe; on a terminal, control characters
 * but tab and line ends as \xNN (SPEC 11: a captured stranger's message must not drive it).
 */
function forStdout(text: string): Buffer {
  return Buffer.from(process.stdout.isTTY ? printableText(text) : text, 'latin1');
}

/** The engine of `rewrite`: the config's secret when it names one (then branches and tokens are the daemon's), else the fixed test key. */
function offlineEngine(cfg: ReturnType<typeof loadConfig>): ReturnType<typeof buildEngine> {
  try {
    return buildEngine(cfg, { product: PRODUCT, ...(cfg.secret ? { secret: readSecret(cfg.secret).keys } : {}) });
  } catch (e) {
    if (e instanceof MasqError) throw new ConfigError('passwd', e.message);
    if (e instanceof SecretError) throw new ConfigError('secret', e.message);
    throw e;
  }
}

/** rewrite --pcap IN [--write OUT]: the capture through one engine; what it would send, as a capture. */
async function rewritePcap(cfg: ReturnType<typeof loadConfig>, file: string, out: string | null, tcpAs: 'tcp' | 'tls'): Promise<number> {
  let capture: Buffer;
  try {
    capture = readFileSync(file);
  } catch (e) {
    throw new UsageError(`--pcap ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const built = offlineEngine(cfg);
  const resolver = new UplinkResolver(built.engine.map, createLogger('plain', 'warn'));
  await resolver.start();
  resolver.stop();
  const writer = out ? new PcapWriter() : null;
  let text: string;
  try {
    text = await runPcap(built.engine, built.masq?.names ?? null, capture, tcpAs, writer);
  } catch (e) {
    if (e instanceof PcapError) throw new UsageError(`--pcap ${file}: ${e.message}`);
    throw e;
  }
  process.stdout.write(forStdout(text));
  if (writer && out) writeFileSync(out, writer.toBuffer());
  return 0;
}

/** Run until a signal: HUP drains (SPEC 7), USR1 reopens the call log, TERM/INT stop now. */
async function runDaemon(cfg: ReturnType<typeof loadConfig>, log: ReturnType<typeof createLogger>): Promise<number> {
  let d: Awaited<ReturnType<typeof startDaemon>>;
  try {
    d = await startDaemon(cfg, log, PRODUCT);
  } catch (err) {
    if (err instanceof StartupError) {
      log.error(err.message);
      return 2;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    process.on('SIGHUP', () => {
      log.info('SIGHUP: draining');
      void d.drain().then(() => {
        log.info('drained; exiting');
        resolve(0);
      });
    });
    process.on('SIGUSR1', () => {
      log.info('SIGUSR1: reopening the call log');
      d.reopen();
    });
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => {
        log.info(`${sig}: exiting`);
        d.stop();
        resolve(0);
      });
    }
  });
}

function fail(e: unknown): number {
  if (e instanceof ConfigError || e instanceof UsageError) {
    process.stderr.write(`sipproxy64: ${e.message}\n`);
    return 2;
  }
  if (e instanceof RuntimeError) {
    process.stderr.write(`sipproxy64: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`sipproxy64: ${(e as Error).stack ?? String(e)}\n`);
  return 1;
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`sipproxy64: uncaught: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

try {
  const r = main(process.argv.slice(2));
  if (typeof r === 'number') process.exitCode = r;
  else r.then((code) => process.exit(code), (e) => process.exit(fail(e)));
} catch (e) {
  process.exitCode = fail(e);
}
