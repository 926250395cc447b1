// The mapping table as --check-config prints it.
import { Config } from '../config/config.js';
import { uriHost } from '../net/addr.js';

export function mappingTable(cfg: Config): string {
  const rows: string[][] = [['REAL', 'FACE', 'WHERE']];
  let prefix: string | undefined;
  for (const m of cfg.maps) {
    // A prefix map line is one row, however many hosts it holds.
    if (m.prefix && m.prefix === prefix) continue;
    prefix = m.prefix;
    if (m.prefix) {
      const [real, face] = m.prefix.split(' ');
      rows.push([real, face, `${m.where} (${cfg.maps.filter((x) => x.prefix === m.prefix && x.where === m.where).length} faces)`]);
      continue;
    }
    const real = m.real ? uriHost(m.real) : (m.name as string);
    rows.push([m.realPort ? `${real}:${m.realPort}` : real, m.facePort ? `${uriHost(m.face)}:${m.facePort}` : m.face.addr, m.where]);
  }
  for (const l of cfg.prefixLines) rows.push([l.real.text, l.face.text, `${l.where} (${2 ** (l.real.bytes.length * 8 - l.real.len)} faces, on ${l.face.family === 6 ? '[::]' : '0.0.0.0'}:${cfg.sipPort})`]);
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`);
  return [
    `sip-port ${cfg.sipPort}  sip-io ${cfg.sipIo}`,
    `generic4 ${cfg.generic4?.addr ?? '-'}  generic6 ${cfg.generic6?.addr ?? '-'}`,
    `media4 ${cfg.media4?.addr ?? '-'}  media6 ${cfg.media6?.addr ?? '-'}  rtp-ports ${cfg.rtpPorts[0]}-${cfg.rtpPorts[1]}  rtp-timeout ${cfg.rtpTimeout}  rtp-latch ${cfg.rtpLatch}`,
    `media-datapath ${cfg.mediaDatapath}  media-threads ${cfg.mediaThreads || 'one per core'}  media-io ${cfg.mediaIo}`,
    `keep-user-agent ${cfg.keepUserAgent ? 'yes' : 'no'}  metrics ${cfg.metrics ? `${uriHost(cfg.metrics)}:${cfg.metrics.port}` : 'off'}`,
    ...(cfg.inbound
      ? [
          `inbound ${cfg.inbound.addr}/${cfg.inboundPrefix ?? '(interface)'}  outbound ${cfg.outbound ? [cfg.outbound, cfg.outbound2].filter((a) => a).map((a) => a?.addr).join(' ') : cfg.outboundName ?? `if:${cfg.outboundIface}`}${cfg.outboundName || cfg.outboundIface ? ` (read again every ${cfg.outboundCheck} s or at the TTL)` : ''}  registrations ${cfg.registrations}`,
          cfg.registrar ? `registrar yes  domain ${cfg.domains.join(' ')}  passwd ${cfg.passwd}  digest-algorithms ${cfg.digestAlgorithms.join(',').toLowerCase()}  default-expires ${cfg.defaultExpires}` : 'registrar no',
        ]
      : []),
    ...cfg.advertise.map((a) => `advertise ${a.local.addr} as ${a.name ? `${a.name} (looked up at start and again at its TTL)` : a.public.addr}  (${a.where})`),
    ...(cfg.nat64 ? [`nat64 ${cfg.nat64.text} (${cfg.nat64.wellKnown ? 'the Well-Known Prefix: global IPv4 only' : 'a network-specific prefix'}; IPv6 on [::]:${cfg.sipPort})  (${cfg.origin.nat64})`] : []),
    '',
    ...lines,
    '',
  ].join('\n');
}
