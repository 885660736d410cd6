package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
)

// TableOverview is the one-line-per-device table that opens table,
// markdown and HTML output.
const TableOverview = "overview"

// Lists in the overview and in device headings are cut to this many
// items, with a count of the rest.
const (
	overviewItems = 3
	headingItems  = 8
	maxLineRunes  = 200
)

// deviceOrder is the order in which devices are shown to a reader: worst
// severity first, then most bytes sent to the Internet, then by id. JSON
// keeps the id order of the model.
func deviceOrder(r *audit.Report) []*audit.Device {
	type ranked struct {
		d     *audit.Device
		bytes uint64
	}
	rs := make([]ranked, len(r.Devices))
	for i := range r.Devices {
		rs[i] = ranked{&r.Devices[i], internetBytes(&r.Devices[i])}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if c := cmp.Compare(b.d.Summary.WorstSeverity, a.d.Summary.WorstSeverity); c != 0 {
			return c
		}
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		return cmp.Compare(a.d.ID, b.d.ID)
	})
	out := make([]*audit.Device, len(rs))
	for i, x := range rs {
		out[i] = x.d
	}
	return out
}

// internetBytes is what a device sent to addresses outside the special
// ranges (LAN, multicast, broadcast...).
func internetBytes(d *audit.Device) uint64 {
	var n uint64
	for _, s := range d.Summary.ByCountry {
		if !geo.IsSpecialName(s.Key) {
			n += s.BytesUp
		}
	}
	return n
}

// overviewGrid has one line per device, in deviceOrder: the worst finding,
// the identifier classes it leaked, how much of what it sent was readable,
// where it went and to how many third parties.
func overviewGrid(r *audit.Report) grid {
	g := grid{ID: "overview", Title: "Overview", Empty: "no devices", Cols: []col{
		{Name: "Worst", Sev: true}, {Name: "Device"}, {Name: "Worst finding", Drop: 1}, {Name: "Identifiers leaked"},
		{Name: "In clear", Num: true}, {Name: "Countries", Drop: 2}, {Name: "Third parties", Drop: 3},
		{Name: "Sent to Internet", Num: true},
	}}
	for _, d := range deviceOrder(r) {
		s := d.Summary
		var countries []string
		for _, c := range s.ByCountry {
			if !geo.IsSpecialName(c.Key) {
				countries = append(countries, c.Key)
			}
		}
		tp := cutList(s.ThirdParties, overviewItems)
		if tp == "" {
			tp = "none"
		}
		clear := cell{Lines: []string{pct(s.PlaintextShare)}, Key: strings.TrimSuffix(pct(s.PlaintextShare), "%")}
		g.Rows = append(g.Rows, []cell{sevCell(s.WorstSeverity), txt(deviceLabel(d)), txt(cutLine(s.WorstFinding)),
			txt(cutList(leakClasses(d), 6)), clear, txt(cutList(countries, 6)), txt(tp), bytesCell(internetBytes(d))})
	}
	return g
}

// leakClasses lists the identifiers a device leaked, the most severe
// first, each once.
func leakClasses(d *audit.Device) []string {
	worst := map[string]audit.Severity{}
	for _, l := range d.Leaks {
		if s, ok := worst[l.Identifier]; !ok || l.Severity > s {
			worst[l.Identifier] = l.Severity
		}
	}
	out := make([]string, 0, len(worst))
	for id := range worst {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(worst[b], worst[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}

// cutList joins the first n items and counts the rest: "a, b, c (+4 more)".
func cutList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + " (+" + itoa(len(items)-n) + " more)"
}

// cutLine cuts free text to maxLineRunes, so that one captured string (a
// User-Agent, a hostname list) never becomes a line thousands of
// characters long.
func cutLine(s string) string {
	if len(s) <= maxLineRunes { // bytes ≥ runes: short enough
		return s
	}
	r := []rune(s)
	if len(r) <= maxLineRunes {
		return s
	}
	return string(r[:maxLineRunes-1]) + "… (" + itoa(len(r)) + " characters)"
}
