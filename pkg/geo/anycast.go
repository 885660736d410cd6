package geo

import "net/netip"

// anycastVersion dates the list below (when it was last checked against
// its sources).
const anycastVersion = "2026-12-01"

// anycastPrefix is one block announced from many places at once: a server
// behind it may answer from any country, so no single country is right.
type anycastPrefix struct {
	prefix netip.Prefix
	net    string
}

// anycastList holds the well-known anycast networks, each from its
// operator's own statement that the block is anycast (sources in
// docs/geo.md). Only whole blocks the operator announces everywhere are
// listed: networks that steer clients by DNS to regional (unicast)
// addresses, such as most of Akamai, Amazon CloudFront and Fastly, keep
// the country of their address.
var anycastList = []anycastPrefix{
	// Cloudflare: its published ranges (cloudflare.com/ips); every
	// Cloudflare data centre announces all of them. 1.1.1.1 and 1.0.0.1
	// (1.1.1.0/24, 1.0.0.0/24) are its public resolver.
	{netip.MustParsePrefix("1.0.0.0/24"), "Cloudflare"},
	{netip.MustParsePrefix("1.1.1.0/24"), "Cloudflare"},
	{netip.MustParsePrefix("103.21.244.0/22"), "Cloudflare"},
	{netip.MustParsePrefix("103.22.200.0/22"), "Cloudflare"},
	{netip.MustParsePrefix("103.31.4.0/22"), "Cloudflare"},
	{netip.MustParsePrefix("104.16.0.0/13"), "Cloudflare"},
	{netip.MustParsePrefix("104.24.0.0/14"), "Cloudflare"},
	{netip.MustParsePrefix("108.162.192.0/18"), "Cloudflare"},
	{netip.MustParsePrefix("131.0.72.0/22"), "Cloudflare"},
	{netip.MustParsePrefix("141.101.64.0/18"), "Cloudflare"},
	{netip.MustParsePrefix("162.158.0.0/15"), "Cloudflare"},
	{netip.MustParsePrefix("172.64.0.0/13"), "Cloudflare"},
	{netip.MustParsePrefix("173.245.48.0/20"), "Cloudflare"},
	{netip.MustParsePrefix("188.114.96.0/20"), "Cloudflare"},
	{netip.MustParsePrefix("190.93.240.0/20"), "Cloudflare"},
	{netip.MustParsePrefix("197.234.240.0/22"), "Cloudflare"},
	{netip.MustParsePrefix("198.41.128.0/17"), "Cloudflare"},
	{netip.MustParsePrefix("2400:cb00::/32"), "Cloudflare"},
	{netip.MustParsePrefix("2405:8100::/32"), "Cloudflare"},
	{netip.MustParsePrefix("2405:b500::/32"), "Cloudflare"},
	{netip.MustParsePrefix("2606:4700::/32"), "Cloudflare"},
	{netip.MustParsePrefix("2803:f800::/32"), "Cloudflare"},
	{netip.MustParsePrefix("2a06:98c0::/29"), "Cloudflare"},
	{netip.MustParsePrefix("2c0f:f248::/32"), "Cloudflare"},
	// Google Public DNS (8.8.8.8, 8.8.4.4, 2001:4860:4860::8888/8844).
	{netip.MustParsePrefix("8.8.4.0/24"), "Google Public DNS"},
	{netip.MustParsePrefix("8.8.8.0/24"), "Google Public DNS"},
	{netip.MustParsePrefix("2001:4860:4860::/48"), "Google Public DNS"},
	// Quad9 (9.9.9.9, 149.112.112.112, 2620:fe::fe, 2620:fe::9).
	{netip.MustParsePrefix("9.9.9.0/24"), "Quad9"},
	{netip.MustParsePrefix("149.112.112.0/24"), "Quad9"},
	{netip.MustParsePrefix("2620:fe::/48"), "Quad9"},
	// OpenDNS / Cisco Umbrella resolvers (208.67.222.222, 208.67.220.220,
	// 2620:119:35::35, 2620:119:53::53).
	{netip.MustParsePrefix("208.67.220.0/24"), "OpenDNS"},
	{netip.MustParsePrefix("208.67.222.0/24"), "OpenDNS"},
	{netip.MustParsePrefix("2620:119:35::/48"), "OpenDNS"},
	{netip.MustParsePrefix("2620:119:53::/48"), "OpenDNS"},
}

// anycastNet names the anycast network holding ip (already normalised:
// IPv4 unmapped, no zone), or "".
func anycastNet(ip netip.Addr) string {
	for i := range anycastList {
		if anycastList[i].prefix.Contains(ip) {
			return anycastList[i].net
		}
	}
	return ""
}
