import t from 'tap';
import { ConfigError, parseConfig, validate } from '../../../src/config/config.js';
import { loadConfig } from '../../../src/cli/load.js';

const base = 'generic4 192.0.2.1\ngeneric6 2001:db8::1\n';
const err = (text: string): string => {
  try {
    validate(parseConfig(text, 'f.conf'));
    return 'ok';
  } catch (e) {
    return e instanceof ConfigError ? e.message : 'throw';
  }
};

t.test('directives', async (t) => {
  const c = validate(parseConfig(base + 'sip-port 5070 # comment\nmap 192.0.2.10 2001:db8:64::10\nmap [2001:db8:1::5]:5070 192.0.2.105\nmap Registrar.Example.NET 192.0.2.106\nrtp-ports 30000-30099\nrtp-latch no\nkeep-user-agent yes\n', 'f'));
  t.equal(c.sipPort, 5070);
  t.equal(c.maps.length, 3);
  t.equal(c.maps[1].realPort, 5070);
  t.equal(c.maps[2].name, 'registrar.example.net');
  t.same(c.rtpPorts, [30000, 30099]);
  t.equal(c.rtpLatch, 'off', 'no: no latching');
  t.equal(c.keepUserAgent, true);
  t.equal(c.media4?.addr, '192.0.2.1', 'media defaults to generic');
  const u = validate(parseConfig(base + 'uri-header X-Vendor-Party\nuri-header P-Other\n', 'f'));
  t.same(u.uriHeaders, ['x-vendor-party', 'p-other'], 'uri-header repeats, names kept in lower case');
  const pm = validate(parseConfig(base + 'map 192.0.2.64/27 2001:db8:64::40/123 tcp\ntcp yes\n', 'f'));
  t.equal(pm.maps.length, 32, 'a prefix map line: one entry per host (32 of a /27)');
  t.same([pm.maps[6].real?.addr, pm.maps[6].face.addr, pm.maps[6].transport, pm.maps[6].prefix], ['192.0.2.70', '2001:db8:64::46', 'tcp', '192.0.2.64/27 2001:db8:64::40/123'], 'host 6 of each, RFC 5952 text');
  t.same([pm.maps[31].real?.addr, pm.maps[31].face.addr], ['192.0.2.95', '2001:db8:64::5f']);
  const p6 = validate(parseConfig(base + 'map 2001:db8:1::100/120 198.51.100.0/24\n', 'f'));
  t.same([p6.maps.length, p6.maps[255].real?.addr, p6.maps[255].face.addr], [256, '2001:db8:1::1ff', '198.51.100.255'], 'IPv6 parties on an IPv4 prefix, carry into the next byte');
  const pf = validate(parseConfig(base + 'map 2001:db8:1::20 192.0.2.1:5071\nmap 2001:db8:1::21 192.0.2.1:5072 tcp\nmap 192.0.2.10 [2001:db8::1]:5071\ntcp yes\n', 'f'));
  t.same(pf.maps.map((m) => [m.face.addr, m.facePort]), [['192.0.2.1', 5071], ['192.0.2.1', 5072], ['2001:db8::1', 5071]], 'port faces, on the generic addresses too');
  t.same([c.mediaDatapath, c.mediaThreads], ['auto', 0], 'media-datapath auto, media-threads one per core (0) by default');
  t.equal(c.sipIo, 'auto', 'sip-io auto by default');
  t.equal(validate(parseConfig(base + 'sip-io js\n', 'f')).sipIo, 'js', 'sip-io js');
  const m = validate(parseConfig(base + 'media-datapath js\nmedia-threads 4\n', 'f'));
  t.same([m.mediaDatapath, m.mediaThreads], ['js', 4]);
});

t.test('errors name the line and the problem', async (t) => {
  t.equal(err('bogus 1'), 'f.conf:1: unknown directive "bogus"');
  t.equal(err(base + 'map 192.0.2.10 192.0.2.11'), 'f.conf:3: face 192.0.2.11 must be in the other family than 192.0.2.10');
  t.equal(err(base + 'map 010.0.0.1 2001:db8::5'), 'f.conf:3: "010.0.0.1" is neither an IP address nor a host name');
  t.equal(err(base + 'sip-port 70000'), 'f.conf:3: 70000 is out of range 1-65535');
  t.equal(err(base + 'rtp-ports 2000'), 'f.conf:3: rtp-ports takes LO-HI, got "2000"');
  t.equal(err(base + 'rtp-latch maybe'), 'f.conf:3: rtp-latch takes strict, prefix, any, yes (= strict) or no, got "maybe"');
  t.equal(err(base + 'map 192.0.2.64/27 2001:db8:64::40/124'), 'f.conf:3: 192.0.2.64/27 and 2001:db8:64::40/124 must have the same number of host bits (5 and 4)');
  t.equal(err(base + 'map 192.0.2.65/27 2001:db8:64::40/123'), 'f.conf:3: "192.0.2.65/27" has host bits set (the prefix starts at its first address)');
  t.equal(err(base + 'map 192.0.2.64/27 198.51.100.0/27'), 'f.conf:3: the faces 198.51.100.0/27 must be in the other family than 192.0.2.64/27');
  t.equal(err(base + 'map 10.0.0.0/7 2001:db8:64::/103'), 'f.conf:3: 10.0.0.0/7 holds 33554432 addresses; a prefix map line serves at most 16777216 (an IPv4 /8)');
  t.equal(err(base + 'map 010.0.0.0/24 2001:db8:64::/120'), 'f.conf:3: "010.0.0.0/24" is not a prefix (ADDRESS/LENGTH)');
  t.equal(err(base + 'map 192.0.2.64/27 2001:db8:64::40/123\nmap 192.0.2.70 2001:db8:64::99'), 'f.conf:4: 192.0.2.70 is already mapped at f.conf:3');
  t.equal(err(base + 'map 192.0.2.0/24 2001:db8:64::/120'), 'f.conf:3: 192.0.2.1 is the proxy\'s own address (generic4); a map line names parties');
  t.equal(err(base + 'map 2001:db8:1::20 192.0.2.1:5071\nmap 2001:db8:1::21 192.0.2.1:5071'), 'f.conf:4: face 192.0.2.1:5071 is already used at f.conf:3');
  t.equal(err(base + 'map 2001:db8:1::20 192.0.2.1:5060'), 'f.conf:3: face port 5060 is the sip-port of every address; a port face needs a port of its own');
  t.equal(err(base + 'map 2001:db8:1::20 192.0.2.1:20010'), 'f.conf:3: face port 20010 is inside rtp-ports; a port face needs a port of its own');
  t.equal(err(base + 'map 2001:db8:1::20 192.0.2.9\nmap 2001:db8:1::21 192.0.2.9:5071'), 'f.conf:4: face 192.0.2.9:5071 is already used at f.conf:3');
  t.equal(err(base + 'map 2001:db8:1::21 192.0.2.9:5071\nmap 2001:db8:1::20 192.0.2.9'), 'f.conf:4: face 192.0.2.9 is already used at f.conf:3');
  t.equal(err(base + 'media-datapath kernel'), 'f.conf:3: media-datapath takes auto, native or js, got "kernel"');
  t.equal(err(base + 'sip-io dgram'), 'f.conf:3: sip-io takes auto, native or js, got "dgram"');
  t.equal(err(base + 'media-threads 0'), 'f.conf:3: 0 is out of range 1-64');
  t.equal(err(base + 'generic4 2001:db8::1'), 'f.conf:3: "2001:db8::1" is not an IPv4 address');
  t.equal(err('generic6 2001:db8::1'), "config: generic4 is required (the proxy's own IPv4 address)");
  t.equal(err(base + 'map 192.0.2.10 2001:db8::9\nmap 192.0.2.11 2001:db8::9'), 'f.conf:4: face 2001:db8::9 is already used at f.conf:3');
  t.equal(err(base + 'map 192.0.2.10 2001:db8::1'), 'f.conf:3: face 2001:db8::1 is also the generic address; give each party its own face');
  t.equal(err(base + 'tls-cert /x.pem'), 'config: tls-cert and tls-key go together');
  t.equal(err(base + 'map 192.0.2.10 2001:db8:64::10 tls'), 'f.conf:3: map ... tls needs tls-cert and tls-key');
  t.equal(err(base + 'map 192.0.2.10 2001:db8:64::10 tcp'), 'f.conf:3: map ... tcp needs "tcp yes"');
  t.equal(err(base + 'map 192.0.2.10 2001:db8:64::10 sctp'), 'f.conf:3: map transport must be udp, tcp or tls, got "sctp"');
  t.equal(err(base + 'tls-cert /x\ntls-key /y\ntls-port 5060'), 'config: tls-port must differ from sip-port');
  t.equal(err(base + 'advertise 192.0.2.9 198.51.100.1'), "f.conf:3: 192.0.2.9 is none of the proxy's addresses (a face, generic, media, inbound or outbound address)");
  t.equal(err(base + 'advertise 192.0.2.1 2001:db8::9'), 'f.conf:3: 2001:db8::9 is not in the family of 192.0.2.1');
  t.equal(err(base + 'advertise 192.0.2.1 2001:db8::1'), "f.conf:3: 2001:db8::1 is one of the proxy's own local addresses");
  t.equal(err(base + 'advertise 192.0.2.1 198.51.100.1\nadvertise 2001:db8::1 2001:db8:5::1\nadvertise 192.0.2.1 198.51.100.2'), 'f.conf:5: 192.0.2.1 is already advertised at f.conf:3');
  t.equal(err(base + 'advertise 192.0.2.1'), 'f.conf:3: advertise takes LOCAL PUBLIC');
  t.equal(err(base + 'uri-header X:Bad'), 'f.conf:3: "X:Bad" is not a header name');
  t.equal(err(base + 'uri-header'), 'f.conf:3: uri-header takes one value');
  t.equal(err(base + 'generic4 0.0.0.0'), 'f.conf:3: "0.0.0.0" is a wildcard address; name a real local address');
});

t.test('flags win over the file', async (t) => {
  const c = loadConfig(undefined, { generic4: '192.0.2.1', generic6: '2001:db8::1', map: ['192.0.2.10=2001:db8:64::10', '2001:db8:1::5=192.0.2.105,tcp'], sipPort: '5080', tcp: 'yes' });
  t.equal(c.maps[1].transport, 'tcp', '--map REAL=FACE,tcp');
  t.equal(c.sipPort, 5080);
  t.equal(c.maps[0].face.addr, '2001:db8:64::10');
  t.throws(() => loadConfig(undefined, { generic4: '192.0.2.1', generic6: '2001:db8::1', map: ['nonsense'] }), /--map: expected REAL=FACE/);
  t.throws(() => loadConfig('/nonexistent.conf', {}), /\/nonexistent.conf: cannot read: ENOENT/);
});

t.test('masquerading directives', async (t) => {
  const nat = 'inbound 192.0.2.1/24\noutbound 198.51.100.1\n';
  const c = validate(parseConfig(nat + 'registrar yes\ndomain Example.NET.\ndomain example.org\npasswd /etc/sipproxy64.passwd\ndigest-algorithms md5\ndefault-expires 600\nregistrations /tmp/r.json\n', 'f'));
  t.equal(c.inbound?.addr, '192.0.2.1');
  t.equal(c.inboundPrefix, 24);
  t.equal(c.outbound?.addr, '198.51.100.1');
  t.same(c.domains, ['example.net', 'example.org'], 'domains, lower case, repeatable');
  t.same(c.digestAlgorithms, ['MD5']);
  t.equal(c.defaultExpires, 600);
  t.equal(c.generic4, null, 'masquerading alone needs no generic addresses');
  const d = validate(parseConfig('inbound 192.0.2.1\noutbound gw.example.net\n', 'f'));
  t.equal(d.inboundPrefix, null, 'no prefix: the daemon reads the interface');
  t.equal(d.outboundName, 'gw.example.net', 'outbound by name (dynamic DNS)');
  t.equal(err('inbound 192.0.2.1'), 'config: inbound needs outbound (the public address)');
  t.equal(err('outbound 198.51.100.1'), 'config: outbound needs inbound (the LAN side address)');
  t.equal(err(nat + 'registrar yes\npasswd /x'), 'config: registrar yes needs a domain');
  t.equal(err(nat + 'registrar yes\ndomain example.net'), "config: registrar yes needs passwd (an open registrar would let anyone take a phone's calls)");
  t.equal(err(base + 'inbound 192.0.2.1\noutbound 198.51.100.1'), 'config: 192.0.2.1 is a face or generic address; inbound and outbound need their own addresses');
  t.equal(err('inbound 192.0.2.1/33\noutbound 198.51.100.1'), 'f.conf:1: 33 is out of range 8-32');
  t.equal(err('inbound 192.0.2.1\noutbound 192.0.2.1'), 'config: inbound and outbound must differ');
  t.equal(err(nat + 'digest-algorithms sha1'), 'f.conf:3: digest-algorithms takes sha-256 and/or md5, comma-separated, got "sha1"');
  t.equal(err(nat + 'domain -bad-'), 'f.conf:3: "-bad-" is not a domain name');
  t.equal(err(nat + 'default-expires 0'), 'f.conf:3: 0 is out of range 1-604800');
});

t.test('config mistakes that open holes are refused, naming the lines (SPEC 11)', async (t) => {
  t.equal(err(base + 'rtp-ports 5000-5999'), 'config: sip-port 5060 lies inside rtp-ports 5000-5999 (f.conf:3)', 'sip-port inside rtp-ports');
  t.equal(err('sip-port 20000\n' + base), 'f.conf:1: sip-port 20000 lies inside rtp-ports 20000-29999', 'the default range too');
  t.equal(err(base + 'map 2001:db8:1::5 192.0.2.105\nmap 192.0.2.105 2001:db8:64::5'), 'f.conf:3: face 192.0.2.105 is the real address mapped at f.conf:4', 'a face that is another line\'s party');
  t.equal(err(base + 'rtp-timeout 30\nrtp-timeout 60'), 'f.conf:4: rtp-timeout is given again (first at f.conf:3); say it once', 'a single-value directive twice');
  t.equal(err(base + 'generic4 192.0.2.2'), 'f.conf:3: generic4 is given again (first at f.conf:1); say it once');
  t.ok(validate(parseConfig(base + 'map 192.0.2.20 2001:db8:64::20\nmap 192.0.2.21 2001:db8:64::21', 'f')), 'map repeats');
});

t.test('rtp-hold-timeout and default-target (issue 17)', async (t) => {
  const c = validate(parseConfig('inbound 192.168.1.1/24\noutbound 192.0.2.1\ndefault-target sip:reception@192.168.1.20:5062\nrtp-hold-timeout 600\n', 'f'));
  t.same([c.defaultTarget, c.rtpHoldTimeout, validate(parseConfig(base, 'f')).rtpHoldTimeout], ['sip:reception@192.168.1.20:5062', 600, 3600]);
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\ndefault-target 192.168.1.20'), 'f.conf:3: default-target takes a SIP URI with a user part (sip:reception@192.168.1.20), got "192.168.1.20"');
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\ndefault-target sip:192.168.1.20'), 'f.conf:3: default-target takes a SIP URI with a user part (sip:reception@192.168.1.20), got "sip:192.168.1.20"');
  t.equal(err(base + 'default-target sip:reception@192.168.1.20'), 'f.conf:3: default-target serves masquerading (calls arriving at the outbound address)');
  t.equal(err(base + 'rtp-hold-timeout 0'), 'f.conf:3: 0 is out of range 1-86400');
  const nat = 'inbound 192.168.1.1/24\noutbound 192.0.2.1\n';
  const o = validate(parseConfig(nat + 'outbound-proxy Provider.Example. 203.0.113.50:5070\noutbound-proxy other.example proxy.other.example\noutbound-proxy v6.example [2001:db8::50]:5080\n', 'f'));
  t.same(o.outboundProxies.map((p) => [p.domain, p.host, p.port]), [['provider.example', '203.0.113.50', 5070], ['other.example', 'proxy.other.example', null], ['v6.example', '2001:db8::50', 5080]], 'outbound-proxy: domains in lower case, IP or name, a port or none');
  t.equal(err(nat + 'outbound-proxy provider.example'), 'f.conf:3: outbound-proxy takes DOMAIN HOST[:PORT]');
  t.equal(err(nat + 'outbound-proxy 192.0.2.9 203.0.113.50'), 'f.conf:3: "192.0.2.9" is not a domain name');
  t.equal(err(nat + 'outbound-proxy a.example 203.0.113.50\noutbound-proxy A.example 203.0.113.51'), 'f.conf:4: outbound-proxy for a.example is given twice');
  t.equal(err(base + 'outbound-proxy a.example 203.0.113.50'), 'f.conf:3: outbound-proxy serves masquerading (requests from the LAN)');
  const dual = validate(parseConfig('inbound 192.168.1.1/24\noutbound 192.0.2.1\noutbound 2001:db8::1\n', 'f'));
  t.same([dual.outbound?.addr, dual.outbound2?.addr], ['192.0.2.1', '2001:db8::1'], 'outbound once per family: a dual-stack line');
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\noutbound 192.0.2.2\n'), 'f.conf:3: outbound is given again (first at f.conf:2); once per family, a name or an interface once');
  t.equal(err('inbound 192.168.1.1/24\noutbound home.example.net\noutbound 2001:db8::1\n'), 'f.conf:3: outbound is given again (first at f.conf:2); once per family, a name or an interface once');
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\noutbound 2001:db8::1\noutbound 2001:db8::2\n'), 'f.conf:4: outbound is given again (first at f.conf:2); once per family, a name or an interface once');
  const { loadConfig: load } = await import('../../../src/cli/load.js');
  t.same(load(undefined, { inbound: '192.168.1.1/24', outbound: '192.0.2.1', outboundProxy: ['a.example=203.0.113.50:5070'] } as never).outboundProxies.map((p) => p.host), ['203.0.113.50'], '--outbound-proxy DOMAIN=HOST[:PORT]');
});

t.test('nat64 PREFIX/96 (RFC 6052)', async (t) => {
  const { embed, extract, nat64Refusal, parseNat64 } = await import('../../../src/config/nat64.js');
  const c = validate(parseConfig(base + 'nat64 2001:db8:64::/96\n', 'f'));
  t.same([c.nat64?.text, c.nat64?.wellKnown], ['2001:db8:64::/96', false]);
  const p = c.nat64 as NonNullable<typeof c.nat64>;
  t.equal(embed(p, '192.0.2.10').addr, '2001:db8:64::c000:20a', 'RFC 6052 2.2: the IPv4 address in the last 32 bits, RFC 5952 text');
  t.same(extract(p, '2001:db8:64::c000:20a'), { addr: '192.0.2.10', family: 4 });
  t.same(extract(p, '2001:DB8:64:0::C000:020A'.toLowerCase()), { addr: '192.0.2.10', family: 4 }, 'any spelling of the address');
  t.equal(extract(p, '2001:db8:65::c000:20a'), null, 'outside the prefix');
  t.equal(extract(p, '192.0.2.10'), null);
  const wkp = parseNat64('64:ff9b::/96');
  if (typeof wkp === 'string') throw new Error(wkp);
  t.equal(wkp.wellKnown, true);
  t.same(['127.0.0.1', '0.1.2.3', '224.0.0.1', '255.255.255.255', '169.254.169.254', '10.0.0.1', '192.0.2.10'].map((a) => nat64Refusal(p, a)), ['special', 'special', 'special', 'special', 'link-local', null, null],
    'SPEC 11: never loopback, this network, multicast, broadcast, link-local; private addresses under a network-specific prefix');
  t.same(['10.0.0.1', '100.64.0.1', '192.0.2.10', '169.254.1.1', '127.0.0.1'].map((a) => nat64Refusal(wkp, a)), ['non-global', 'non-global', 'non-global', 'link-local', 'special'], 'RFC 6052 3.1: the Well-Known Prefix stands for global IPv4 only');
  t.equal(err(base + 'nat64 2001:db8:64::/64'), 'f.conf:3: nat64 takes a /96 (the IPv4 address in the last 32 bits, RFC 6052 2.2), got /64');
  t.equal(err(base + 'nat64 192.0.2.0/24'), 'f.conf:3: nat64 takes an IPv6 prefix PREFIX/96 (64:ff9b::/96), got "192.0.2.0/24"');
  t.equal(err(base + 'nat64 2001:db8:64::1/96'), 'f.conf:3: "2001:db8:64::1/96" has host bits set (the prefix ends in ::)');
  t.equal(err(base + 'nat64 2001:db8:64:0:ff00::/96'), 'f.conf:3: "2001:db8:64:0:ff00::/96": bits 64 to 71 must be zero (RFC 6052 2.2)');
  t.equal(err(base + 'nat64 2001:db8::/96'), 'f.conf:3: 2001:db8::1 (generic6) lies inside the nat64 prefix 2001:db8::/96; the prefix stands for IPv4 parties only');
  t.equal(err(base + 'map 2001:db8:64::5 192.0.2.9\nnat64 2001:db8:64::/96'), 'f.conf:4: 2001:db8:64::5 (f.conf:3) lies inside the nat64 prefix 2001:db8:64::/96; the prefix stands for IPv4 parties only');
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\nnat64 2001:db8:64::/96\n'), 'f.conf:3: nat64 serves the address model (generic4/generic6), not masquerading');
});

t.test('prefix map lines of more than 256 hosts: one line, computed on use', async (t) => {
  const c = validate(parseConfig(base + 'map 10.0.0.0/16 2001:db8:64::/112\nmap 2001:db8:1::/118 198.51.100.0/22 udp\n', 'f'));
  t.equal(c.maps.length, 0, 'not expanded');
  t.same(c.prefixLines.map((l) => [l.real.text, l.face.text, l.transport, l.where]), [['10.0.0.0/16', '2001:db8:64::/112', null, 'f:3'], ['2001:db8:1::/118', '198.51.100.0/22', 'udp', 'f:4']]);
  const { hostOf, nth } = await import('../../../src/config/prefix.js');
  const l = c.prefixLines[0];
  t.same([hostOf(l.real, '10.0.1.7'), nth(l.face, 263).addr, hostOf(l.face, '2001:db8:64::107'), hostOf(l.real, '10.1.0.0'), hostOf(l.face, '2001:db8:65::1')], [263, '2001:db8:64::107', 263, null, null], 'host n of one is host n of the other');
  t.same([hostOf(l.real, '10.0.255.255'), nth(l.real, 65535).addr], [65535, '10.0.255.255'], 'the last host');
  t.equal(err(base + 'map 10.0.0.0/16 2001:db8:64::/112 tcp\ntcp yes'), 'f.conf:3: a prefix map line of more than 256 hosts takes udp only (its faces are served by one UDP socket)');
  t.equal(err(base + 'map 192.0.0.0/16 2001:db8:64::/112'), 'f.conf:3: 192.0.2.1 (generic4) lies inside 192.0.0.0/16 2001:db8:64::/112');
  t.equal(err(base + 'map 10.0.0.0/16 2001:db8::/112'), 'f.conf:3: 2001:db8::1 (generic6) lies inside 10.0.0.0/16 2001:db8::/112');
  t.equal(err(base + 'map 10.0.0.7 2001:db8:9::7\nmap 10.0.0.0/16 2001:db8:64::/112'), 'f.conf:4: 10.0.0.7 (mapped at f.conf:3) lies inside 10.0.0.0/16 2001:db8:64::/112');
  t.equal(err(base + 'map 2001:db8:64::7 192.0.2.9\nmap 10.0.0.0/16 2001:db8:64::/112'), 'f.conf:4: 2001:db8:64::7 (mapped at f.conf:3) lies inside 10.0.0.0/16 2001:db8:64::/112');
  t.equal(err(base + 'map 10.0.0.0/16 2001:db8:64::/112\nmap 10.0.128.0/17 2001:db8:65::/113'), 'f.conf:3: 10.0.0.0/16 2001:db8:64::/112 overlaps 10.0.128.0/17 (f.conf:4)');
  t.equal(err(base + 'map 10.0.0.0/16 2001:db8:64::/112\nmap 2001:db8:64::/118 198.51.100.0/22'), 'f.conf:3: 10.0.0.0/16 2001:db8:64::/112 overlaps 2001:db8:64::/118 (f.conf:4)', 'a face prefix that is another line\'s party prefix');
  t.equal(err(base + 'nat64 2001:db8:64::/96\nmap 10.0.0.0/16 2001:db8:64::/112'), 'f.conf:4: 10.0.0.0/16 2001:db8:64::/112 overlaps 2001:db8:64::/96 (f.conf:3)');
  t.equal(err('inbound 192.168.1.1/24\noutbound 192.0.2.1\nmap 10.0.0.0/16 2001:db8:64::/112\n'), 'f.conf:3: a prefix map line of more than 256 hosts serves the address model, not masquerading');
});

t.test('media-engine and secret (issue 18)', async (t) => {
  const c = validate(parseConfig(base + 'media-engine rtpengine 127.0.0.1:2223 [2001:db8::5]:2223\nsecret /etc/sipproxy64/secret\n', '/etc/f.conf'));
  t.same(c.rtpengines.map((e) => `${e.addr} ${e.port}`), ['127.0.0.1 2223', '2001:db8::5 2223']);
  t.equal(c.secret, '/etc/sipproxy64/secret');
  t.equal(validate(parseConfig(base + 'secret secret.txt\n', '/etc/sp64/f.conf')).secret, '/etc/sp64/secret.txt', 'relative to the config file');
  t.same(validate(parseConfig(base + 'media-engine embedded\n', 'f')).rtpengines, [], 'embedded: RTPproxy64');
  t.equal(err(base + 'media-engine rtpengine'), 'f.conf:3: media-engine takes embedded, or rtpengine ADDR:PORT [ADDR:PORT...] (up to 8)');
  t.equal(err(base + 'media-engine rtpengine 127.0.0.1'), 'f.conf:3: an rtpengine is ADDR:PORT (its listen-ng), got "127.0.0.1"');
  t.equal(err(base + 'media-engine rtpengine engine.example:2223'), 'f.conf:3: an rtpengine is ADDR:PORT (its listen-ng), got "engine.example:2223"');
  t.equal(err(base + 'media-engine kurento'), 'f.conf:3: media-engine takes embedded, or rtpengine ADDR:PORT [ADDR:PORT...] (up to 8)');
  t.equal(err('inbound 192.0.2.1\noutbound 198.51.100.1\nmedia-engine rtpengine 127.0.0.1:2223'), 'f.conf:3: masquerading relays its media with RTPproxy64 on its one host (media-engine rtpengine serves the address model)');
  const f = loadConfig(undefined, { generic4: '192.0.2.1', generic6: '2001:db8::1', mediaEngine: 'rtpengine=127.0.0.1:2223,127.0.0.1:2224' });
  t.equal(f.rtpengines.length, 2, '--media-engine rtpengine=A,B');
});
