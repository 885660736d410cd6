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

// Apply returns a filtered deep copy of r (with no filter, a copy that
// shares r's lists); r is not modified. Device
// filters also drop the other devices' flows and the events of those
// flows (events without a flow id are kept). The report's counts are
// recomputed from what remains (audit.Tally); a device that lost rows gets
// the summary of the rows it kept (audit.Summarize, as the engine made it:
// a filtered summary is written exactly as an unfiltered one).
func Apply(r *audit.Report, f Filter) *audit.Report {
	if r == nil {
		return nil
	}
	if len(f.Devices) == 0 && f.MinSeverity == audit.None && len(f.Categories) == 0 {
		// Nothing to filter: a copy sharing r's lists, since no writer
		// changes a report (TestWriteDoesNotModify). A deep copy held
		// the devices twice while the report was written (real-1G: 31 MB,
		// and 48 MB of flow records for HTML).
		c := *r
		return &c
	}
	c := clone(r)
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
	for i := range c.Devices {
		d := &c.Devices[i]
		nl, nf, nd := len(d.Leaks), len(d.Findings), len(d.Destinations)
		d.Leaks = slices.DeleteFunc(d.Leaks, func(l audit.Leak) bool {
			return l.Severity < f.MinSeverity || cats && !inCat(l.Dest)
		})
		d.Findings = slices.DeleteFunc(d.Findings, func(x audit.Finding) bool {
			return x.Severity < f.MinSeverity || cats && !inCat(x.Dest)
		})
		if cats {
			d.Destinations = slices.DeleteFunc(d.Destinations, func(x audit.Destination) bool { return !inCat(x.Dest) })
		}
		if len(d.Leaks) != nl || len(d.Findings) != nf || len(d.Destinations) != nd {
			audit.Summarize(d)
		}
	}
	audit.Tally(c)
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

// keptRecords passes on the spooled records of the kept devices' flows.
type keptRecords struct {
	audit.Records
	keep map[string]bool
}

func (k keptRecords) Each(keep func(string) bool, flow, event func([]byte) error) error {
	return k.Records.Each(k.and(keep), flow, event)
}

// EachFormatted implements audit.FormattedRecords as the records below do.
func (k keptRecords) EachFormatted(keep func(string) bool, workers int, format audit.RecordFormat, write func(bool, []byte) error) error {
	return audit.EachFormatted(k.Records, k.and(keep), workers, format, write)
}

func (k keptRecords) and(keep func(string) bool) func(string) bool {
	return func(dev string) bool { return k.keep[dev] && (keep == nil || keep(dev)) }
}
