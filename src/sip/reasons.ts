// The one list of drop and refusal reasons (SPEC 11: every refusal is a SIP answer or a
// counted drop, with its reason in one list). Each reason has its code (the metric label),
// the SIP status a request gets (0: a counted drop), the counter it goes to, and a meaning.
// Responses and ACKs are never answered: for them every reason is a counted drop.
// The man page's REASONS section is checked against this table (t/docs.ts).

export type Counter = 'sip_refusals' | 'sip_drops' | 'rtp_drops';

export interface Reason {
  readonly code: string; //   the metric label and log word
  readonly status: number; // SIP status for a request; 0 = counted drop
  readonly phrase?: string; // reason phrase when it is not the status's default
  readonly counter: Counter;
  readonly means: string; //  one line for the man page
}

type Def = readonly [code: string, status: number, means: string, phrase?: string];

const DEFS = {
  // Parsing (RFC 3261 7, 18.3, 25)
  tooLarge: ['too-large', 513, 'a message over 65535 bytes'],
  keepalive: ['keepalive', 0, 'only line ends: a keep-alive (RFC 5626 4.4.1); on TCP and TLS, one that got no CRLF of its own'],
  truncated: ['truncated', 0, 'the message ends before its headers do'],
  badStatusLine: ['bad-status-line', 0, 'a response whose status line cannot be read'],
  badVersion: ['bad-version', 505, 'a SIP version other than 2.0'],
  badRequestLine: ['bad-request-line', 400, 'a request line that is not METHOD SP URI SP SIP/2.0'],
  badMethod: ['bad-method', 400, 'a method that is not a token'],
  badRequestUri: ['bad-request-uri', 400, 'a Request-URI that cannot be parsed'],
  badFolding: ['bad-folding', 400, 'a continuation line with no header before it'],
  badHeaderLine: ['bad-header-line', 400, 'a header line without a colon'],
  bareCr: ['bare-cr', 400, 'a CR not followed by LF in the start line or the headers (RFC 3261 7.3.1: lines end in CRLF): a parser that splits on it would read a header the proxy never saw', 'Bad Request (bare CR)'],
  controlChar: ['control-char', 400, 'a NUL, VT or FF in the start line or the headers, but as a quoted-pair in a quoted string (RFC 3261 25.1): a next hop that reads C strings stops at a NUL, and C\'s isspace() takes VT and FF for white space', 'Bad Request (control character)'],
  badHeaderName: ['bad-header-name', 400, 'a header name that is not a token'],
  headerTooLong: ['header-too-long', 400, 'a header over 8192 bytes with its folded lines'],
  tooManyHeaders: ['too-many-headers', 400, 'more than 256 header lines, also once the proxy\'s Via and Record-Routes are added'],
  badContentLength: ['bad-content-length', 400, 'a Content-Length that is not a number'],
  shortBody: ['short-body', 400, 'a body shorter than its Content-Length', 'Bad Request (body shorter than Content-Length)'],
  // Requests (RFC 3261 8.2, 16.3)
  badVia: ['bad-via', 400, 'a top Via that cannot be read', 'Bad Request (Via)'],
  missingCallId: ['missing-call-id', 400, 'no Call-ID', 'Bad Request (Call-ID)'],
  badCseq: ['bad-cseq', 400, 'a CSeq that is not NUMBER METHOD below 2**31', 'Bad Request (CSeq)'],
  cseqMethodMismatch: ['cseq-method-mismatch', 400, 'the CSeq method differs from the request method', 'Bad Request (CSeq method)'],
  badFrom: ['bad-from', 400, 'From missing, repeated or without a URI', 'Bad Request (From)'],
  badTo: ['bad-to', 400, 'To missing, repeated or without a URI (or a To the registrar cannot use)', 'Bad Request (To)'],
  duplicateCallId: ['duplicate-call-id', 400, 'more than one Call-ID', 'Bad Request (more than one Call-ID)'],
  duplicateCseq: ['duplicate-cseq', 400, 'more than one CSeq', 'Bad Request (more than one CSeq)'],
  duplicateMaxForwards: ['duplicate-max-forwards', 400, 'more than one Max-Forwards', 'Bad Request (more than one Max-Forwards)'],
  duplicateContentLength: ['duplicate-content-length', 400, 'more than one Content-Length; a response is dropped, since a next hop that read the other one would cut its TCP stream elsewhere (RFC 3261 18.3)', 'Bad Request (more than one Content-Length)'],
  unsupportedUriScheme: ['unsupported-uri-scheme', 416, 'a Request-URI scheme other than sip, sips or tel'],
  badRequestUriHost: ['bad-request-uri-host', 400, 'a Request-URI host that is neither an IP literal nor a host name', 'Bad Request (Request-URI host)'],
  badRequestUriPort: ['bad-request-uri-port', 400, 'a Request-URI port that is empty, 0 or over 65535', 'Bad Request (Request-URI port)'],
  badUriHostport: ['bad-uri-hostport', 400, 'a URI the request is sent by (a Route, a registered Contact) has something after its host or port that is neither a parameter nor a header: the next hop would read another host', 'Bad Request (URI host)'],
  badUriPort: ['bad-uri-port', 400, 'a URI the request is sent by (a Route, a registered Contact) names a port that is empty, 0 or over 65535', 'Bad Request (URI port)'],
  requestUriHeaders: ['request-uri-headers', 400, 'a Request-URI with a headers component (?Route=...): not allowed there (RFC 3261 19.1.5), never forwarded (RFC 4475 3.1.2.11)', 'Bad Request (headers in Request-URI)'],
  badRoute: ['bad-route', 400, 'a Route element without a URI', 'Bad Request (Route)'],
  tooManyParams: ['too-many-params', 400, 'a URI with more than 64 parameters (SPEC 11: each costs its parse; a Via value with more is malformed)', 'Bad Request (too many parameters)'],
  tooManyUris: ['too-many-uris', 400, 'more than 70 Route values, or more than 128 URIs to rewrite in one message (SPEC 11: each costs its parse)', 'Bad Request (too many URIs)'],
  tooManyVia: ['too-many-via', 483, 'more than 70 Via values: a loop or an attack', 'Too Many Hops (Via)'],
  proxyRequire: ['proxy-require', 420, 'a Proxy-Require naming an extension (none is supported)', 'Bad Extension'],
  badMaxForwards: ['bad-max-forwards', 400, 'a Max-Forwards that is not a number up to 255', 'Bad Request (Max-Forwards)'],
  maxForwardsZero: ['max-forwards-zero', 483, 'Max-Forwards reached 0'],
  tooLargeAfterRewrite: ['too-large-after-rewrite', 513, 'the rewritten message would not fit in a UDP datagram'],
  headerTooLongAfterRewrite: ['header-too-long-after-rewrite', 513, 'a header would pass 8192 bytes with its folded lines once rewritten (its addresses in the other family): no next hop would read it', 'Message Too Large (header)'],
  notARelay: ['not-a-relay', 403, 'the destination is no mapped party, uplink, dialog or phone', 'Forbidden (no mapping for this destination)'],
  forbiddenDestination: ['forbidden-destination', 403, 'the destination is an address of the proxy, loopback, unspecified, multicast or broadcast, or an IPv4 address written inside IPv6, and no map line names it', 'Forbidden (destination not allowed)'],
  uplinkUnresolved: ['uplink-unresolved', 503, 'a configured uplink name has no address yet', 'Service Unavailable (uplink not resolved)'],
  // Media (SPEC 6)
  cancelledBranch: ['cancelled-branch', 0, 'a retransmitted INVITE on a branch that never answered, of a call a CANCEL ended (RFC 3261 9.1: the previous hop cannot CANCEL it and retransmits it until its timer B): it would take streams again'],
  badSdpPort: ['bad-sdp-port', 400, 'an SDP m= line whose port is missing or above 65535 (RFC 4566 5.14)', 'Bad Request (SDP port)'],
  encodedBody: ['encoded-body', 415, 'SDP the proxy would rewrite under a Content-Encoding (RFC 3261 20.12), or a multipart part of SDP or of multipart in base64 or quoted-printable (RFC 2045 6): the receiver would read it as written, around the relay; answered with Accept-Encoding: identity', 'Unsupported Media Type (encoded body)'],
  badContentType: ['bad-content-type', 400, 'a body the proxy would rewrite with no Content-Type (RFC 3261 20.15), two, or one that is not type/subtype or is application/sdp with more after it (application/sdpx): a receiver that guesses SDP, or reads the other one, would read a body the proxy did not rewrite', 'Bad Request (Content-Type)'],
  badMultipart: ['bad-multipart', 400, 'a multipart body a receiver could cut into parts otherwise than the proxy (RFC 2046 5.1.1): no boundary or two, the boundary inside a line or a part, no close delimiter, text before the first delimiter or after the last, a part with two Content-Types or a header line no part may have, or nested more than 3 deep', 'Bad Request (multipart body)'],
  badSdpLine: ['bad-sdp-line', 400, 'an SDP line the proxy does not read as RFC 4566 5 writes it: not <lower-case letter>=<value> (" c=", "C="), a c= of another form than IN IP4|IP6 <address>, or an a=rtcp: of another form than <port> [IN IP4|IP6 <address>] or before the first m= (RFC 3605): a lenient receiver would read an address the proxy did not rewrite', 'Bad Request (SDP line)'],
  badSdpLineEnd: ['bad-sdp-line-end', 400, 'an SDP line holding a bare CR (RFC 4566 5: lines end in CRLF): a receiver that splits on it would read a line the proxy did not rewrite', 'Bad Request (SDP line end)'],
  tooManyStreams: ['too-many-streams', 503, 'more than 16 media streams in one call', 'Service Unavailable (more than 16 media streams in one call)'],
  rtpPortsExhausted: ['rtp-ports-exhausted', 503, 'no free port pair in rtp-ports', 'Service Unavailable (no media relay ports)'],
  rtpFdLimit: ['rtp-fd-limit', 503, 'the open-file limit allows no more relay sockets (four a stream; see LIMITS)', 'Service Unavailable (no media relay sockets)'],
  rtpSourceQuota: ['rtp-source-quota', 503, 'the offer\'s source, not a configured party, holds rtp-quota streams already', 'Service Unavailable (media quota of this source)'],
  rtpStrangerQuota: ['rtp-stranger-quota', 503, 'sources that are not configured parties hold half the port pairs already', 'Service Unavailable (media quota)'],
  mediaEngineDown: ['media-engine-down', 503, 'media-engine rtpengine: no rtpengine answered the offer or answer in time', 'Service Unavailable (media engine)'],
  mediaEngineBusy: ['media-engine-busy', 0, 'media-engine rtpengine: a retransmission of an offer or answer the engine is still being asked for (the first copy goes on)'],
  mediaEngineStranger: ['media-engine-stranger', 0, 'media-engine rtpengine: a datagram at the ng client that is no awaited answer from the engine asked (late, malformed, or a stranger\'s)'],
  mediaEngineBody: ['media-engine-body', 488, 'media-engine rtpengine: SDP inside a multipart body, which the engine does not take', 'Not Acceptable Here (SDP in a multipart body)'],
  mediaNotYours: ['media-not-yours', 403, 'a re-offer or answer for a stream from another address than the party that set it up', 'Forbidden (media of another party)'],
  // Masquerading and its registrar (sipproxy64(8) MASQUERADING; RFC 3261 10.3, 22.4)
  nameUnresolved: ['name-unresolved', 503, 'a host name a LAN phone sends to does not resolve'],
  badBinding: ['bad-binding', 480, 'a registered contact that cannot be parsed', 'Temporarily Unavailable'],
  notRegistered: ['not-registered', 480, 'a known user with no current registration', 'Temporarily Unavailable'],
  noSuchUser: ['no-such-user', 404, 'a user the password file does not list', 'Not Found'],
  noRegistration: ['no-registration', 404, 'no phone registered through this proxy under that user part', 'Not Found (no phone registered through this proxy)'],
  noAddressInFamily: ['no-address-in-family', 403, 'the side the message goes to has no address in the target\'s family'],
  badContact: ['bad-contact', 400, 'a Contact element without a URI, or (registering) one that could not be the Request-URI of the calls to it', 'Bad Request (Contact)'],
  authRequired: ['auth-required', 401, 'a REGISTER without valid credentials: challenged', 'Unauthorized'],
  authStale: ['auth-stale', 401, 'credentials with an expired nonce: challenged again with stale=true', 'Unauthorized'],
  notOurDomain: ['not-our-domain', 404, 'a REGISTER for a domain the registrar does not serve', 'Not Found (not our domain)'],
  wrongUser: ['wrong-user', 403, 'credentials of another user than the To', 'Forbidden (credentials of another user)'],
  authBackoff: ['auth-backoff', 403, 'a source whose credentials failed too often, during its back-off (auth-failures, auth-backoff)', 'Forbidden (too many failed authentications)'],
  authReplayed: ['auth-replayed', 401, 'credentials whose nonce-count was used before: a replay', 'Unauthorized'],
  tooManyBindings: ['too-many-bindings', 403, 'a REGISTER that would give one address-of-record more than max-bindings contacts', 'Forbidden (too many bindings)'],
  registrationsFull: ['registrations-full', 503, 'a REGISTER that would take the registrar past max-registrations bindings', 'Service Unavailable (registrations full)'],
  contactTooLong: ['contact-too-long', 400, 'a Contact URI over 1024 bytes', 'Bad Request (Contact too long)'],
  wildcardContact: ['wildcard-contact', 400, 'Contact: * with other contacts or a non-zero expiry'],
  registerOutOfOrder: ['register-out-of-order', 500, 'a REGISTER with an older CSeq of the same Call-ID'],
  registered: ['registered', 200, 'a REGISTER the registrar accepted (a drop only when no answer can be built)', 'OK'],
  // Responses (RFC 3261 16.7, 18.2.2)
  notOurVia: ['not-our-via', 0, 'a response whose top Via is not ours'],
  noNextVia: ['no-next-via', 0, 'a response with no Via below ours'],
  viaNotIp: ['via-not-ip', 0, 'the next Via names no IP address (a host name) or no valid port to send to'],
  viaNotUnicast: ['via-not-unicast', 0, 'the next Via names a broadcast, multicast or unspecified address (RFC 4475 bcast)'],
  badResponseHeaders: ['bad-response-headers', 0, 'a response without a readable Call-ID or CSeq'],
  forgedResponse: ['forged-response', 0, 'a response whose branch the proxy did not sign for that hop'],
  keepaliveAnswered: ['keepalive-answered', 0, 'the answer to a keep-alive OPTIONS the proxy sent a phone registered from the public side (keepalive): taken, the phone is there'],
  // The engine and the shell
  flooding: ['flooding', 0, 'a source that is no configured party sent over flood-limit messages a second (each new TCP or TLS connection counts as one): dropped for flood-ban seconds'],
  answerLimited: ['answer-limited', 0, 'an error answer to a stranger over answer-limit a second: not sent'],
  tooMuchGrowth: ['too-much-growth', 403, 'a stranger\'s request would grow by more than 1024 bytes once rewritten (no amplification)', 'Forbidden (request would grow too much)'],
  notOurAddress: ['not-our-address', 0, 'arrived on an address or port that is not a SIP address of ours'],
  nat64Refused: ['nat64-refused', 0, 'arrived on an address of the nat64 prefix that stands for an IPv4 address none may reach through it (loopback, link-local, ours; not global under 64:ff9b::/96)'],
  internalError: ['internal-error', 0, 'a rewrite rule failed (a bug): the message is dropped'],
  tooLargeForUdp: ['too-large-for-udp', 0, 'an answer larger than a UDP datagram'],
  badSource: ['bad-source', 0, 'a datagram from a source address that cannot be parsed'],
  noLocalSocket: ['no-local-socket', 0, 'no socket is bound to the address a message should leave from'],
  sendBufferFull: ['send-buffer-full', 0, 'the SIP socket\'s send buffer is full (sip-io native: EAGAIN or ENOBUFS; sip-io js: 1,024 datagrams or 4 MiB wait; the sender\'s retransmission brings the message again)'],
  resolveQueueFull: ['resolve-queue-full', 0, 'more than 100 messages wait for one name to resolve, or 64 names are being resolved at once'],
  tlsHandshakeFailed: ['tls-handshake-failed', 0, 'a TLS handshake failed or did not finish within 5 seconds'],
  tcpTooManyFromSource: ['tcp-too-many-from-source', 0, 'more than 64 connections from one source (an IPv4 address or IPv6 /64), TLS handshakes in progress included'],
  tcpTooManyConnections: ['tcp-too-many-connections', 0, 'more than 20000 connections in all, both ways'],
  tcpPendingLimit: ['tcp-pending-limit', 0, 'partial messages held on all TCP and TLS connections passed 32 MiB: the connection whose read passed it is closed'],
  tcpReadTimeout: ['tcp-read-timeout', 0, 'a message on TCP or TLS was not complete 10 seconds after its first byte: the connection is closed'],
  tcpWriteLimit: ['tcp-write-limit', 0, 'a TCP or TLS peer did not take what was sent to it: more than 256 KiB on its connection, or 32 MiB on all, would have waited; the connection is closed (one not yet open keeps it: the message is told unreachable)'],
  tcpWriteTimeout: ['tcp-write-timeout', 0, 'bytes sent to a TCP or TLS peer waited 10 seconds without any of them being taken: the connection is closed'],
  tcpTooManyToDestination: ['tcp-too-many-to-destination', 0, 'more than 16 outgoing connections to one address'],
  tcpConnectTimeout: ['tcp-connect-timeout', 0, 'an outgoing connection did not open within 5 seconds'],
  nextHopUnreachable: ['next-hop-unreachable', 503, 'no TCP/TLS connection to the next hop (refused, reset, timed out or over a limit): the request is answered at once, with Retry-After: 2', 'Service Unavailable (next hop unreachable)'],
  streamHeadersTooLong: ['stream-headers-too-long', 0, 'over 65535 bytes on a stream without the end of the headers'],
  streamWithoutContentLength: ['stream-without-content-length', 0, 'a message on a stream without Content-Length (RFC 3261 18.3)'],
  streamMessageTooLarge: ['stream-message-too-large', 0, 'a message on a stream over 65535 bytes'],
  // RTPproxy64 packets
  rtpPortInUse: ['rtp-port-in-use', 0, 'a relay port could not be bound (another process holds it)'],
  rtpSocketError: ['rtp-socket-error', 0, 'a relay socket reported an error (an ICMP error from a gone party), or took no more packets (its send buffer full, as behind a congested link)'],
  rtpNoSession: ['rtp-no-session', 0, 'a packet to a relay port with no stream'],
  rtpNoParty: ['rtp-no-party', 0, 'a packet from a side whose party has not described its media yet'],
  rtpForeignSource: ['rtp-foreign-source', 0, 'a packet from a source that is not the party of that side'],
  rtpLoop: ['rtp-loop', 0, 'a packet from one of the relay\'s own addresses that would go to another (a loop)'],
  rtpPeerUnproven: ['rtp-peer-unproven', 0, 'a packet for a side whose address appears only in SDP from an unconfigured party and has sent nothing yet'],
  rtpNoPeerYet: ['rtp-no-peer-yet', 0, 'a packet for a side whose party has no address yet'],
} as const satisfies Record<string, Def>;

export type ReasonName = keyof typeof DEFS;

function counterOf(code: string, status: number): Counter {
  if (code.startsWith('rtp-') && status === 0) return 'rtp_drops';
  return status === 0 ? 'sip_drops' : 'sip_refusals';
}

/** The reasons by name: `R.badVia`, `R.notARelay` ... */
export const R = Object.fromEntries(
  Object.entries(DEFS).map(([k, d]) => {
    const [code, status, means, phrase] = d as Def;
    return [k, Object.freeze({ code, status, means, counter: counterOf(code, status), ...(phrase ? { phrase } : {}) })];
  }),
) as Record<ReasonName, Reason>;

/** Every reason, in the order of the list (for the man page and its test). */
export const ALL_REASONS: readonly Reason[] = Object.values(R);
