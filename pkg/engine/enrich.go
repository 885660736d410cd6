package engine

import (
	"cmp"
	"slices"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/enrich"
)

// buildDevices names the merged devices and hands each one's aggregate to
// the enrichment stage (pkg/enrich), which makes the report's devices.
func (e *engine) buildDevices() {
	st := enrich.New(enrich.Config{Geo: e.cfg.Geo, Signatures: e.cfg.Signatures,
		HomeCountry: e.cfg.HomeCountry, ShowEvidence: e.cfg.ShowEvidence})
	renamed := map[string]string{}
	for _, d := range e.inv.devices() {
		oldID := d.d.ID
		e.inv.name(d)
		if d.d.ID != oldID {
			renamed[oldID] = d.d.ID
		}
		e.report.Devices = append(e.report.Devices, st.Device(d.aggregate()))
	}
	if e.report.Devices == nil {
		e.report.Devices = []audit.Device{}
	}
	slices.SortFunc(e.report.Devices, func(a, b audit.Device) int { return cmp.Compare(a.ID, b.ID) })
	audit.Tally(e.report)
	e.renamed = renamed
	if len(renamed) > 0 {
		for i := range e.flows {
			if id, ok := renamed[e.flows[i].Device]; ok {
				e.flows[i].Device = id
			}
		}
	}
	var w *audit.Warning
	e.report.Data, w = st.DataSets(firstFrameTime(e.report.Inputs))
	if w != nil {
		e.warn(*w)
	}
}

// aggregate is the device's merged rows as the enrichment stage takes
// them: destinations (the capped "other destinations" row last) with the
// bytes they carried in clear.
func (d *devAgg) aggregate() enrich.Device {
	in := enrich.Device{Device: d.d, Leaks: d.leaks, Findings: d.findings, UserAgents: d.uas,
		Dests: make([]enrich.Dest, 0, len(d.dests)+1)}
	add := func(da *destAgg) {
		x := enrich.Dest{Destination: da.d, Addr: da.ip}
		x.Protocols, x.PlaintextUp = da.protocols, da.plainUp
		in.Dests = append(in.Dests, x)
	}
	for _, da := range d.dests {
		add(da)
	}
	if d.other != nil {
		add(d.other)
	}
	return in
}

// firstFrameTime is the earliest first-frame time of the inputs, or zero.
func firstFrameTime(in []audit.Input) time.Time {
	var t time.Time
	for _, i := range in {
		if !i.First.IsZero() && (t.IsZero() || i.First.Before(t)) {
			t = i.First
		}
	}
	return t
}
