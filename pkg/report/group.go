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
		vals [nDestCols]distinct
	}
	var order []*acc // the groups, as first seen
	m := map[string]*acc{}
	var block []acc // the groups' accumulators, allocated a block at a time
	for i := range ds {
		d := &ds[i]
		k := groupKey(d, groupBy)
		a := m[k]
		if a == nil {
			if len(block) == 0 {
				block = make([]acc, min(256, len(ds)-i))
			}
			a, block = &block[0], block[1:]
			a.row = destRow{key: k}
			m[k] = a
			order = append(order, a)
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
			if v != "" {
				a.vals[col].add(v)
			}
		}
	}
	// The keys are distinct, so the order is total: sorting the groups
	// (pointers, not the rows of ~170 bytes) needs no stable sort.
	slices.SortFunc(order, func(a, b *acc) int {
		switch {
		case a.row.up != b.row.up:
			return cmpDesc(a.row.up, b.row.up)
		case a.row.down != b.row.down:
			return cmpDesc(a.row.down, b.row.down)
		}
		return strings.Compare(a.row.key, b.row.key)
	})
	rows := make([]destRow, 0, len(order))
	keyCol := destCol(groupBy) // -1 for endpoint
	for _, a := range order {
		for col := range a.vals {
			a.row.text[col] = a.vals[col].join()
		}
		if keyCol >= 0 && a.row.text[keyCol] == "" {
			a.row.text[keyCol] = a.row.key // the key column is never blank
		}
		rows = append(rows, a.row)
	}
	return rows
}

// distinct collects the distinct values of one column of a group: the
// first inline (most groups by name have one value per column), the next
// in a slice while they are few, all of them in a set past manyDistinct,
// so that a large group (most of the "other devices" destinations under
// one vendor or country) costs one lookup per destination, not a scan of
// the values so far.
type distinct struct {
	one  string
	more []string
	set  map[string]struct{}
}

// manyDistinct is how many distinct values are listed before a set
// replaces the list.
const manyDistinct = 16

func (d *distinct) add(v string) {
	switch {
	case d.set != nil:
		d.set[v] = struct{}{}
	case d.one == "":
		d.one = v
	case v == d.one || slices.Contains(d.more, v):
	case len(d.more) < manyDistinct-1:
		d.more = append(d.more, v)
	default:
		d.set = make(map[string]struct{}, 4*manyDistinct)
		d.set[d.one], d.set[v] = struct{}{}, struct{}{}
		for _, x := range d.more {
			d.set[x] = struct{}{}
		}
		d.more = nil
	}
}

// join is joinCapped of the distinct values: the maxJoined smallest, and
// how many more.
func (d *distinct) join() string {
	switch {
	case d.set == nil && d.more == nil:
		return d.one
	case d.set == nil:
		return joinCapped(append([]string{d.one}, d.more...))
	}
	var small [maxJoined]string
	n := 0
	for v := range d.set {
		// Insert v among the smallest so far, kept sorted.
		i := n
		for i > 0 && v < small[i-1] {
			i--
		}
		if i == maxJoined {
			continue
		}
		if n < maxJoined {
			n++
		}
		copy(small[i+1:n], small[i:n-1])
		small[i] = v
	}
	return strings.Join(small[:n], ", ") + " +" + itoa(len(d.set)-maxJoined) + " more"
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
