package engine

import (
	"net/netip"
	"testing"

	"github.com/phonehome/phonehome/pkg/lab"
)

// TestDecideLAN checks the gateway rules on hand-made evidence.
func TestDecideLAN(t *testing.T) {
	a, r, x := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0x1}, [6]byte{2, 0, 0, 0, 0, 0x5}
	nets := func(ss ...string) []netip.Addr {
		var ev macEvidence
		for _, s := range ss {
			ev.addNet(netOf(netip.MustParseAddr(s)))
		}
		return ev.nets
	}
	three := nets("8.8.8.8", "1.1.1.1", "2606:4700::1")
	cases := []struct {
		name  string
		ev    map[[6]byte]*macEvidence
		lan   func(l *lanEvidence)
		known []lab.Device
		want  map[[6]byte]bool
	}{
		{name: "in front of three networks", ev: map[[6]byte]*macEvidence{r: {nets: three, srv: 3}, a: {nets: nets("2001:db8::1"), cli: 3}},
			want: map[[6]byte]bool{r: true}},
		{name: "one /64 is one network", ev: map[[6]byte]*macEvidence{a: {nets: nets("2001:db8::1", "2001:db8::2", "2001:db8::3"), cli: 1, srv: 1}},
			want: map[[6]byte]bool{}},
		{name: "servers behind it when nothing else says", ev: map[[6]byte]*macEvidence{r: {nets: nets("8.8.8.8"), srv: 4, cli: 2}, a: {nets: nets("2001:db8::1"), cli: 4, srv: 2}},
			want: map[[6]byte]bool{r: true}},
		{name: "DHCP client never", ev: map[[6]byte]*macEvidence{a: {nets: three, srv: 3}},
			lan: func(l *lanEvidence) { l.dhcpClient[a] = true }, want: map[[6]byte]bool{}},
		{name: "lab device never", ev: map[[6]byte]*macEvidence{a: {nets: three, srv: 3}},
			known: []lab.Device{{ID: "a", MAC: "02:00:00:00:00:0a"}}, want: map[[6]byte]bool{}},
		{name: "ARP for its own address: not on counts", ev: map[[6]byte]*macEvidence{a: {nets: three, srv: 3}},
			lan: func(l *lanEvidence) { l.arpOwn[a] = true }, want: map[[6]byte]bool{}},
		{name: "ARP for its own address: yes when it advertises routes", lan: func(l *lanEvidence) { l.arpOwn[r] = true; l.raRouter[r] = true },
			want: map[[6]byte]bool{r: true}},
		{name: "DHCP router option by ARP", lan: func(l *lanEvidence) {
			l.routerIPs[netip.MustParseAddr("192.168.0.254")] = true
			l.arpIP[netip.MustParseAddr("192.168.0.254")] = x
		}, want: map[[6]byte]bool{x: true}},
		{name: "learnt prefix makes the network local", ev: map[[6]byte]*macEvidence{a: {nets: nets("2001:db8:1::1", "2001:db8:2::1", "2001:db8:3::1"), cli: 3}},
			lan: func(l *lanEvidence) { l.addPrefix(netip.MustParsePrefix("2001:db8::/32")) }, want: map[[6]byte]bool{}},
		{name: "proxy ARP", lan: func(l *lanEvidence) {
			l.arpAnswers[x] = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}
		}, want: map[[6]byte]bool{x: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := newInventory(nil, tc.known)
			for m, ev := range tc.ev {
				inv.macEv.m[m] = ev
			}
			l := newLANEvidence()
			if tc.lan != nil {
				tc.lan(l)
			}
			v := inv.decideLAN(l)
			if len(v.gateway) != len(tc.want) {
				t.Errorf("gateways %v, want %v", v.gateway, tc.want)
			}
			for m := range tc.want {
				if !v.gateway[m] {
					t.Errorf("%x is not a gateway; gateways %v", m, v.gateway)
				}
			}
		})
	}
}

// TestSmallestMapMerges: two maps fed halves of the keys, merged and cut,
// hold the same keys and values as one map fed everything.
func TestSmallestMapMerges(t *testing.T) {
	cmpInt := func(a, b int) int { return a - b }
	one := newSmallestMap[int, *int](10, cmpInt)
	parts := [2]*smallestMap[int, *int]{newSmallestMap[int, *int](10, cmpInt), newSmallestMap[int, *int](10, cmpInt)}
	add := func(s *smallestMap[int, *int], k int) {
		if v, ok := s.get(k, func() *int { return new(int) }); ok {
			*v++
		}
	}
	for i := 0; i < 1000; i++ {
		k := (i * 7919) % 97
		add(one, k)
		add(parts[k%2], k)
	}
	mergeSmallest(parts[0], parts[1], func(a, b *int) *int { *a += *b; return a })
	one.finish()
	parts[0].finish()
	if len(one.m) != 10 || len(parts[0].m) != 10 {
		t.Fatalf("sizes %d and %d, want 10", len(one.m), len(parts[0].m))
	}
	for k, v := range one.m {
		if w, ok := parts[0].m[k]; !ok || *w != *v || k >= 10 {
			t.Errorf("key %d: %d alone, %v merged", k, *v, w)
		}
	}
}
