package enrich

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

func TestOwnDomain(t *testing.T) {
	cases := []struct {
		maker, domain string
		want          bool
	}{
		{"D-Link International", "dlink.com", true},
		{"Withings", "withings.net", true},
		{"Samsung Electronics Co.,Ltd", "samsungcloudsolution.com", true},
		{"Google, Inc.", "googleapis.com", true},
		{"Dell Inc.", "go.com", false},
		{"Sony Interactive Entertainment", "playstation.net", false}, // named by its signature instead
		{"LG", "lge.com", false},                                     // too short to tell
		{"", "example.com", false},
	}
	for _, tc := range cases {
		if got := ownDomain(tc.maker, tc.domain); got != tc.want {
			t.Errorf("ownDomain(%q, %q) = %v, want %v", tc.maker, tc.domain, got, tc.want)
		}
	}
}

// TestDevice: the stage's decisions on one device, without geo or
// signature data (those are tested on real captures in pkg/engine).
func TestDevice(t *testing.T) {
	web := audit.Dest{Name: "api.tracker-example.net", IP: "198.51.100.7", Port: 80, Transport: "tcp", Channel: "HTTP"}
	own := audit.Dest{Name: "cloud.acme.com", IP: "198.51.100.8", Port: 443, Transport: "tcp", Channel: "TLS1.2"}
	in := Device{
		Device: audit.Device{ID: "mac:02:00:00:00:00:01", Name: "cam", Vendor: "Acme Devices"},
		Dests: []audit.Destination{
			{Dest: own, Flows: 2, BytesUp: 100, BytesDown: 900},
			{Dest: web, Flows: 1, BytesUp: 400, BytesDown: 100, PlaintextUp: 400, Protocols: []string{"http", "dns"}},
		},
		Leaks: []audit.Leak{
			{Identifier: "serial", Value: "SN-00112233", Dest: own, Count: 1, Frame: 9},
			{Identifier: "imei", Value: "356938035643809", Dest: web, Count: 1, Frame: 4},
		},
		Findings:   []audit.Finding{{Severity: audit.Low, Kind: "k", Message: "m", Dest: own, Frame: 3}},
		UserAgents: []string{"b", "a"},
	}
	dev := New(Config{}).Device(in)
	if got := []string{dev.Destinations[0].Name, dev.Destinations[1].Name}; !slices.Equal(got, []string{own.Name, web.Name}) {
		t.Errorf("destination order %v (most bytes first)", got)
	}
	if dev.Destinations[0].Domain != "acme.com" || dev.Leaks[0].Dest.Domain != "tracker-example.net" {
		t.Errorf("domains %q %q", dev.Destinations[0].Domain, dev.Leaks[0].Dest.Domain)
	}
	if !slices.Equal(dev.Destinations[1].Protocols, []string{"dns", "http"}) || dev.Destinations[0].Protocols == nil {
		t.Errorf("protocols %v %v", dev.Destinations[0].Protocols, dev.Destinations[1].Protocols)
	}
	// imei in clear to an unlisted, not-own domain: strong 2 + plain 2 + third 1.
	l := dev.Leaks[0]
	if l.Identifier != "imei" || l.Severity != audit.Critical || l.Value != "3569*******3809" || l.ThirdParty != "tracker-example.net" {
		t.Errorf("imei leak %+v", l)
	}
	// serial over TLS to the maker's own domain: strong base only (low).
	if l := dev.Leaks[1]; l.Severity != audit.Low || l.ThirdParty != "" {
		t.Errorf("serial leak %+v", l)
	}
	s := dev.Summary
	if s.BytesUp != 500 || s.PlaintextShare != 0.8 || !slices.Equal(s.ThirdParties, []string{"tracker-example.net"}) ||
		s.WorstSeverity != audit.Critical || s.WorstFinding != "imei leaked to api.tracker-example.net (HTTP)" {
		t.Errorf("summary %+v", s)
	}
	if !slices.Equal(dev.UserAgents, []string{"a", "b"}) || dev.IPs == nil {
		t.Errorf("user agents %v, ips %v", dev.UserAgents, dev.IPs)
	}
	shown := New(Config{ShowEvidence: true}).Device(in)
	if shown.Leaks[0].Value != "356938035643809" {
		t.Errorf("ShowEvidence masked %q", shown.Leaks[0].Value)
	}
}

// TestSortDestinations: the index sort puts rows in compareDestinations'
// order, as sorting the rows themselves does (many rows of equal bytes;
// addresses shorter and longer than the 16 bytes the entries hold, some
// the start of others).
func TestSortDestinations(t *testing.T) {
	ips := []string{"", "10.0.0.1", "10.0.0.10", "192.0.2.7", "2001:db8::1", "2001:db8:0:0:0:0:0:1", "2001:db8:0:0:0:0:0:12", "2001:db8:0:0:1::"}
	for _, n := range []int{0, 1, 2, 7, 100, 5000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		rows := make([]audit.Destination, n)
		for i := range rows {
			rows[i] = audit.Destination{Dest: audit.Dest{Name: fmt.Sprintf("n%d", i), // rows are distinct, as a device's are
				IP:   ips[rng.IntN(len(ips))],
				Port: uint16(rng.IntN(4)), Transport: []string{"tcp", "udp"}[rng.IntN(2)]}, BytesUp: uint64(rng.IntN(10)), BytesDown: uint64(rng.IntN(3)), Flows: i}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, compareDestinations)
		sortDestinations(rows)
		if !slices.EqualFunc(rows, want, func(a, b audit.Destination) bool { return a.Flows == b.Flows }) {
			t.Errorf("%d rows: order differs", n)
		}
	}
}
