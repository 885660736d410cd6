package geo

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func embedded(t testing.TB) *Resolver {
	t.Helper()
	Preload() // harmless when the data is already decoded
	r, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWellKnown checks the embedded data against addresses whose network
// owner is public knowledge: resolvers, large clouds, and the Alibaba Cloud
// (AS45102) and Zoom (AS30103) ranges named in shared/docs/signatures.md.
// Country (the located country, or "anycast") is checked only where it is
// stable (country "" skips); registered is the registration country.
// After a data refresh a failure here means an allocation moved: check it
// before changing the table.
func TestWellKnown(t *testing.T) {
	r := embedded(t)
	tests := []struct {
		ip      string
		country string
		asn     uint32
		org     string // substring of ASOrg
	}{
		{"8.8.8.8", Anycast, 15169, "Google"},
		{"8.8.4.4", Anycast, 15169, "Google"},
		{"2001:4860:4860::8888", Anycast, 15169, "Google"},
		{"1.1.1.1", Anycast, 13335, "Cloudflare"},
		{"104.16.0.1", Anycast, 13335, "Cloudflare"},
		{"2606:4700:4700::1111", Anycast, 13335, "Cloudflare"},
		{"9.9.9.9", Anycast, 19281, "Quad9"},
		{"149.112.112.112", Anycast, 19281, "Quad9"},
		{"2620:fe::fe", Anycast, 19281, "Quad9"},
		{"208.67.222.222", Anycast, 36692, "OpenDNS"},
		{"17.253.144.10", "US", 714, "Apple"},
		{"52.95.110.1", "", 16509, "Amazon"},
		{"20.190.128.1", "", 8075, "Microsoft"},
		{"2a01:111::1", "", 8075, "Microsoft"},
		{"31.13.64.1", "", 32934, "Facebook"},
		{"2a03:2880:f12f:83:face:b00c:0:25de", "", 32934, "Facebook"},
		{"151.101.1.1", "", 54113, "Fastly"},
		{"23.32.0.1", "", 20940, "Akamai"},
		// Alibaba Cloud international (AS45102): Singapore region and US.
		{"8.219.0.1", "SG", 45102, "Alibaba"},
		{"47.74.0.1", "", 45102, "Alibaba"},
		{"47.241.0.1", "", 45102, "Alibaba"},
		{"2401:8680::1", "", 45102, "Alibaba"},
		{"2407:bc00::1", "", 45102, "Alibaba"},
		// Aliyun China (AS37963).
		{"203.107.1.1", "CN", 37963, "Alibaba"},
		{"2401:b180::1", "CN", 37963, "Alibaba"},
		// Zoom's own ranges (AS30103) from its published list.
		{"206.247.0.1", "US", 30103, "Zoom"},
		{"144.195.0.1", "US", 30103, "Zoom"},
		{"149.137.0.1", "US", 30103, "Zoom"},
		{"159.124.0.1", "US", 30103, "Zoom"},
		{"2620:123:2000::1", "US", 30103, "Zoom"},
		// Zoom's list also holds ranges hosted by AWS and by Chinese carriers.
		{"3.7.35.1", "", 16509, "Amazon"},
		{"221.122.63.1", "CN", 4808, "China Unicom"},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			in := r.Lookup(netip.MustParseAddr(tc.ip))
			if in.Special != "" {
				t.Fatalf("Special = %q, want public", in.Special)
			}
			if in.ASN != tc.asn || !strings.Contains(in.ASOrg, tc.org) {
				t.Errorf("AS = %d %q, want %d containing %q", in.ASN, in.ASOrg, tc.asn, tc.org)
			}
			if in.Country == Anycast {
				if in.AnycastNet == "" || in.CountryName != "" {
					t.Errorf("anycast without a network name: %+v", in)
				}
			} else if len(in.Country) != 2 || in.CountryName == "" {
				t.Errorf("country = %q %q, want an ISO code and a name", in.Country, in.CountryName)
			}
			if len(in.Registered) != 2 || in.RegisteredName == "" {
				t.Errorf("registered = %q %q, want an ISO code and a name", in.Registered, in.RegisteredName)
			}
			if tc.country != "" && in.Country != tc.country {
				t.Errorf("country = %q, want %q", in.Country, tc.country)
			}
		})
	}
}

func TestCountryNames(t *testing.T) {
	r := embedded(t)
	for code, want := range map[string]string{"SG": "Singapore", "US": "United States", "CN": "China", "DE": "Germany"} {
		if got := r.countryName(code); got != want {
			t.Errorf("countryName(%s) = %q, want %q", code, got, want)
		}
	}
	if got := r.countryName("QQ"); got != "" {
		t.Errorf("countryName(QQ) = %q, want empty", got)
	}
}

func TestSpecialRanges(t *testing.T) {
	lan := netip.MustParsePrefix("192.168.7.0/24")
	r, err := New(Options{LAN: []netip.Prefix{lan, netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("::ffff:172.20.0.0/112")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ip, want string }{
		{"192.168.7.20", SpecialLAN},
		{"2001:db8:1::5", SpecialLAN},
		{"192.168.8.1", SpecialPrivate},
		{"10.1.2.3", SpecialPrivate},
		{"172.16.0.1", SpecialPrivate},
		{"172.20.3.4", SpecialLAN}, // LAN given in IPv4-mapped form
		{"172.31.255.255", SpecialPrivate},
		{"172.32.0.1", ""},
		{"fd12:3456::1", SpecialULA},
		{"fc00::1", SpecialULA},
		{"127.0.0.1", SpecialLoopback},
		{"::1", SpecialLoopback},
		{"169.254.1.1", SpecialLinkLocal},
		{"fe80::1", SpecialLinkLocal},
		{"fe80::1%eth0", SpecialLinkLocal},
		{"100.64.0.1", SpecialCGNAT},
		{"100.127.255.255", SpecialCGNAT},
		{"100.128.0.1", ""},
		{"224.0.0.251", SpecialMulticast},
		{"239.255.255.250", SpecialMulticast},
		{"ff02::fb", SpecialMulticast},
		{"255.255.255.255", SpecialBroadcast},
		{"192.0.2.1", SpecialDocumentation},
		{"198.51.100.1", SpecialDocumentation},
		{"203.0.113.1", SpecialDocumentation},
		{"2001:db8::1", SpecialDocumentation},
		{"3fff::1", SpecialDocumentation},
		{"0.0.0.0", SpecialUnspecified},
		{"::", SpecialUnspecified},
		{"198.18.0.1", SpecialBenchmarking},
		{"2001:2::1", SpecialBenchmarking},
		{"192.0.0.9", SpecialProtocol},
		{"192.88.99.1", SpecialRelay6to4},
		{"100::1", SpecialDiscard},
		{"240.0.0.1", SpecialReserved},
		{"4000::1", SpecialReserved},
		{"::ffff:10.0.0.1", SpecialPrivate}, // IPv4-mapped
		{"::ffff:192.168.7.1", SpecialLAN},  // IPv4-mapped LAN
		{"64:ff9b::c0a8:701", SpecialLAN},   // NAT64 of a LAN address
		{"64:ff9b::808:808", ""},            // NAT64 of 8.8.8.8
		{"8.8.8.8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			in := r.Lookup(netip.MustParseAddr(tc.ip))
			if in.Special != tc.want {
				t.Fatalf("Special = %q, want %q", in.Special, tc.want)
			}
			if tc.want != "" && (in != Info{Special: tc.want}) {
				t.Errorf("special address carries geo data: %+v", in)
			}
		})
	}
	if got := r.Lookup(netip.Addr{}); got.Special != SpecialInvalid {
		t.Errorf("zero Addr: Special = %q", got.Special)
	}
	for _, tc := range tests {
		if tc.want != "" && !IsSpecialName(tc.want) {
			t.Errorf("IsSpecialName(%q) = false", tc.want)
		}
	}
	for _, s := range []string{"", "SG", "US", "public"} {
		if IsSpecialName(s) {
			t.Errorf("IsSpecialName(%q) = true", s)
		}
	}
}

func TestMappedEqualsPlain(t *testing.T) {
	r := embedded(t)
	for _, s := range []string{"8.8.8.8", "8.219.0.1", "1.1.1.1"} {
		a := netip.MustParseAddr(s)
		b := a.As4()
		mapped := netip.AddrFrom16(netip.AddrFrom4(b).As16())
		nat := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		want := r.Lookup(a)
		if got := r.Lookup(mapped); got != want {
			t.Errorf("%s mapped: %+v, want %+v", s, got, want)
		}
		if got := r.Lookup(nat); got != want {
			t.Errorf("%s NAT64: %+v, want %+v", s, got, want)
		}
	}
}

func TestSources(t *testing.T) {
	src := embedded(t).Sources()
	if len(src) != 4 || src[0].Kind != "geo-country" || src[1].Kind != "geo-asn" || src[2].Kind != "geo-registered-country" || src[3].Kind != "geo-anycast" {
		t.Fatalf("Sources = %+v", src)
	}
	for _, s := range src {
		if !strings.HasPrefix(s.Source, "embedded: ") || len(s.Version) != len("2006-01-02") || s.License == "" {
			t.Errorf("incomplete data set %+v", s)
		}
		if s.Kind != "geo-anycast" && !strings.HasPrefix(s.Source, "embedded: @ip-location-db/") {
			t.Errorf("incomplete data set %+v", s)
		}
	}
	if !strings.Contains(src[0].License, "CC-BY-4.0") || !strings.Contains(src[0].License, "DB-IP") {
		t.Errorf("country licence %q lacks CC-BY-4.0 and the DB-IP attribution", src[0].License)
	}
	if !strings.Contains(src[1].License, "CC-BY-4.0") {
		t.Errorf("ASN licence %q lacks CC-BY-4.0", src[1].License)
	}
	// Sources returns a copy.
	src[0].Kind = "x"
	if embedded(t).Sources()[0].Kind != "geo-country" {
		t.Error("Sources exposes internal state")
	}
}

func TestInvalidLAN(t *testing.T) {
	if _, err := New(Options{LAN: []netip.Prefix{{}}}); err == nil {
		t.Error("New accepted an invalid LAN prefix")
	}
}

func TestLookupAllocs(t *testing.T) {
	r := embedded(t)
	ips := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("10.0.0.1")}
	if n := testing.AllocsPerRun(100, func() {
		for _, ip := range ips {
			_ = r.Lookup(ip)
		}
	}); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

func TestConcurrentLookup(t *testing.T) {
	r := embedded(t)
	want := r.Lookup(netip.MustParseAddr("8.219.0.1"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if got := r.Lookup(netip.MustParseAddr("8.219.0.1")); got != want {
					t.Errorf("concurrent lookup differs: %+v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReleaseDecodesAgain: after Release the next lookups decode the
// embedded data again and answer as before, also when they race.
func TestReleaseDecodesAgain(t *testing.T) {
	r := embedded(t)
	ips := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2606:4700:4700::1111"), netip.MustParseAddr("203.0.113.9")}
	var want []Info
	for _, ip := range ips {
		want = append(want, r.Lookup(ip))
	}
	first := index()
	Release()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, ip := range ips {
				if got := r.Lookup(ip); got != want[i] {
					t.Errorf("%v after Release: %+v, want %+v", ip, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
	if index() == first {
		t.Error("Release kept the decoded data")
	}
	if index() != index() {
		t.Error("the data is decoded again on every lookup")
	}
}
