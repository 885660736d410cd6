package engine

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// TestPairFindingsAsDirect: a pending pair's findings, kept without
// pointers where they fit and whole where they do not, come out as the
// device would have filed them directly: same rows, counts, first
// occurrences and destinations, in the same order.
func TestPairFindingsAsDirect(t *testing.T) {
	pk := pairKey{c: netip.MustParseAddr("198.51.100.7").As16(), s: netip.MustParseAddr("203.0.113.5").As16(), c4: true, s4: true}
	t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	dest := func(port uint16, name string) audit.Dest {
		return audit.Dest{Name: name, NameSource: "sni", IP: "203.0.113.5", Port: port, Transport: "tcp", Channel: "TLS1.2"}
	}
	fi := func(kind string, port uint16, name string, frame uint64) audit.Finding {
		return audit.Finding{Severity: audit.Low, Kind: kind, Message: "m " + kind, Dest: dest(port, name), Frame: frame,
			Time: t0.Add(time.Duration(frame) * time.Second)}
	}
	local := fi("tls-no-sni", 443, "b", 5)
	local.Time = local.Time.In(time.FixedZone("X", 3600)) // not a UTC time: kept whole
	other := fi("tls-no-sni", 443, "", 3)
	other.Dest.IP = "203.0.113.6" // not the pair's server: kept whole
	domain := fi("k", 80, "a", 9)
	domain.Dest.Domain = "example.com" // a field the compact row lacks
	zero := fi("z", 80, "", 1)
	zero.Time = time.Time{}
	for _, tc := range []struct {
		name  string
		flows []audit.Finding
		ports []uint16 // client ports of the flows
		whole int      // rows kept whole
	}{
		{"compact, folded", []audit.Finding{fi("tls-no-sni", 443, "late", 20), fi("tls-no-sni", 443, "early", 10), fi("tls-cert-expired", 443, "a", 30)}, []uint16{40001, 40001, 40002}, 0},
		{"other client ports", []audit.Finding{fi("tls-no-sni", 443, "a", 20), fi("tls-no-sni", 443, "a", 10)}, []uint16{40001, 40002}, 0},
		{"whole after compact", []audit.Finding{fi("tls-no-sni", 443, "a", 20), local, fi("tls-no-sni", 443, "c", 2)}, []uint16{1, 1, 1}, 1},
		{"whole first", []audit.Finding{local, fi("tls-no-sni", 443, "a", 1)}, []uint16{1, 1}, 1},
		{"other address, domain, zero time", []audit.Finding{other, domain, zero, domain}, []uint16{1, 2, 3, 2}, 2},
		{"many rows (indexed)", many(fi, 3*smallSet), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newStrtab()
			x := &pairExtra{}
			d := &refFindings{}
			for i, f := range tc.flows {
				port := uint16(40000 + i%5)
				if tc.ports != nil {
					port = tc.ports[i]
				}
				x.addFinding(tab, &pk, f, port)
				d.add(f, port)
			}
			if len(x.full) != tc.whole {
				t.Errorf("%d rows kept whole, want %d", len(x.full), tc.whole)
			}
			var got []audit.Finding
			for i := range x.findings {
				got = append(got, x.findingAt(tab, pk.server().String(), i))
			}
			if !reflect.DeepEqual(got, d.findings) {
				t.Errorf("pair:\n%v\ndirect:\n%v", got, d.findings)
			}
			// Merged into another inventory's pair (another string table).
			tab2 := newStrtab()
			tab2.id("shifts every id")
			x.retabFindings(tab.moveTo(tab2))
			y := &pairExtra{}
			y.merge(tab2, &pk, x)
			got = got[:0]
			for i := range y.findings {
				got = append(got, y.findingAt(tab2, pk.server().String(), i))
			}
			if !reflect.DeepEqual(got, d.findings) {
				t.Errorf("merged pair:\n%v\ndirect:\n%v", got, d.findings)
			}
		})
	}
}

func many(fi func(string, uint16, string, uint64) audit.Finding, n int) []audit.Finding {
	var out []audit.Finding
	for i := range n {
		out = append(out, fi(fmt.Sprint("k", i%(n/2)), 443, fmt.Sprint("n", i), uint64(100-i)))
	}
	return out
}

// refFindings is what pairExtra kept before its rows lost their pointers:
// whole findings, one row per severity, kind, message, transport and both
// ports (the reference).
type refFindings struct {
	findings []audit.Finding
	ports    []uint16
}

func (r *refFindings) add(fi audit.Finding, cPort uint16) {
	fi.Count = max(fi.Count, 1)
	for i := range r.findings {
		o := &r.findings[i]
		if o.Severity == fi.Severity && o.Kind == fi.Kind && o.Message == fi.Message && o.Dest.Transport == fi.Dest.Transport &&
			o.Dest.Port == fi.Dest.Port && r.ports[i] == cPort {
			foldFinding(o, fi)
			return
		}
	}
	r.findings = append(r.findings, fi)
	r.ports = append(r.ports, cPort)
}

// TestDecryptionCountsInterned: the interned decryption counts of pair
// rows add and merge as audit.Decryption does, and equal counts share an
// id.
func TestDecryptionCountsInterned(t *testing.T) {
	tab := newStrtab()
	sess := func(before string) *session { return &session{crypt: &decryptState{before: before}} }
	a := tab.addDec(tab.addDec(0, sess("tls")), sess("quic"))
	b := tab.addDec(0, sess("tls"))
	b = tab.addDec(b, sess("tls"))
	if got := tab.addDec(0, &session{}); got != 0 {
		t.Errorf("a session without decryption counts: id %d, want 0", got)
	}
	want := &audit.Decryption{NoKey: 4, Stopped: map[string]int{"before-keys": 4}}
	if got := tab.dec(tab.mergeDec(a, b)); !reflect.DeepEqual(got, want) {
		t.Errorf("merged: %+v, want %+v", got, want)
	}
	if a != b {
		t.Errorf("equal counts have ids %d and %d", a, b)
	}
	if tab.mergeDec(a, 0) != a || tab.mergeDec(0, a) != a {
		t.Error("merging nothing changes the id")
	}
	if got := tab.dec(a); got.NoKey != 2 {
		t.Errorf("an interned value changed: %+v", got)
	}
	tab2 := newStrtab()
	if got := tab2.dec(tab2.decID(tab.dec(a))); !reflect.DeepEqual(got, tab.dec(a)) {
		t.Errorf("moved to another table: %+v", got)
	}
}
