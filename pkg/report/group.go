package report

import (
	"slices"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// maxJoined caps how many distinct values a merged cell lists.
const maxJoined = 3

// The text columns of a destination row, named by destColKeys.
const (
	colName = iota
	colDomain
	colVendor
	colCountry
	colASN
	colChannel
	nDestCols
)

// destColKeys are the text columns' keys (the --group-by names).
var destColKeys = [nDestCols]string{"name", "domain", "vendor", "country", "asn", "channel"}

// destCol is the index of the text column named key, or -1.
func destCol(key string) int {
	for i, k := range destColKeys {
		if k == key {
			return i
		}
	}
	return -1
}

// destRow is one row of the destinations table after grouping.
type destRow struct {
	key   string
	text  [nDestCols]string // joined distinct values per column
	flows int
	up    uint64
	down  uint64
	first time.Time
}

// groupKey returns the group of a destination for groupBy.
func groupKey(d *audit.Destination, groupBy string) string {
	switch groupBy {
	case "domain":
		if d.Domain != "" {
			return d.Domain
		}
		return destLabel(d.Dest)
	case "vendor":
		if d.Vendor != "" {
			return d.Vendor
		}
		if d.Service != "" {
			return d.Service
		}
		if d.Domain != "" {
			return d.Domain // who owns the name, not who hosts it
		}
		return "(unattributed)"
	case "country":
		if d.Country != "" {
			return d.Country
		}
		return "(unknown)"
	case "endpoint":
		return d.Transport + "/" + endpoint(d.Dest)
	}
	if d.Name != "" {
		return d.Name
	}
	return d.IP
}

// groupDests merges destinations by groupBy, sums counters, keeps the
// earliest first-seen and lists distinct values of the other columns. Rows
// are ordered by bytes up, bytes down (both descending), then key.
func groupDests(ds []audit.Destination, groupBy string) []destRow {
	type acc struct {
		row  destRow
		vals [nDestCols][]string
	}
	var order []string
	m := map[string]*acc{}
	for i := range ds {
		d := &ds[i]
		k := groupKey(d, groupBy)
		a := m[k]
		if a == nil {
			a = &acc{row: destRow{key: k}}
			m[k] = a
			order = append(order, k)
		}
		a.row.flows += d.Flows
		a.row.up += d.BytesUp
		a.row.down += d.BytesDown
		if !d.FirstSeen.IsZero() && (a.row.first.IsZero() || d.FirstSeen.Before(a.row.first)) {
			a.row.first = d.FirstSeen
		}
		name := d.Name
		if name == "" || groupBy == "endpoint" {
			name = destLabel(d.Dest)
			if groupBy == "endpoint" {
				if d.Name != "" {
					name = d.Name + " " + endpoint(d.Dest)
				} else {
					name = endpoint(d.Dest)
				}
				if d.Transport != "" {
					name += "/" + d.Transport
				}
			}
		}
		for col, v := range [nDestCols]string{
			colName: name, colDomain: d.Domain, colVendor: vendorLabel(d.Dest),
			colCountry: countryLabel(d.Dest), colASN: asLabel(d.Dest), colChannel: d.Channel,
		} {
			if v != "" && !slices.Contains(a.vals[col], v) {
				a.vals[col] = append(a.vals[col], v)
			}
		}
	}
	rows := make([]destRow, 0, len(order))
	keyCol := destCol(groupBy) // -1 for endpoint
	for _, k := range order {
		a := m[k]
		for col, vs := range a.vals {
			a.row.text[col] = joinCapped(vs)
		}
		if keyCol >= 0 && a.row.text[keyCol] == "" {
			a.row.text[keyCol] = k // the key column is never blank
		}
		rows = append(rows, a.row)
	}
	slices.SortStableFunc(rows, func(a, b destRow) int {
		switch {
		case a.up != b.up:
			return cmpDesc(a.up, b.up)
		case a.down != b.down:
			return cmpDesc(a.down, b.down)
		}
		return strings.Compare(a.key, b.key)
	})
	return rows
}

func cmpDesc(a, b uint64) int {
	if a > b {
		return -1
	}
	if a < b {
		return 1
	}
	return 0
}

// joinCapped sorts distinct values and joins at most maxJoined of them.
func joinCapped(vs []string) string {
	if len(vs) <= 1 {
		return strings.Join(vs, "")
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	if len(vs) <= maxJoined {
		return strings.Join(vs, ", ")
	}
	return strings.Join(vs[:maxJoined], ", ") + " +" + itoa(len(vs)-maxJoined) + " more"
}
