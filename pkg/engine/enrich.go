package engine

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/enrich"
)

// buildDevices names the merged devices and hands each one's aggregate to
// the enrichment stage (pkg/enrich), which makes the report's devices.
// The devices are named and built by GOMAXPROCS goroutines, each with an
// enrichment stage of its own (a stage caches what it looked up), largest
// first, each into its own place: naming only reads the inventory's
// names, so the result does not depend on their number.
func (e *engine) buildDevices() {
	cfg := enrich.Config{Geo: e.cfg.Geo, Signatures: e.cfg.Signatures,
		HomeCountry: e.cfg.HomeCountry, ShowEvidence: e.cfg.ShowEvidence}
	devs := e.inv.devices()
	oldIDs := make([]string, len(devs))
	for i, d := range devs {
		oldIDs[i] = d.d.ID
		delete(e.inv.devs, d.d.ID) // devs holds it until it is built
	}
	// The largest first, so that the last ones to start are short.
	order := make([]int, len(devs))
	size := make([]int, len(devs))
	for i, d := range devs {
		order[i], size[i] = i, d.rowCount()
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	built := make([]audit.Device, len(devs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(devs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := enrich.New(cfg)
			for {
				j := int(next.Add(1)) - 1
				if j >= len(order) {
					return
				}
				i := order[j]
				e.inv.name(devs[i])
				built[i] = st.Device(devs[i].aggregate())
				devs[i] = nil // its rows are in the report now
			}
		}()
	}
	wg.Wait()
	renamed := map[string]string{}
	for i := range built {
		if id := built[i].ID; id != oldIDs[i] {
			renamed[oldIDs[i]] = id
		}
	}
	e.report.Devices = built
	slices.SortFunc(e.report.Devices, func(a, b audit.Device) int { return cmp.Compare(a.ID, b.ID) })
	audit.Tally(e.report)
	e.renamed = renamed
	var w *audit.Warning
	e.report.Data, w = enrich.New(cfg).DataSets(firstFrameTime(e.report.Inputs))
	if w != nil {
		e.warn(*w)
	}
}

// rowCount is the number of destination rows the device's sets hold
// (before they are merged), a measure of the work of building it.
func (d *devAgg) rowCount() int {
	n := len(d.dests.ents)
	for i := range d.parts {
		n += len(d.parts[i].ents)
	}
	return n + len(d.leaks) + len(d.findings)
}

// aggregate is the device's merged rows as the enrichment stage takes
// them: destinations (the capped "other destinations" row last) with the
// bytes they carried in clear. The device's own rows are let go: from now
// on only the enrichment's rows hold them.
func (d *devAgg) aggregate() enrich.Device {
	if len(d.parts) > 0 {
		n := len(d.dests.ents)
		for i := range d.parts {
			n += len(d.parts[i].ents)
		}
		if n > cap(d.dests.ents) {
			// One allocation for the merged rows (the parts seldom
			// share a key), not a doubling per growth; the same for
			// their index.
			d.dests.ents = append(make([]destEnt, 0, n), d.dests.ents...)
		}
		if n > smallSet {
			d.dests.reindexFor(n)
		}
	}
	for i := range d.parts {
		d.dests.merge(d.tab, &d.parts[i], d.tab, unbounded)
		d.parts[i] = destSet{}
	}
	d.parts = nil
	rows := d.dests.rows(d.tab)
	d.dests = destSet{}
	return enrich.Device{Device: d.d, Leaks: d.leaks, Findings: d.findings, UserAgents: d.uas, Dests: rows}
}

// rowsChunk is how many rows of a set one goroutine makes at a time
// (rows): a set of thousands of rows (real-1G's other devices: 71,000) is
// not left to one core.
const rowsChunk = 4096

// rows makes the destination rows of the set, each in its own place: it
// only reads the set and the string table.
func (s *destSet) rows(t *strtab) []audit.Destination {
	n := len(s.ents)
	var x destExtra
	if s.x != nil {
		x = *s.x
	}
	out := make([]audit.Destination, n, n+1)
	inParallel(n, rowsChunk, runtime.GOMAXPROCS(0), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k, r := s.ents[i].k, &s.ents[i].r
			out[i] = row(t, r, audit.Dest{Name: t.str(k.name), NameSource: t.str(r.nameSrc), IP: k.addr().String(), Port: k.port,
				Transport: t.str(k.tr)}, x.dec[k], x.more[k])
		}
	})
	if o := x.other; o != nil {
		out = append(out, row(t, &o.r, audit.Dest{Name: "(other destinations)", Transport: t.str(o.tr)}, o.dec, o.more))
	}
	return out
}

func row(t *strtab, r *destRow, dest audit.Dest, dec *audit.Decryption, more []string) audit.Destination {
	dest.Channel = t.str(r.channel)
	return audit.Destination{Dest: dest, Flows: r.flows,
		PacketsUp: r.pkts[0], PacketsDown: r.pkts[1], BytesUp: r.bytes[0], BytesDown: r.bytes[1],
		FirstSeen: r.first.time(), LastSeen: r.last.time(), FirstFrame: r.firstFrame, Decryption: dec,
		Protocols: append(t.protoNames(r.protos), more...), PlaintextUp: r.plainUp}
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
