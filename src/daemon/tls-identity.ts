// Whom a TLS server must prove to be (RFC 5922 7.3, RFC 3261 26.3.1): the host name a request
// was resolved from (a map line's uplink, a name a LAN phone sent to), not the address DNS
// gave for it. Node checks a certificate against the host it connects to, an IP address here,
// so a provider's certificate, which names its domain only, was refused.
import tls from 'node:tls';

/** Names checked against one certificate, at most (SPEC 11: bounded work a connection). */
const MAX_NAMES = 4;

/**
 * The connect options that check the server against `names` (any of them will do; none: the
 * address itself, for a certificate with an IP subjectAltName). The first is sent in SNI
 * (RFC 6066 3), so a server of several domains presents that one's certificate.
 */
export function serverIdentity(names: readonly string[]): Pick<tls.ConnectionOptions, 'servername' | 'checkServerIdentity'> {
  if (names.length === 0) return {};
  const list = names.slice(0, MAX_NAMES);
  return {
    servername: list[0],
    checkServerIdentity: (_host, cert) => {
      let first: Error | undefined;
      for (const n of list) {
        const err = tls.checkServerIdentity(n, cert);
        if (!err) return undefined;
        first ??= err;
      }
      return first;
    },
  };
}
