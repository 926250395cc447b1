// `sipproxy64 rewrite`: one message through the engine, offline (SPEC section 8).
import { Action } from '../core/types.js';
import { Engine } from '../core/engine.js';
import type { Transport } from '../core/transport.js';
import { formatHostPort, HostPort, parseHostPort } from '../net/addr.js';
import { DnsApi, systemDns } from '../daemon/resolver.js';
import { resolveName } from '../daemon/masq.js';
import type { NameCache } from '../masq/names.js';
import { PcapWriter, sipPackets } from './pcap.js';

/** The text form of the engine's answer: `send SRC DST` + the exact bytes, or `drop REASON`; `sink` sees each send. */
export function formatActions(actions: Action[], sink?: (s: Extract<Action, { type: 'send' }>) => void): string {
  let out = '';
  for (const a of actions) {
    if (a.type === 'send') {
      sink?.(a);
      out += `send ${formatHostPort(a.from)} ${formatHostPort(a.to)}${a.transport === 'udp' ? '' : ' ' + a.transport}${a.flow ? ' flow ' + a.flow : ''}${a.reopen ? ' reopen ' + formatHostPort(a.reopen) : ''}${a.registration ? ` lasts ${a.registration.lasts} for ${a.registration.aor}` : ''}\n${a.data}`;
    } else if (a.type === 'drop') out += `drop ${a.reason.code}\n`;
    else if (a.type === 'media') {
      // Offline no engine is asked: its SDP is shown as the message's own.
      out += `media ${a.ng.command} call-id=${a.key}${a.ng['address family'] ? ` address-family=${a.ng['address family']}` : ''}\n`;
      if (a.then) out += formatActions(a.then(typeof a.ng.sdp === 'string' ? a.ng.sdp : ''), sink);
    } else out += `resolve ${a.name} IPv${a.family}\n`;
  }
  return out;
}

export function runRewrite(engine: Engine, input: Buffer, from: string, to: string, transport: Transport = 'udp'): string {
  const src = parseOrThrow(from, '--from');
  const dst = parseOrThrow(to, '--to');
  return formatActions(engine.handle(input, src, dst, transport));
}

/** As runRewrite, resolving the host names masquerading asks for (RFC 3263) as the daemon would. */
export async function runRewriteResolving(engine: Engine, names: NameCache, input: Buffer, from: string, to: string, transport: Transport, api: DnsApi = systemDns): Promise<string> {
  const src = parseOrThrow(from, '--from');
  const dst = parseOrThrow(to, '--to');
  return formatActions(await settled(engine.handle(input, src, dst, transport), names, api));
}

/** The host names masquerading asks for (RFC 3263), resolved as the daemon would, then the actions. */
async function settled(first: Action[], names: NameCache | null, api: DnsApi): Promise<Action[]> {
  let out = first;
  for (let i = 0; names && i < 4 && out[0]?.type === 'resolve'; i++) {
    const a = out[0];
    await resolveName(names, api, a.name, a.family, a.service);
    out = a.retry();
  }
  return out;
}

/**
 * `rewrite --pcap`: every SIP message of a capture through one engine, in order, from and to
 * the addresses of its packet; the output of `rewrite` for each, under a line naming the
 * packet. With `writer`, what the proxy would have sent, as a capture.
 */
export async function runPcap(engine: Engine, names: NameCache | null, capture: Buffer, tcpAs: 'tcp' | 'tls', writer: PcapWriter | null, api: DnsApi = systemDns): Promise<string> {
  let text = '';
  const packets = sipPackets(capture, tcpAs);
  for (const p of packets) {
    const out = await settled(engine.handle(p.data, p.src, p.dst, p.transport), names, api);
    text += `# packet ${p.n} ${new Date(p.tsUs / 1000).toISOString()} ${formatHostPort(p.src)} -> ${formatHostPort(p.dst)} ${p.transport}\n`;
    text += formatActions(out, writer ? (s) => writer.add(p.tsUs, s.from, s.to, s.transport, Buffer.from(s.data, 'latin1')) : undefined);
  }
  return text + `# ${packets.length} SIP message${packets.length === 1 ? '' : 's'} in the capture\n`;
}

function parseOrThrow(text: string, flag: string): HostPort {
  const hp = parseHostPort(text);
  if (!hp) throw new UsageError(`${flag} takes ADDR:PORT (192.0.2.1:5060 or [2001:db8::1]:5060), got "${text}"`);
  return hp;
}

export class UsageError extends Error {}
