package report

import (
	"fmt"
	"slices"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
)

// groupDestsDests is n destinations with few or many distinct values per
// column: names repeat every names destinations, countries every 3.
func groupDestsDests(n, names int) []audit.Destination {
	var ds []audit.Destination
	for i := range n {
		ds = append(ds, audit.Destination{Dest: audit.Dest{
			Name:    fmt.Sprintf("h%03d.example", (i*7)%names),
			Domain:  fmt.Sprintf("d%d.example", i%(names/2+1)),
			IP:      fmt.Sprintf("198.18.%d.%d", i/250, i%250),
			Port:    uint16(443 + i%3),
			Country: []string{"US", "", "DE"}[i%3], Vendor: []string{"", "", "Google"}[i%3],
			ASN: uint32(i % 11), ASOrg: fmt.Sprintf("org %d", i%13), Channel: []string{"tls", "dns", ""}[i%3],
			Transport: "tcp"}, BytesUp: uint64(i % 7), BytesDown: uint64(i % 5), Flows: 1})
	}
	return ds
}

// joinDistinct is joinCapped of the distinct values of vs, in the
// simplest way.
func joinDistinct(vs []string) string {
	var d []string
	for _, v := range vs {
		if v != "" && !slices.Contains(d, v) {
			d = append(d, v)
		}
	}
	return joinCapped(d)
}

// Every cell of a grouped row lists its group's distinct values (at most
// maxJoined, sorted, and how many more), whether the group has a few or
// thousands of them (the set that replaces the slice past manyDistinct).
func TestGroupDestsDistinctValues(t *testing.T) {
	for _, tc := range []struct{ n, names int }{
		{0, 1}, {1, 1}, {3, 2}, {4, 4}, {manyDistinct, manyDistinct}, {manyDistinct + 1, manyDistinct + 1},
		{manyDistinct + 2, manyDistinct + 2}, {100, 40}, {3000, 2999},
	} {
		ds := groupDestsDests(tc.n, tc.names)
		for _, by := range []string{"name", "domain", "vendor", "country", "asn", "channel", "endpoint"} {
			rows := groupDests(ds, by)
			flows := 0
			for _, r := range rows {
				flows += r.flows
				var vals [nDestCols][]string
				for i := range ds {
					d := &ds[i]
					if groupKey(d, by) != r.key {
						continue
					}
					name := d.Name
					if by == "endpoint" {
						name = d.Name + " " + endpoint(d.Dest) + "/" + d.Transport
					}
					for c, v := range [nDestCols]string{name, d.Domain, vendorLabel(d.Dest), countryLabel(d.Dest), asLabel(d.Dest), d.Channel} {
						vals[c] = append(vals[c], v)
					}
				}
				for c := range nDestCols {
					want := joinDistinct(vals[c])
					if c == destCol(by) && want == "" {
						want = r.key
					}
					if r.text[c] != want {
						t.Errorf("%d destinations by %s, group %q, column %s: %q, want %q", tc.n, by, r.key, destColKeys[c], r.text[c], want)
					}
				}
			}
			if flows != tc.n {
				t.Errorf("%d destinations by %s: %d flows in the groups", tc.n, by, flows)
			}
		}
	}
}

// BenchmarkGroupDests groups the destinations of one large device (as
// real-1G's "other devices", 49,483 destinations) by each key: by vendor
// or country most of them fall into a few groups with thousands of
// distinct names each.
func BenchmarkGroupDests(b *testing.B) {
	ds := groupDestsDests(50000, 49999)
	for _, by := range []string{"name", "vendor", "country"} {
		b.Run(by, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				groupDests(ds, by)
			}
		})
	}
}
