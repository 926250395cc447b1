// Every command-line flag, in one place: meow reads this table, and a test checks that
// --help and the man page name exactly these flags.
import { DIRECTIVES, REPEATABLE } from '../config/config.js';
import { flagKey } from './load.js';

type Flag = { type: 'string' | 'boolean'; shortFlag?: string; isMultiple?: boolean };

export const FLAGS: Record<string, Flag> = {
  config: { type: 'string', shortFlag: 'c' },
  checkConfig: { type: 'boolean' },
  host: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  transport: { type: 'string' },
  pcap: { type: 'string' },
  write: { type: 'string' },
  logFormat: { type: 'string' },
  verbose: { type: 'boolean', shortFlag: 'v' },
  debug: { type: 'boolean' },
  version: { type: 'boolean' },
  help: { type: 'boolean', shortFlag: 'h' },
  ...Object.fromEntries(DIRECTIVES.map((d) => [flagKey(d), { type: 'string' as const, isMultiple: REPEATABLE.has(d) }])),
};

/** The long names as typed: "check-config", "rtp-ports", ... */
export const FLAG_NAMES: string[] = Object.keys(FLAGS).map((k) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));

export const HELP = `
  Usage
    sipproxy64 [options]                      run the proxy (see sipproxy64(8))
    sipproxy64 rewrite --from ADDR:PORT --to ADDR:PORT [options] < message
                                              run one SIP message through the rewrite
                                              engine offline and print what would be sent
    sipproxy64 rewrite --pcap FILE [--write OUT] [options]
                                              the same for every SIP message of a capture
    sipproxy64 status [options]               list the registrations (masquerading) and
                                              the active media sessions of the running
                                              daemon (needs its metrics directive)
    sipproxy64 --check-config [--host] [options]
                                              parse, validate, print the mapping table

  Options
    -c, --config FILE         config file (default /etc/sipproxy64.conf)
    --check-config            validate the configuration, print the mapping table, exit
    --host                    with --check-config: also check this host can serve it
                              (addresses local, ports bindable, rtp-ports, open files,
                              uplinks resolving, addresses that do not belong in SIP);
                              exit 2 on an error
    --from ADDR:PORT          rewrite: the source the message came from
    --to ADDR:PORT            rewrite: the local address it arrived on
    --transport udp|tcp|tls   rewrite: the transport it arrived over (udp); with
                              --pcap, tls takes the capture's TCP as decrypted TLS
    --pcap FILE               rewrite: every SIP message of a pcap or pcapng capture
                              (UDP, TCP; IPv4, IPv6; Ethernet, Linux cooked), from and
                              to its packet's addresses, through one engine, in order
    --write FILE              rewrite --pcap: what the proxy would have sent, as a pcap
    --log-format plain|json   log lines on stderr (plain)
    -v, --verbose             log each SIP message in and out (also --debug)
    -h, --help                this text
    --version                 print the version

  Every config directive is also a flag; flags win over the file:
    --sip-port N              SIP port on every face and generic address (5060)
    --sip-io auto|native|js   SIP over UDP: the addon's sockets (native: a batch of
                              datagrams a read, no objects a datagram, a read's
                              sends in one sendmmsg) or Node's dgram (js); auto:
                              native when it loads
    --map REAL=FACE[,T]       map a party (repeatable): 192.0.2.10=2001:db8:64::10,
                              T = udp|tcp|tls forces the transport towards it; a face
                              with its own port: 2001:db8:1::20=192.0.2.1:5071; or a
                              prefix of parties: 192.0.2.64/27=2001:db8:64::40/123
    --advertise LOCAL=PUBLIC  our address LOCAL is reached from outside as PUBLIC (1:1 NAT):
                              PUBLIC is written into SIP and SDP (repeatable); with
                              masquerading PUBLIC may be a name (a router's dynamic DNS)
    --nat64 PREFIX/96         every IPv4 party appears inside this IPv6 prefix (RFC 6052,
                              64:ff9b::/96 or a network-specific one), no map line needed
    --generic4 ADDR           the proxy's own IPv4 address (required unless masquerading only)
    --generic6 ADDR           the proxy's own IPv6 address (required unless masquerading only)
    --media4 ADDR             RTPproxy64 IPv4 address (default: generic4)
    --media6 ADDR             RTPproxy64 IPv6 address (default: generic6)
    --rtp-ports LO-HI         relay port range (20000-29999)
    --rtp-timeout SECONDS     release media after this long without packets (60)
    --rtp-hold-timeout SECONDS  the same for a stream on hold (sendonly, recvonly,
                              inactive, c= unspecified) (3600)
    --rtp-latch MODE          which media source a stream learns: strict, prefix,
                              any, yes (= strict) or no (strict)
    --rtp-quota N             streams a source that is no configured party may hold (16)
    --media-datapath auto|native|js
                              RTPproxy64's packet path: native (C threads, built by npm
                              install) or js (the event loop); auto: native when it loads
    --media-threads N         native datapath threads (one per core)
    --media-io auto|epoll|io_uring
                              how the native threads read and send: a system call a
                              packet each way (epoll), or a round's packets in one
                              (io_uring); auto: io_uring where the kernel allows it
    --media-engine embedded|rtpengine=ADDR:PORT[,ADDR:PORT...]
                              who relays media: RTPproxy64 here (embedded), or
                              rtpengine through its ng protocol, an engine per call
    --secret FILE             the key(s) of our MACs; instances sharing it accept each
                              other's dialogs (derived from /etc/machine-id)
    --hep ADDR:PORT[,ID]      mirror every SIP message as HEPv3 to a Homer collector or
                              sngrep -L (capture id 64)
    --call-log FILE|-         a JSON line per call as it ends (USR1 reopens the file)
    --flood-limit N           messages a second from a source that is no configured
                              party before it is dropped (200)
    --flood-ban SECONDS       how long such a source is dropped (60)
    --answer-limit N          error answers a second to such sources, in all (100)
    --keep-user-agent yes|no  keep User-Agent/Server instead of sipproxy64/VERSION (no)
    --uri-header NAME         another header that carries URIs, mapped like Contact
                              (repeatable; Remote-Party-ID and Diversion are built in)
    --metrics [ADDR:]PORT     serve /metrics (Prometheus) and /sessions (off; 127.0.0.1)
    --tcp yes|no              SIP over TCP too, on every SIP address (no)
    --tcp-idle SECONDS        close a TCP or TLS connection idle this long (300); a
                              phone's registration keeps its own open while it lasts
    --tls-port N              SIP over TLS port (5061); TLS is on with a cert and key
    --tls-cert FILE           PEM certificate the proxy presents (as a client too,
                              to a peer that asks for one)
    --tls-key FILE            its PEM private key
    --tls-ca FILE             PEM CAs that sign peers' certificates (system's); a
                              peer reached by name must be named by it (RFC 5922)

  Masquerading (phones on a private LAN behind one public address):
    --inbound ADDR[/PREFIX]   this host's LAN address; PREFIX: the LAN (interface's)
    --outbound ADDR|NAME|if:IFACE  this host's public address, IPv4 or IPv6 (once
                              per family on a dual-stack line); a NAME (dynamic DNS) is
                              resolved again at its TTL, if:IFACE takes the interface's
                              addresses; a change is followed without a restart
    --outbound-check SECONDS  how often if:IFACE (or a NAME with no TTL) is read (10);
                              if:IFACE also when the kernel says an address changed
    --registrar yes|no        answer REGISTER for the domains ourselves (no)
    --domain NAME             a domain of the registrar (repeatable; first = realm)
    --passwd FILE             the registrar's password file
    --digest-algorithms LIST  challenges offered, preferred first (sha-256,md5)
    --default-expires SECONDS registration lifetime when none is asked (3600)
    --registrations FILE      registrations kept across restarts
                              (/var/lib/sipproxy64/registrations.json)
    --default-target URI      incoming calls no registration matches go there
                              (a reception phone, a PBX) instead of 404/480
    --outbound-proxy DOMAIN=HOST[:PORT]  the LAN's requests for DOMAIN go through
                              the upstream proxy HOST (repeatable)
    --keepalive SECONDS       OPTIONS to phones registered from the public side, so
                              their NAT stays open; three unanswered drop them (off)
    --auth-failures N         failed authentications before a source backs off (10)
    --auth-backoff SECONDS    first back-off; it doubles, up to an hour (60)
    --max-bindings N          contacts per address-of-record (10)
    --max-registrations N     bindings in all (10000)

  Exit status: 0 normal, 2 bad command line or config, 1 runtime failure.
`;
