// `sipproxy64 rewrite`: one message through the engine, offline (SPEC section 8).
import { Action } from '../core/types.js';
import { Engine } from '../core/engine.js';
import type { Transport } from '../core/transport.js';
import { formatHostPort, HostPort, parseHostPort } from '../net/addr.js';
import { DnsApi, systemDns } from '../daemon/resolver.js';
import { resolveName } from '../daemon/masq.js';
import type { NameCache } from '../masq/names.js';
import { PcapWriter, sipPackets } from './pcap.js';

/** The text form of the engine's answer: `send SRC DST` + the exact bytes, or `drop REASON`. */
export function formatActions(actions: Action[]): string {
  let out = '';
  for (const a of actions) {
    if (a.type === 'send') out += `send ${formatHostPort(a.from)} ${formatHostPort(a.to)}${a.transport === 'udp' ? '' : ' ' + a.transport}\n${a.data}`;
    else if (a.type === 'drop') out += `drop ${a.reason.code}\n`;
    else if (a.type === 'media') {
      // Offline no engine is asked: its SDP is shown as the message's own.
      out += `media ${a.ng.command} call-id=${a.key}${a.ng['address family'] ? ` address-family=${a.ng['address family']}` : ''}\n`;
      if (a.then) out += formatActions(a.then(typeof a.ng.sdp === 'string' ? a.ng.sdp : ''));
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
  let out = engine.handle(input, src, dst, transport);
  for (let i = 0; i < 4 && out[0]?.type === 'resolve'; i++) {
    const a = out[0];
    await resolveName(names, api, a.name, a.family);
    out = a.retry();
  }
  return formatActions(out);
}

/** What the engine's actions send, flattened (a media engine's SDP offline: the message's own). */
function sends(actions: Action[]): Array<Extract<Action, { type: 'send' }>> {
  return actions.flatMap((a) => (a.type === 'send' ? [a] : a.type === 'media' && a.then ? sends(a.then(typeof a.ng.sdp === 'string' ? a.ng.sdp : '')) : []));
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
    let out = engine.handle(p.data, p.src, p.dst, p.transport);
    for (let i = 0; names && i < 4 && out[0]?.type === 'resolve'; i++) {
      const a = out[0];
      await resolveName(names, api, a.name, a.family);
      out = a.retry();
    }
    text += `# packet ${p.n} ${new Date(p.tsUs / 1000).toISOString()} ${formatHostPort(p.src)} -> ${formatHostPort(p.dst)} ${p.transport}\n` + formatActions(out);
    if (writer) for (const s of sends(out)) writer.add(p.tsUs, s.from, s.to, s.transport, Buffer.from(s.data, 'latin1'));
  }
  return text + `# ${packets.length} SIP message${packets.length === 1 ? '' : 's'} in the capture\n`;
}

function parseOrThrow(text: string, flag: string): HostPort {
  const hp = parseHostPort(text);
  if (!hp) throw new UsageError(`${flag} takes ADDR:PORT (192.0.2.1:5060 or [2001:db8::1]:5060), got "${text}"`);
  return hp;
}

export class UsageError extends Error {}
