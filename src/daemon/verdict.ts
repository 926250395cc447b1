// A plain verdict for each stream (issue 19; sipproxy64(8) TROUBLESHOOTING): what an operator
// asks first about a call with bad audio, answered from what the relay counted. Pure.
import { parseHostPort, prefix64 } from '../net/addr.js';
import { Peer, peerText } from './datapath.js';
import { Quality } from './quality.js';

export type VerdictKind = 'ok' | 'one-way' | 'never-latched' | 'held' | 'no-media' | 'waiting';

export interface Verdict {
  readonly kind: VerdictKind;
  readonly text: string;
}

/** How long silence is silence: a party that sent nothing for this long is not sending. */
export const SILENT_MS = 5000;

export interface StreamState {
  readonly held: boolean;
  readonly ageMs: number;
  readonly q: readonly [Quality, Quality]; // what the party of each side sends: [side 4, side 6]
  readonly parties: readonly [string | null, string | null]; // each side's party (latched, else advertised)
}

/** Which rtp-latch mode would take packets from `src` for a party at `party` (its advertised address). */
function latchHint(src: Peer, party: string | null): string {
  const p = party !== null ? parseHostPort(party) : null;
  const sameNet = p !== null && p.family === 6 && src.addr.includes(':') && prefix64(p.addr) === prefix64(src.addr);
  return sameNet ? 'rtp-latch prefix would accept it' : 'only rtp-latch any would accept it';
}

/**
 * The verdict: held; waiting (a young stream with no media yet); never latched (packets
 * arrive only from a source that is not the party's); one-way; no media at all; else ok.
 * `names`: how the two sides are called (IPv4 and IPv6; LAN and public when masquerading).
 */
export function verdictOf(s: StreamState, names: readonly [string, string]): Verdict {
  if (s.held) return { kind: 'held', text: 'held' };
  const silent = (q: Quality): boolean => q.idleMs === null || q.idleMs >= SILENT_MS;
  const silence = (q: Quality): number => Math.round((q.idleMs ?? s.ageMs) / 1000);
  const [a, b] = s.q;
  if (!silent(a) && !silent(b)) return { kind: 'ok', text: 'ok' };
  const foreignOnly = [0, 1].filter((i) => s.q[i].packets === 0 && s.q[i].foreign > 0 && s.q[i].foreignFrom);
  if (foreignOnly.length > 0) {
    const i = foreignOnly[0];
    const src = s.q[i].foreignFrom as Peer;
    return { kind: 'never-latched', text: `never latched: packets for the ${names[i]} side arrive only from ${peerText(src)}, not the party's address${s.parties[i] ? ` (${s.parties[i]})` : ''}; ${latchHint(src, s.parties[i])}` };
  }
  if (silent(a) && silent(b)) {
    if (a.packets === 0 && b.packets === 0 && s.ageMs < SILENT_MS) return { kind: 'waiting', text: 'waiting for media' };
    return { kind: 'no-media', text: a.packets === 0 && b.packets === 0 ? 'no media at all' : `no media either way for ${Math.min(silence(a), silence(b))} s` };
  }
  const i = silent(a) ? 0 : 1;
  const q = s.q[i];
  if (q.packets === 0 && s.ageMs < SILENT_MS) return { kind: 'waiting', text: `waiting for media from the ${names[i]} party` };
  return { kind: 'one-way', text: `one-way: no media from the ${names[i]} party for ${silence(q)} s while the ${names[1 - i]} party sends` };
}
