package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// behaviourExamples is how many values a behaviour row shows.
const behaviourExamples = 3

// behaviourGrid is the per-device "Behaviour" table: what the device said
// about what its user did (visited pages, searches, apps and files
// opened), one row per class and destination, with the number of distinct
// values and occurrences, up to three example values (masked unless
// --show-evidence: the model's values are), whether any was sent in
// private mode, and the device identifiers it was linked to. It has no
// rows, and is not shown, when the device sent no behavioural data.
func behaviourGrid(d *audit.Device) grid {
	g := grid{ID: "behaviour", Title: "Behaviour", Empty: "no behavioural data", Cols: []col{
		{Name: "Severity", Sev: true}, {Name: "Class"}, {Name: "Destination"}, {Name: "Country", Drop: 2},
		{Name: "Distinct", Num: true}, {Name: "Seen", Num: true, Drop: 3}, {Name: "Examples"},
		{Name: "Linked to"}, {Name: "Private", Drop: 1},
	}}
	type key struct {
		class, dest, ip string
		port            uint16
	}
	type agg struct {
		key
		country  string
		sev      audit.Severity
		distinct int
		seen     int // occurrences
		examples []string
		private  bool
		first    uint64
	}
	// Distinct counts leak rows (a distinct value at a distinct place), not
	// masked values: two URLs can mask alike.
	rows := map[key]*agg{}
	var order []*agg
	for _, l := range d.Leaks {
		if !audit.IsBehaviour(l.Identifier) {
			continue
		}
		k := key{l.Identifier, destLabel(l.Dest), l.Dest.IP, l.Dest.Port}
		a := rows[k]
		if a == nil {
			a = &agg{key: k, country: l.Dest.Country, first: l.Frame}
			rows[k] = a
			order = append(order, a)
		}
		a.sev = max(a.sev, l.Severity)
		a.distinct++
		a.seen += max(l.Count, 1)
		a.private = a.private || l.Private
		a.first = min(a.first, l.Frame)
		if len(a.examples) < behaviourExamples && !slices.Contains(a.examples, l.Value) {
			a.examples = append(a.examples, l.Value)
		}
	}
	// Identifiers leaked to the same endpoint, for destinations with a
	// behaviour-linked finding.
	linked := map[key][]string{}
	for _, f := range d.Findings {
		if f.Kind != audit.KindBehaviourLinked {
			continue
		}
		k := key{ip: f.Dest.IP, port: f.Dest.Port}
		if _, ok := linked[k]; ok {
			continue
		}
		var ids []string
		for _, l := range d.Leaks {
			if !audit.IsBehaviour(l.Identifier) && l.Dest.IP == f.Dest.IP && l.Dest.Port == f.Dest.Port && !slices.Contains(ids, l.Identifier) {
				ids = append(ids, l.Identifier)
			}
		}
		slices.Sort(ids)
		linked[k] = ids
	}
	classRank := func(c string) int { return slices.Index(audit.BehaviourClasses(), c) }
	slices.SortFunc(order, func(a, b *agg) int {
		if c := cmp.Compare(b.sev, a.sev); c != 0 {
			return c
		}
		if c := cmp.Compare(classRank(a.class), classRank(b.class)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.first, b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.dest, b.dest)
	})
	for _, a := range order {
		priv := ""
		if a.private {
			priv = "yes"
		}
		ex := cell{Lines: a.examples}
		if a.distinct > len(a.examples) {
			ex.Lines = append(slices.Clone(ex.Lines), "(+"+itoa(a.distinct-len(a.examples))+" more)")
		}
		g.Rows = append(g.Rows, []cell{sevCell(a.sev), txt(a.class), txt(a.dest), txt(a.country),
			numCell(uint64(a.distinct)), numCell(uint64(a.seen)), ex,
			txt(strings.Join(linked[key{ip: a.ip, port: a.port}], ", ")), txt(priv)})
	}
	return g
}
