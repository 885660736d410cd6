package geo

import "net/netip"

// Special-range names returned in Info.Special. Public addresses have "".
const (
	SpecialLAN           = "lan"           // a prefix given in Options.LAN
	SpecialPrivate       = "private"       // RFC 1918
	SpecialULA           = "ula"           // fc00::/7, RFC 4193
	SpecialLoopback      = "loopback"      // 127/8, ::1
	SpecialLinkLocal     = "link-local"    // 169.254/16, fe80::/10
	SpecialCGNAT         = "cgnat"         // 100.64/10, RFC 6598
	SpecialMulticast     = "multicast"     // 224/4, ff00::/8
	SpecialBroadcast     = "broadcast"     // 255.255.255.255
	SpecialDocumentation = "documentation" // RFC 5737, RFC 3849, RFC 9637
	SpecialUnspecified   = "unspecified"   // 0.0.0.0/8 ("this network"), ::
	SpecialBenchmarking  = "benchmarking"  // 198.18/15, 2001:2::/48
	SpecialProtocol      = "ietf-protocol" // 192.0.0.0/24 (DS-Lite, NAT64 discovery...)
	SpecialRelay6to4     = "6to4-relay"    // 192.88.99.0/24 (deprecated anycast)
	SpecialDiscard       = "discard"       // 100::/64, RFC 6666
	SpecialReserved      = "reserved"      // 240/4, IPv6 outside 2000::/3
	SpecialInvalid       = "invalid"       // the zero netip.Addr
)

type specialRange struct {
	p    netip.Prefix
	name string
}

// specials4 and specials6 follow the IANA special-purpose address
// registries; the first match wins, so narrower prefixes come first.
var specials4 = []specialRange{
	{netip.MustParsePrefix("255.255.255.255/32"), SpecialBroadcast},
	{netip.MustParsePrefix("0.0.0.0/8"), SpecialUnspecified},
	{netip.MustParsePrefix("10.0.0.0/8"), SpecialPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), SpecialCGNAT},
	{netip.MustParsePrefix("127.0.0.0/8"), SpecialLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), SpecialLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), SpecialPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), SpecialProtocol},
	{netip.MustParsePrefix("192.0.2.0/24"), SpecialDocumentation},
	{netip.MustParsePrefix("192.88.99.0/24"), SpecialRelay6to4},
	{netip.MustParsePrefix("192.168.0.0/16"), SpecialPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), SpecialBenchmarking},
	{netip.MustParsePrefix("198.51.100.0/24"), SpecialDocumentation},
	{netip.MustParsePrefix("203.0.113.0/24"), SpecialDocumentation},
	{netip.MustParsePrefix("224.0.0.0/4"), SpecialMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), SpecialReserved},
}

var specials6 = []specialRange{
	{netip.MustParsePrefix("::/128"), SpecialUnspecified},
	{netip.MustParsePrefix("::1/128"), SpecialLoopback},
	{netip.MustParsePrefix("100::/64"), SpecialDiscard},
	{netip.MustParsePrefix("fc00::/7"), SpecialULA},
	{netip.MustParsePrefix("fe80::/10"), SpecialLinkLocal},
	{netip.MustParsePrefix("ff00::/8"), SpecialMulticast},
}

// specials6Global are the special ranges inside 2000::/3.
var specials6Global = []specialRange{
	{netip.MustParsePrefix("2001:2::/48"), SpecialBenchmarking},
	{netip.MustParsePrefix("2001:db8::/32"), SpecialDocumentation},
	{netip.MustParsePrefix("3fff::/20"), SpecialDocumentation},
}

// nat64 is the well-known NAT64 prefix (RFC 6052); addresses in it stand for
// the IPv4 address in their last 32 bits and are looked up as that address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Special returns the special-range name of ip, or "" for a public address.
// ip must already be unmapped. It does not know about the lab LAN; use
// Resolver.Lookup for that.
func Special(ip netip.Addr) string {
	if !ip.IsValid() {
		return SpecialInvalid
	}
	if ip.Is4() {
		b := ip.As4()
		// Fast path: most addresses are public unicast; check the first
		// octet before scanning the table.
		switch b[0] {
		case 0, 10, 100, 127, 169, 172, 192, 198, 203, 255:
		default:
			if b[0] < 224 {
				return ""
			}
		}
		for _, s := range specials4 {
			if s.p.Contains(ip) {
				return s.name
			}
		}
		return ""
	}
	b := ip.As16()
	if b[0]&0xe0 == 0x20 { // 2000::/3, global unicast
		if b[0] == 0x20 && b[1] == 0x01 || b[0] == 0x3f {
			for _, s := range specials6Global {
				if s.p.Contains(ip) {
					return s.name
				}
			}
		}
		return ""
	}
	for _, s := range specials6 {
		if s.p.Contains(ip) {
			return s.name
		}
	}
	return SpecialReserved
}

// IsSpecialName reports whether s is one of the Special* names, so code that
// stores Info.Special in a country field (as audit.Dest does) can tell the
// two apart.
func IsSpecialName(s string) bool {
	switch s {
	case SpecialLAN, SpecialPrivate, SpecialULA, SpecialLoopback, SpecialLinkLocal, SpecialCGNAT,
		SpecialMulticast, SpecialBroadcast, SpecialDocumentation, SpecialUnspecified, SpecialBenchmarking,
		SpecialProtocol, SpecialRelay6to4, SpecialDiscard, SpecialReserved, SpecialInvalid:
		return true
	}
	return false
}
