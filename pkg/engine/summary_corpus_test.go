package engine

import (
	"context"
	"reflect"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/report"
	"github.com/phonehome/phonehome/pkg/signature"
)

// TestCorpusFilteredSummaries: on every real capture, every channel the
// engine emits is in audit's vocabulary, and a report filter
// writes a device's summary as the engine does (both are
// audit.Summarize). A filter that keeps every row (every category seen,
// or a minimum severity no row is below) leaves each summary unchanged —
// before, --category rewrote by_owner keys ("AS45102" became "AS45102
// Alibaba...") and any row drop rewrote worst_finding without its channel.
// --min-severity high keeps the worst finding of every device whose worst
// row is at least high.
func TestCorpusFilteredSummaries(t *testing.T) {
	entries := corpus.All(t)
	g, err := geo.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var devices, owners, worst int
	channels := map[string]bool{}
	for _, e := range entries {
		rep, err := Run(context.Background(), Config{Scanner: sc, Geo: g, Signatures: sigs, KeepFlows: true}, []string{e.Path})
		if err != nil && rep == nil {
			continue // not a capture the engine reads (its own tests say so)
		}
		// Every channel the engine emits is in audit's vocabulary, so
		// that policy, report and the plaintext share know it.
		for _, f := range rep.Flows {
			if c := audit.Channel(f.Channel); c != "" && !c.Known() {
				t.Errorf("%s: flow %d: channel %q is not in audit's vocabulary", e.Name(), f.ID, c)
			}
			channels[f.Channel] = true
		}
		for _, d := range rep.Devices {
			for _, x := range d.Destinations {
				if c := audit.Channel(x.Channel); c != "" && !c.Known() {
					t.Errorf("%s: destination %s: channel %q is not in audit's vocabulary", e.Name(), x.Label(), c)
				}
			}
		}
		cats := map[string]bool{}
		minSev := audit.Critical
		for _, d := range rep.Devices {
			for _, x := range d.Destinations {
				cats[x.Category] = true
			}
			for _, l := range d.Leaks {
				cats[l.Dest.Category] = true
				minSev = min(minSev, l.Severity)
			}
			for _, f := range d.Findings {
				cats[f.Dest.Category] = true
				minSev = min(minSev, f.Severity)
			}
		}
		var all []string
		for c := range cats {
			all = append(all, c)
		}
		keepAll := []report.Filter{{Categories: all}}
		if minSev > audit.None {
			keepAll = append(keepAll, report.Filter{MinSeverity: minSev})
		}
		for _, f := range keepAll {
			got := report.Apply(rep, f)
			for i := range rep.Devices {
				want, have := rep.Devices[i].Summary, got.Devices[i].Summary
				if !reflect.DeepEqual(want, have) {
					t.Errorf("%s: %s: filter %+v changed the summary:\n got %+v\nwant %+v", e.Name(), rep.Devices[i].ID, f, have, want)
				}
			}
			if got.Summary != rep.Summary {
				t.Errorf("%s: filter %+v changed the report summary: %+v, want %+v", e.Name(), f, got.Summary, rep.Summary)
			}
		}
		// One category at a time drops the other destinations: the owner
		// shares left are keyed and labelled as unfiltered.
		for c := range cats {
			got := report.Apply(rep, report.Filter{Categories: []string{c}})
			for i, d := range rep.Devices {
				labels := map[string]string{}
				for _, o := range d.Summary.ByOwner {
					labels[o.Key] = o.Label
				}
				for _, o := range got.Devices[i].Summary.ByOwner {
					if l, ok := labels[o.Key]; !ok || l != o.Label {
						t.Errorf("%s: %s: --category %q: by_owner %q (%q), not an unfiltered key", e.Name(), d.ID, c, o.Key, o.Label)
					}
				}
			}
		}
		high := report.Apply(rep, report.Filter{MinSeverity: audit.High})
		for i, d := range rep.Devices {
			devices++
			owners += len(d.Summary.ByOwner)
			if d.Summary.WorstSeverity >= audit.High {
				worst++
				if h := high.Devices[i].Summary; h.WorstFinding != d.Summary.WorstFinding || h.WorstSeverity != d.Summary.WorstSeverity {
					t.Errorf("%s: %s: --min-severity high: worst %v %q, want %v %q", e.Name(), d.ID, h.WorstSeverity, h.WorstFinding, d.Summary.WorstSeverity, d.Summary.WorstFinding)
				}
			}
		}
	}
	t.Logf("%d captures, %d devices, %d owner shares, %d devices with a high or critical worst row, %d distinct flow channels",
		len(entries), devices, owners, worst, len(channels))
}
