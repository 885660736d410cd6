package report

import (
	"slices"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
)

// Filter narrows a report before it is written. Zero fields do not filter.
type Filter struct {
	// Devices keeps devices whose ID, name or MAC matches one entry
	// (case-insensitive; MACs match with ':', '-' or '.' separators).
	Devices []string
	// MinSeverity drops leaks and findings below it.
	MinSeverity audit.Severity
	// Categories keeps destinations, leaks and findings whose destination
	// category is one of these (case-insensitive).
	Categories []string
}

// Apply returns a filtered deep copy of r; r is not modified. Device
// filters also drop the other devices' flows and the events of those
// flows (events without a flow id are kept). Summaries are recomputed from what remains: counts and worst
// severities always; per-device bytes, countries, owners, third parties and
// plaintext share when Categories removed destinations.
func Apply(r *audit.Report, f Filter) *audit.Report {
	if r == nil {
		return nil
	}
	c := clone(r)
	if len(f.Devices) == 0 && f.MinSeverity == audit.None && len(f.Categories) == 0 {
		return c
	}
	if len(f.Devices) > 0 {
		c.Devices = slices.DeleteFunc(c.Devices, func(d audit.Device) bool { return !matchDevice(&d, f.Devices) })
		keep := map[string]bool{}
		for i := range c.Devices {
			keep[c.Devices[i].ID] = true
		}
		flowIDs := map[uint64]bool{}
		c.Flows = slices.DeleteFunc(c.Flows, func(fl audit.Flow) bool {
			if keep[fl.Device] {
				flowIDs[fl.ID] = true
				return false
			}
			return true
		})
		c.Events = slices.DeleteFunc(c.Events, func(e audit.Event) bool { return e.FlowID != 0 && !flowIDs[e.FlowID] })
		if c.Records != nil {
			c.Records = keptRecords{c.Records, keep}
		}
		// Count the kept devices' flows from their destinations: the flow
		// records may not have been kept (table output of a large capture).
		n := 0
		for i := range c.Devices {
			for _, ds := range c.Devices[i].Destinations {
				n += ds.Flows
			}
		}
		c.Summary.Flows = n
	}
	cats := len(f.Categories) > 0
	inCat := func(d audit.Dest) bool {
		return slices.ContainsFunc(f.Categories, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), d.Category) })
	}
	c.Summary.Devices = len(c.Devices)
	c.Summary.Leaks, c.Summary.Findings, c.Summary.WorstSeverity = 0, 0, audit.None
	for i := range c.Devices {
		d := &c.Devices[i]
		nl, nf := len(d.Leaks), len(d.Findings)
		d.Leaks = slices.DeleteFunc(d.Leaks, func(l audit.Leak) bool {
			return l.Severity < f.MinSeverity || cats && !inCat(l.Dest)
		})
		d.Findings = slices.DeleteFunc(d.Findings, func(x audit.Finding) bool {
			return x.Severity < f.MinSeverity || cats && !inCat(x.Dest)
		})
		if cats {
			before := len(d.Destinations)
			d.Destinations = slices.DeleteFunc(d.Destinations, func(x audit.Destination) bool { return !inCat(x.Dest) })
			if len(d.Destinations) != before {
				resummarize(d)
			}
		}
		if len(d.Leaks) != nl || len(d.Findings) != nf {
			worstOf(d)
		}
		c.Summary.Leaks += len(d.Leaks)
		c.Summary.Findings += len(d.Findings)
		c.Summary.WorstSeverity = max(c.Summary.WorstSeverity, d.Summary.WorstSeverity)
	}
	return c
}

func matchDevice(d *audit.Device, want []string) bool {
	for _, w := range want {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if strings.EqualFold(w, d.ID) || strings.EqualFold(w, d.Name) {
			return true
		}
		if d.MAC != "" && normMAC(w) == normMAC(d.MAC) {
			return true
		}
	}
	return false
}

// normMAC lower-cases a MAC and drops separators.
func normMAC(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ':', '-', '.':
			return -1
		}
		if r >= 'A' && r <= 'F' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// worstOf recomputes the device's worst severity and finding from its
// remaining leaks and findings.
func worstOf(d *audit.Device) {
	s := &d.Summary
	s.WorstSeverity, s.WorstFinding = audit.None, ""
	for _, l := range d.Leaks {
		if l.Severity > s.WorstSeverity {
			s.WorstSeverity, s.WorstFinding = l.Severity, l.Identifier+" leaked to "+destLabel(l.Dest)
		}
	}
	for _, x := range d.Findings {
		if x.Severity > s.WorstSeverity {
			s.WorstSeverity, s.WorstFinding = x.Severity, x.Kind+": "+x.Message
		}
	}
}

// resummarize recomputes byte totals and shares from d.Destinations.
func resummarize(d *audit.Device) {
	s := &d.Summary
	s.BytesUp, s.BytesDown = 0, 0
	var clear uint64
	country := map[string]*audit.ByteShare{}
	owner := map[string]*audit.ByteShare{}
	parties := map[string]bool{}
	for _, x := range d.Destinations {
		s.BytesUp += x.BytesUp
		s.BytesDown += x.BytesDown
		if audit.Channel(x.Channel).Plaintext() {
			clear += x.BytesUp
		}
		addShare(country, x.Country, x.CountryName, x)
		addShare(owner, asLabel(x.Dest), "", x)
		for _, p := range []string{x.Vendor, x.Service, x.Domain, x.Name} {
			if p != "" {
				parties[strings.ToLower(p)] = true
			}
		}
	}
	s.ByCountry = sortedShares(country)
	s.ByOwner = sortedShares(owner)
	s.ThirdParties = slices.DeleteFunc(s.ThirdParties, func(p string) bool { return !parties[strings.ToLower(p)] })
	s.PlaintextShare = share(clear, s.BytesUp)
}

func addShare(m map[string]*audit.ByteShare, key, label string, x audit.Destination) {
	if key == "" {
		key = "unknown"
	}
	b := m[key]
	if b == nil {
		b = &audit.ByteShare{Key: key, Label: label}
		m[key] = b
	}
	b.BytesUp += x.BytesUp
	b.BytesDown += x.BytesDown
	b.Flows += x.Flows
}

// sortedShares orders by bytes up descending, then key.
func sortedShares(m map[string]*audit.ByteShare) []audit.ByteShare {
	out := make([]audit.ByteShare, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b audit.ByteShare) int {
		if a.BytesUp != b.BytesUp {
			return cmpDesc(a.BytesUp, b.BytesUp)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// keptRecords passes on the spooled records of the kept devices' flows.
type keptRecords struct {
	audit.Records
	keep map[string]bool
}

func (k keptRecords) Each(keep func(string) bool, flow, event func([]byte) error) error {
	return k.Records.Each(func(dev string) bool { return k.keep[dev] && (keep == nil || keep(dev)) }, flow, event)
}
