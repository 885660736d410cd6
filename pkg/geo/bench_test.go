package geo

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/geo/internal/geodata"
)

// randomAddrs returns n addresses: random IPv4 public-looking addresses or
// random IPv6 addresses inside 2000::/4 (where the allocations are).
func randomAddrs(n int, v6share int) []netip.Addr {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Addr, n)
	for i := range out {
		if rng.IntN(100) < v6share {
			var b [16]byte
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			b[0] = 0x20 | b[0]&0x0f
			out[i] = netip.AddrFrom16(b)
			continue
		}
		u := rng.Uint32()
		out[i] = netip.AddrFrom4([4]byte{byte(1 + u>>24%223), byte(u >> 16), byte(u >> 8), byte(u)})
	}
	return out
}

func benchLookup(b *testing.B, v6share int) {
	r := embedded(b)
	ips := randomAddrs(1<<14, v6share)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.Lookup(ips[i&(len(ips)-1)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkLookupV4(b *testing.B)    { benchLookup(b, 0) }
func BenchmarkLookupV6(b *testing.B)    { benchLookup(b, 100) }
func BenchmarkLookupMixed(b *testing.B) { benchLookup(b, 20) }

// BenchmarkLoadEmbedded measures the one-time start-up cost: decompress,
// parse and index the embedded data.
func BenchmarkLoadEmbedded(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(embeddedData)))
	for b.Loop() {
		t, err := geodata.Decode(embeddedData)
		if err != nil {
			b.Fatal(err)
		}
		_ = geodata.NewIndex(t)
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "8.219.0.1", "10.0.0.1", "2001:4860:4860::8888", "fe80::1", "64:ff9b::808:808", "::ffff:1.2.3.4", "ff02::1", "3fff::1"} {
		a := netip.MustParseAddr(s)
		b, _ := a.MarshalBinary()
		f.Add(b)
	}
	lan := netip.MustParsePrefix("192.168.1.0/24")
	r, err := New(Options{LAN: []netip.Prefix{lan}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ip netip.Addr
		switch {
		case len(b) >= 16:
			ip = netip.AddrFrom16([16]byte(b[:16]))
		case len(b) >= 4:
			ip = netip.AddrFrom4([4]byte(b[:4]))
		}
		in := r.Lookup(ip)
		if in.Special != "" && (in != Info{Special: in.Special}) {
			t.Fatalf("%v: special with data: %+v", ip, in)
		}
		if in.Country == Anycast && in.AnycastNet == "" || in.Country != "" && in.Country != Anycast && (len(in.Country) != 2 || in.CountryName == "") {
			t.Fatalf("%v: bad country %+v", ip, in)
		}
		if in.Registered != "" && (len(in.Registered) != 2 || in.RegisteredName == "") {
			t.Fatalf("%v: bad country %+v", ip, in)
		}
		if in.ASN == 0 && in.ASOrg != "" {
			t.Fatalf("%v: org without ASN %+v", ip, in)
		}
		if ip.Is4() {
			if got := r.Lookup(netip.AddrFrom16(ip.As16())); got != in {
				t.Fatalf("%v: mapped form differs: %+v vs %+v", ip, got, in)
			}
			if lan.Contains(ip) && in.Special != SpecialLAN {
				t.Fatalf("%v: LAN not reported", ip)
			}
		}
	})
}
