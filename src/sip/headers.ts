// The one header table: canonical name, compact form, defining RFC, rewrite kind.
// Every header of the IANA SIP "Header Fields" registry is listed (t/data/iana-sip-headers.csv),
// and the unregistered ones real equipment sends with URIs in them (NOT_REGISTERED); an
// operator declares more with `uri-header NAME`.

/** How the rewriter treats a header. */
export type Kind =
  | 'via' //       Via: we push ours on requests, pop it on responses; others never edited (RFC 3261 16.6/16.7)
  | 'route' //     Route-like name-addr list: our own entries are recognised and kept (RFC 3261 16.4, RFC 5658)
  | 'uri' //       name-addr / addr-spec / <URI> list: IP-literal hosts, maddr= and received= mapped
  | 'hostport' //  a bare host[:port] at the start of each value (warn-agent, Laes-sig)
  | 'hostparam' // parameters whose values are hosts (icid-generated-at, ccf, ecf)
  | 'maxfwd' //    Max-Forwards (RFC 3261 16.6 step 3)
  | 'agent' //     User-Agent / Server: replaced unless keep-user-agent
  | 'clen' //      Content-Length: recomputed when the body changes
  | 'ctype' //     Content-Type: read to find SDP
  | 'digest' //    Authorization / Proxy-Authorization: never rewritten, the digest covers uri=
  | 'opaque'; //   passes byte for byte (identifiers such as Call-ID are never edited)

export interface HeaderDef {
  readonly name: string;
  readonly compact: string | null;
  readonly rfc: number | string; // RFC number, or the defining document when not an RFC
  readonly kind: Kind;
  readonly hot: number; //         its index in HOT_NAMES, or -1
}

/** The headers the parser remembers the first of as it meets them (message.ts HotHeaders). */
export const HOT_NAMES = ['Via', 'Call-ID', 'CSeq', 'From', 'To', 'Max-Forwards', 'Content-Type', 'Content-Length'] as const;

const T = (name: string, compact: string | null, rfc: number | string, kind: Kind): HeaderDef => ({ name, compact, rfc, kind, hot: (HOT_NAMES as readonly string[]).indexOf(name) });

export const HEADERS: readonly HeaderDef[] = [
  T('Accept', null, 3261, 'opaque'),
  T('Accept-Contact', 'a', 3841, 'opaque'),
  T('Accept-Encoding', null, 3261, 'opaque'),
  T('Accept-Language', null, 3261, 'opaque'),
  T('Accept-Resource-Priority', null, 4412, 'opaque'),
  T('Additional-Identity', null, '3GPP TS 24.229', 'uri'),
  T('Alert-Info', null, 3261, 'uri'),
  T('AlertMsg-Error', null, 8876, 'opaque'),
  T('Allow', null, 3261, 'opaque'),
  T('Allow-Events', 'u', 6665, 'opaque'),
  T('Answer-Mode', null, 5373, 'opaque'),
  T('Attestation-Info', null, '3GPP TS 24.229', 'opaque'),
  T('Authentication-Info', null, 3261, 'opaque'),
  T('Authorization', null, 3261, 'digest'),
  T('Call-ID', 'i', 3261, 'opaque'),
  T('Call-Info', null, 3261, 'uri'),
  T('Cellular-Network-Info', null, '3GPP TS 24.229', 'opaque'),
  T('Contact', 'm', 3261, 'uri'),
  T('Content-Disposition', null, 3261, 'opaque'),
  T('Content-Encoding', 'e', 3261, 'opaque'),
  T('Content-ID', null, 8262, 'opaque'),
  T('Content-Language', null, 3261, 'opaque'),
  T('Content-Length', 'l', 3261, 'clen'),
  T('Content-Type', 'c', 3261, 'ctype'),
  T('CSeq', null, 3261, 'opaque'),
  T('Date', null, 3261, 'opaque'),
  T('DC-Info', null, '3GPP TS 24.229', 'opaque'),
  T('Diversion', null, 5806, 'uri'), // not registered (RFC 5806 is historic); providers send it
  T('Encryption', null, 3261, 'opaque'),
  T('Error-Info', null, 3261, 'uri'),
  T('Event', 'o', 6665, 'opaque'),
  T('Expires', null, 3261, 'opaque'),
  T('Feature-Caps', null, 6809, 'opaque'),
  T('Flow-Timer', null, 5626, 'opaque'),
  T('From', 'f', 3261, 'uri'),
  T('Geolocation', null, 6442, 'uri'),
  T('Geolocation-Error', null, 6442, 'opaque'),
  T('Geolocation-Routing', null, 6442, 'opaque'),
  T('Hide', null, 3261, 'opaque'),
  T('History-Info', null, 7044, 'uri'),
  T('Identity', 'y', 8224, 'opaque'),
  T('Identity-Info', null, 4474, 'uri'),
  T('Info-Package', null, 6086, 'opaque'),
  T('In-Reply-To', null, 3261, 'opaque'),
  T('Join', null, 3911, 'opaque'),
  T('Max-Breadth', null, 5393, 'opaque'),
  T('Max-Forwards', null, 3261, 'maxfwd'),
  T('MIME-Version', null, 3261, 'opaque'),
  T('Min-Expires', null, 3261, 'opaque'),
  T('Min-SE', null, 4028, 'opaque'),
  T('Organization', null, 3261, 'opaque'),
  T('Origination-Id', null, '3GPP TS 24.229', 'opaque'),
  T('P-Access-Network-Info', null, 7315, 'opaque'),
  T('P-Answer-State', null, 4964, 'opaque'),
  T('P-Asserted-Identity', null, 3325, 'uri'),
  T('P-Asserted-Service', null, 6050, 'opaque'),
  T('P-Associated-URI', null, 7315, 'uri'),
  T('P-Called-Party-ID', null, 7315, 'uri'),
  T('P-Charge-Info', null, 8496, 'uri'),
  T('P-Charging-Function-Addresses', null, 7315, 'hostparam'),
  T('P-Charging-Vector', null, 7315, 'hostparam'),
  T('P-DCS-Billing-Info', null, 5503, 'opaque'),
  T('P-DCS-LAES', null, 5503, 'hostport'),
  T('P-DCS-OSPS', null, 5503, 'opaque'),
  T('P-DCS-Redirect', null, 5503, 'uri'),
  T('P-DCS-Trace-Party-ID', null, 5503, 'uri'),
  T('P-Early-Media', null, 5009, 'opaque'),
  T('P-Media-Authorization', null, 3313, 'opaque'),
  T('P-Preferred-Identity', null, 3325, 'uri'),
  T('P-Preferred-Service', null, 6050, 'opaque'),
  T('P-Private-Network-Indication', null, 7316, 'opaque'),
  T('P-Profile-Key', null, 5002, 'uri'),
  T('P-Refused-URI-List', null, 5318, 'uri'),
  T('P-Served-User', null, 5502, 'uri'),
  T('P-User-Database', null, 4457, 'uri'),
  T('P-Visited-Network-ID', null, 7315, 'opaque'),
  T('Path', null, 3327, 'route'),
  T('Permission-Missing', null, 5360, 'uri'),
  T('Policy-Contact', null, 6794, 'uri'),
  T('Policy-ID', null, 6794, 'uri'),
  T('Priority', null, 3261, 'opaque'),
  T('Priority-Verstat', null, '3GPP TS 24.229', 'opaque'),
  T('Priority-Share', null, '3GPP TS 24.229', 'opaque'),
  T('Priv-Answer-Mode', null, 5373, 'opaque'),
  T('Privacy', null, 3323, 'opaque'),
  T('Proxy-Authenticate', null, 3261, 'opaque'),
  T('Proxy-Authorization', null, 3261, 'digest'),
  T('Proxy-Require', null, 3261, 'opaque'),
  T('RAck', null, 3262, 'opaque'),
  T('Reason', null, 3326, 'opaque'),
  T('Reason-Phrase', null, 'reserved', 'opaque'), // a reserved name: no header is defined
  T('Record-Route', null, 3261, 'route'),
  T('Recv-Info', null, 6086, 'opaque'),
  T('Refer-Events-At', null, 7614, 'uri'),
  T('Refer-Sub', null, 4488, 'opaque'),
  T('Refer-To', 'r', 3515, 'uri'),
  T('Referred-By', 'b', 3892, 'uri'),
  T('Reject-Contact', 'j', 3841, 'opaque'),
  T('Relayed-Charge', null, '3GPP TS 24.229', 'opaque'),
  T('Remote-Party-ID', null, 'draft-ietf-sip-privacy-04', 'uri'), // not registered; Cisco, Asterisk
  T('Replaces', null, 3891, 'opaque'),
  T('Reply-To', null, 3261, 'uri'),
  T('Request-Disposition', 'd', 3841, 'opaque'),
  T('Require', null, 3261, 'opaque'),
  T('Resource-Priority', null, 4412, 'opaque'),
  T('Resource-Share', null, '3GPP TS 24.229', 'opaque'),
  T('Response-Key', null, 3261, 'opaque'),
  T('Response-Source', null, '3GPP TS 24.229', 'opaque'),
  T('Restoration-Info', null, '3GPP TS 24.229', 'opaque'),
  T('Retry-After', null, 3261, 'opaque'),
  T('Route', null, 3261, 'route'),
  T('RSeq', null, 3262, 'opaque'),
  T('Security-Client', null, 3329, 'opaque'),
  T('Security-Server', null, 3329, 'opaque'),
  T('Security-Verify', null, 3329, 'opaque'),
  T('Server', null, 3261, 'agent'),
  T('Service-Interact-Info', null, '3GPP TS 24.229', 'opaque'),
  T('Service-Route', null, 3608, 'route'),
  T('Session-Expires', 'x', 4028, 'opaque'),
  T('Session-ID', null, 7989, 'opaque'),
  T('SIP-ETag', null, 3903, 'opaque'),
  T('SIP-If-Match', null, 3903, 'opaque'),
  T('Subject', 's', 3261, 'opaque'),
  T('Subscription-State', null, 6665, 'opaque'),
  T('Supported', 'k', 3261, 'opaque'),
  T('Suppress-If-Match', null, 5839, 'opaque'),
  T('Target-Dialog', null, 4538, 'opaque'),
  T('Timestamp', null, 3261, 'opaque'),
  T('To', 't', 3261, 'uri'),
  T('Trigger-Consent', null, 5360, 'uri'),
  T('Unsupported', null, 3261, 'opaque'),
  T('User-Agent', null, 3261, 'agent'),
  T('User-to-User', null, 7433, 'opaque'),
  T('Via', 'v', 3261, 'via'),
  T('Warning', null, 3261, 'hostport'),
  T('WWW-Authenticate', null, 3261, 'opaque'),
];

/**
 * Headers in the table that the IANA registry does not list: sent by real equipment, and
 * they carry URIs (t/unit/sip/headers.ts holds the table to the registry plus these).
 */
export const NOT_REGISTERED: ReadonlySet<string> = new Set(['Diversion', 'Remote-Party-ID']);

/** An extension header we do not know: passes byte for byte. */
export const UNKNOWN: HeaderDef = T('', null, 3261, 'opaque');

const byName = new Map<string, HeaderDef>();
for (const h of HEADERS) {
  byName.set(h.name, h); // as usually written: one lookup, no lower-casing
  byName.set(h.name.toLowerCase(), h);
  if (h.compact) {
    byName.set(h.compact, h);
    byName.set(h.compact.toUpperCase(), h);
  }
}

/** Look a header up by the name as written (any case, long or compact). */
export function lookupHeader(name: string): HeaderDef {
  return byName.get(name) ?? byName.get(name.toLowerCase()) ?? UNKNOWN;
}

/** The sorted RFC numbers whose headers the table handles (headerrfclist.implemented). */
export function implementedRfcs(): number[] {
  const s = new Set<number>();
  for (const h of HEADERS) if (typeof h.rfc === 'number') s.add(h.rfc);
  return [...s].sort((a, b) => a - b);
}
