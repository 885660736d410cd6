package dns

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/proto"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func answer(t testing.TB, qname string, ip string) *Message {
	t.Helper()
	a := netip.MustParseAddr(ip)
	typ, data := TypeA, a.AsSlice()
	if a.Is6() {
		typ = TypeAAAA
	}
	b := header(1, qr|rd|ra, 1, 1, 0, 0).question(qname, typ, 1).rr("@12", typ, 1, 60, rawData(data...)).b
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestCacheChainAndPreference(t *testing.T) {
	var chainMsg Message
	if err := Parse(parseCases()[1].msg, &chainMsg); err != nil { // response-cname-chain
		t.Fatal(err)
	}
	alice, bob := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	c := NewCache(0)
	c.Add(alice, &chainMsg, proto.Meta{Time: at(0)})
	c.Add(bob, answer(t, "Other.Example", "192.0.2.1"), proto.Meta{Time: at(10)})
	c.Add(alice, answer(t, "later.example", "192.0.2.1"), proto.Meta{Time: at(100)})
	// A query (not a response) is ignored.
	q := answer(t, "ignored.example", "192.0.2.1")
	q.Response = false
	c.Add(alice, q, proto.Meta{Time: at(20)})

	server := netip.MustParseAddr("192.0.2.1")
	cases := []struct {
		name      string
		client    netip.Addr
		server    netip.Addr
		at        time.Time
		wantName  string
		wantChain []string
		wantWhen  time.Time
		wantOK    bool
	}{
		{"same client latest before", alice, server, at(50), "www.example.com",
			[]string{"www.example.com", "www.cdn.example.com", "edge.example.net"}, at(0), true},
		{"same client newer answer", alice, server, at(200), "later.example", []string{"later.example"}, at(100), true},
		{"other client before", bob, server, at(50), "other.example", []string{"other.example"}, at(10), true},
		{"unknown client falls back to any client", netip.MustParseAddr("10.9.9.9"), server, at(50), "other.example", nil, at(10), true},
		{"before any answer: earliest after, same client", alice, server, at(-5), "www.example.com", nil, at(0), true},
		{"ipv4-mapped server", alice, netip.MustParseAddr("::ffff:192.0.2.1"), at(200), "later.example", nil, at(100), true},
		{"unknown server", alice, netip.MustParseAddr("192.0.2.99"), at(50), "", nil, time.Time{}, false},
	}
	for _, tc := range cases {
		name, chain, when, ok := c.Name(tc.client, tc.server, tc.at)
		if name != tc.wantName || ok != tc.wantOK || !when.Equal(tc.wantWhen) ||
			(tc.wantChain != nil && !slices.Equal(chain, tc.wantChain)) {
			t.Errorf("%s: got %q %q %v %v", tc.name, name, chain, when, ok)
		}
	}
	// The same address behind the chain's second A record.
	if name, _, _, ok := c.Name(alice, netip.MustParseAddr("192.0.2.2"), at(50)); !ok || name != "www.example.com" {
		t.Errorf("192.0.2.2 = %q %v", name, ok)
	}
}

func TestCachePTRAndMDNS(t *testing.T) {
	ptr := header(2, qr|rd|ra, 1, 1, 0, 0).question("20.1.168.192.in-addr.arpa", TypePTR, 1).
		rr("@12", TypePTR, 1, 60, nameData("Printer.lan")).b
	v6 := header(3, qr|aa, 0, 1, 0, 0).
		rr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", TypePTR, 0x8001, 60, nameData("box.local")).b
	c := NewCache(0)
	var m Message
	client := netip.MustParseAddr("192.168.1.5")
	for _, b := range [][]byte{ptr, v6, parseCases()[3].msg /* mdns-announce */} {
		if err := Parse(b, &m); err != nil {
			t.Fatal(err)
		}
		c.Add(client, &m, proto.Meta{Time: at(1)})
	}
	if n, _, ok := c.PTR(client, netip.MustParseAddr("192.168.1.20"), at(2)); !ok || n != "printer.lan" {
		t.Errorf("PTR v4 = %q %v", n, ok)
	}
	if n, _, ok := c.PTR(client, netip.MustParseAddr("2001:db8::1"), at(2)); !ok || n != "box.local" {
		t.Errorf("PTR v6 = %q %v", n, ok)
	}
	// The mDNS announcement has no questions: its additional AAAA counts too.
	for _, ip := range []string{"192.168.1.20", "fe80::20"} {
		if n, _, _, ok := c.Name(client, netip.MustParseAddr(ip), at(2)); !ok || n != "living-room.local" {
			t.Errorf("mDNS %s = %q %v", ip, n, ok)
		}
	}
}

func TestCacheEviction(t *testing.T) {
	c := NewCache(4)
	client := netip.MustParseAddr("10.0.0.2")
	ips := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"}
	for i, ip := range ips {
		c.Add(client, answer(t, "h.example", ip), proto.Meta{Time: at(i)})
		// Keep refreshing the first address: it must survive.
		c.Add(client, answer(t, "first.example", ips[0]), proto.Meta{Time: at(i)})
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d", c.Len())
	}
	if _, _, _, ok := c.Name(client, netip.MustParseAddr(ips[0]), at(10)); !ok {
		t.Error("refreshed address evicted")
	}
	if _, _, _, ok := c.Name(client, netip.MustParseAddr(ips[1]), at(10)); ok {
		t.Error("oldest address kept")
	}
	// Many clients for one address stay bounded.
	for i := 0; i < 100; i++ {
		c.Add(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), answer(t, "many.example", ips[4]), proto.Meta{Time: at(i)})
	}
	if s := c.addrs[netip.MustParseAddr(ips[4])]; len(s.res) > perAddr {
		t.Errorf("%d resolutions kept", len(s.res))
	}
	for i := 0; i < 10000; i++ {
		c.Add(client, answer(t, "churn.example", netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}).String()), proto.Meta{Time: at(i)})
	}
	if c.Len() != 4 || len(c.fifo)-c.head > 4*4+16 {
		t.Errorf("Len %d fifo %d", c.Len(), len(c.fifo)-c.head)
	}
}

func TestReverseAddr(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"4.3.2.1.in-addr.arpa", "1.2.3.4"},
		{"4.3.2.1.IN-ADDR.ARPA.", "1.2.3.4"},
		{"256.3.2.1.in-addr.arpa", ""},
		{"04.3.2.1.in-addr.arpa", ""},
		{"3.2.1.in-addr.arpa", ""},
		{"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", "4321:0:1:2:3:4:567:89ab"},
		{"x.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", ""},
		{"example.com", ""},
	}
	for _, c := range cases {
		a, ok := ReverseAddr([]byte(c.in))
		got := ""
		if ok {
			got = a.String()
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.in, got, c.want)
		}
	}
}

// reverseAddrRef is ReverseAddr as it was written on strings (lower-cased
// copy, strings.Split), the reference for TestReverseAddrSameAsStrings.
func reverseAddrRef(name []byte) (netip.Addr, bool) {
	n := strings.ToLower(strings.TrimSuffix(string(name), "."))
	if rest, ok := strings.CutSuffix(n, ".in-addr.arpa"); ok {
		var ip [4]byte
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		for i, p := range parts {
			if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			v := 0
			for _, ch := range []byte(p) {
				if ch < '0' || ch > '9' {
					return netip.Addr{}, false
				}
				v = v*10 + int(ch-'0')
			}
			if v > 255 {
				return netip.Addr{}, false
			}
			ip[3-i] = byte(v)
		}
		return netip.AddrFrom4(ip), true
	}
	if rest, ok := strings.CutSuffix(n, ".ip6.arpa"); ok {
		if len(rest) != 63 {
			return netip.Addr{}, false
		}
		var ip [16]byte
		for i := 0; i < 32; i++ {
			ch := rest[2*i]
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case ch >= '0' && ch <= '9':
				v = ch - '0'
			case ch >= 'a' && ch <= 'f':
				v = ch - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			nib := 31 - i
			if nib%2 == 0 {
				ip[nib/2] |= v << 4
			} else {
				ip[nib/2] |= v
			}
		}
		return netip.AddrFrom16(ip), true
	}
	return netip.Addr{}, false
}

// TestReverseAddrSameAsStrings: ReverseAddr on the bytes gives what the
// string version gave, for reverse names, their near misses (case,
// labels, digits, lengths, non-ASCII bytes) and every one-byte change of
// them.
func TestReverseAddrSameAsStrings(t *testing.T) {
	seeds := []string{
		"4.3.2.1.in-addr.arpa", "4.3.2.1.IN-ADDR.ARPA.", "255.0.10.192.in-Addr.Arpa", "0.0.0.0.in-addr.arpa",
		"4.3.2.1.0.in-addr.arpa", "4..2.1.in-addr.arpa", ".3.2.1.in-addr.arpa", "in-addr.arpa", ".in-addr.arpa", "1.in-addr.arpa..",
		"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa",
		"B.A.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.F.IP6.ARPA.",
		"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.ip6.arpa",
		"4.3.2.\xc4\xb0.in-addr.arpa", "4.3.2.1.in-addr.arpa\xe2\x84\xaa", "_services._dns-sd._udp.local", "",
	}
	check := func(in []byte) {
		a, ok := ReverseAddr(in)
		wa, wok := reverseAddrRef(in)
		if a != wa || ok != wok {
			t.Fatalf("%q: %v %v, want %v %v", in, a, ok, wa, wok)
		}
	}
	found := 0
	for _, s := range seeds {
		check([]byte(s))
		if _, ok := reverseAddrRef([]byte(s)); ok {
			found++
		}
		for i := range len(s) {
			for _, c := range []byte{'0', '9', 'a', 'F', '.', 'x', 0xc4} {
				b := []byte(s)
				b[i] = c
				check(b)
			}
			check([]byte(s[:i] + s[i+1:]))
		}
	}
	if found < 5 {
		t.Fatalf("only %d seeds are reverse names", found)
	}
}

func BenchmarkCacheAdd(b *testing.B) {
	var m Message
	if err := Parse(parseCases()[1].msg, &m); err != nil {
		b.Fatal(err)
	}
	c := NewCache(1024)
	client := netip.MustParseAddr("10.0.0.2")
	b.ReportAllocs()
	for b.Loop() {
		c.Add(client, &m, proto.Meta{Time: t0})
	}
}

// BenchmarkCacheChurn adds answers for ever new addresses (4,096 names,
// IPv4 and IPv6, 64 clients) to a default-sized cache, which evicts as on a
// long capture. held-B/addr is the heap the full cache holds per address.
func BenchmarkCacheChurn(b *testing.B) {
	var msgs []*Message
	for i := range 4096 {
		ip := "192.0.2.1"
		if i%4 == 3 {
			ip = "2001:db8::1"
		}
		msgs = append(msgs, answer(b, fmt.Sprintf("host%d.example", i), ip))
	}
	addr := func(i int) netip.Addr {
		if i%4 == 3 {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		}
		return netip.AddrFrom4([4]byte{byte(i>>24) | 64, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	add := func(c *Cache, i int) {
		m := msgs[i%len(msgs)]
		m.Answers[0].Addr = addr(i)
		c.Add(netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 64)}), m, proto.Meta{Time: t0})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := NewCache(0)
	for i := range DefaultCacheSize {
		add(c, i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc-before.HeapAlloc) / float64(c.Len())
	i := DefaultCacheSize
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		add(c, i)
		i++
	}
	b.ReportMetric(held, "held-B/addr")
	runtime.KeepAlive(c)
}

// TestCacheChainPerOwner: address records of one owner in a row share the
// chain followed for the first, and a record of another owner (between
// them, or in another case) gets its own: every address is named with its
// own chain, as AddressNames, which follows it per record, says.
func TestCacheChainPerOwner(t *testing.T) {
	b := header(9, qr|rd|ra, 1, 7, 0, 0).
		question("www.example.com", TypeA, 1).
		rr("@12", TypeCNAME, 1, 300, nameData("edge.example.net")).
		rr("edge.example.net", TypeA, 1, 20, rawData(192, 0, 2, 1)).
		rr("edge.example.net", TypeA, 1, 20, rawData(192, 0, 2, 2)).
		rr("other.example.org", TypeA, 1, 20, rawData(192, 0, 2, 3)).
		rr("EDGE.example.net", TypeA, 1, 20, rawData(192, 0, 2, 4)).
		rr("edge.example.net", TypeAAAA, 1, 20, rawData(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5)).
		rr("other.example.org", TypeA, 1, 20, rawData(192, 0, 2, 6)).b
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	client := netip.MustParseAddr("10.0.0.2")
	c := NewCache(0)
	c.Add(client, &m, proto.Meta{Time: at(0)})
	n := 0
	AddressNames(&m, func(addr netip.Addr, first string) {
		n++
		name, chain, _, ok := c.Name(client, addr, at(1))
		want := []string{"other.example.org"}
		if first == "www.example.com" {
			want = []string{"www.example.com", "edge.example.net"}
		}
		if !ok || name != first || !slices.Equal(chain, want) {
			t.Errorf("%v: %q %q %v, want %q %q", addr, name, chain, ok, first, want)
		}
	})
	if n != 6 {
		t.Fatalf("%d addresses, want 6", n)
	}
}
