package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/report"
)

// Spooled records (json and ndjson output) must come out byte for byte as
// the records kept in memory, whatever the worker count and however many
// sorted runs the spools write; device filters apply to them alike.
func TestSpooledRecordsMatchMemory(t *testing.T) {
	inputs := scenarioInputs(t, 2000)
	write := func(rep *audit.Report, format string, flt report.Filter) []byte {
		var buf bytes.Buffer
		if err := report.Write(&buf, report.Apply(rep, flt), report.Options{Format: format}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	spoolDir := t.TempDir()
	base := labConfig(t)
	base.Workers, base.KeepFlows, base.KeepEvents, base.MaxRecords = 1, true, true, 1<<30
	for _, in := range inputs {
		mem, err := Run(context.Background(), base, []string{in})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: %v", in, err)
		}
		if mem.Records != nil {
			t.Fatal("records spooled without SpoolRecords")
		}
		var filter report.Filter
		if len(mem.Devices) > 0 {
			filter.Devices = []string{mem.Devices[0].ID}
		}
		for _, workers := range []int{1, 3} {
			cfg := base
			cfg.Workers, cfg.SpoolRecords, cfg.SpoolDir, cfg.SpoolBudget = workers, true, spoolDir, 700
			sp, err := Run(context.Background(), cfg, []string{in})
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatalf("%s: %v", in, err)
			}
			if sp.Records == nil {
				t.Fatalf("%s: no spooled records", in)
			}
			if len(sp.Flows) != 0 || len(sp.Events) != 0 {
				t.Errorf("%s: spooled run also kept %d flows and %d events in memory", in, len(sp.Flows), len(sp.Events))
			}
			for _, format := range []string{"ndjson", "json"} {
				for _, flt := range []report.Filter{{}, filter} {
					if a, b := write(mem, format, flt), write(sp, format, flt); !bytes.Equal(a, b) {
						t.Errorf("%s, %d workers, %s, devices %v: spooled output differs from memory (%d vs %d bytes)", filepath.Base(in), workers, format, flt.Devices, len(b), len(a))
					}
				}
			}
			if err := sp.Records.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	if ents, _ := os.ReadDir(spoolDir); len(ents) != 0 {
		t.Errorf("%d spool files left behind", len(ents))
	}
}

// A spool that can be neither written nor kept in memory costs records,
// not the report: the devices are there, a warning says what was lost, the
// report is incomplete and Run says so (TestSpoolFailure: the fallback).
func TestSpoolFailureIsAWarning(t *testing.T) {
	p := filepath.Join(t.TempDir(), "demo.pcap")
	if err := os.WriteFile(p, scenario.Bytes(scenario.All()[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{KeepFlows: true, KeepEvents: true, SpoolRecords: true, SpoolBudget: 64,
		SpoolDir: filepath.Join(t.TempDir(), "missing"), SpoolFallback: -1}
	rep, err := Run(context.Background(), cfg, []string{p})
	if !errors.Is(err, ErrIncomplete) || !rep.Incomplete {
		t.Fatalf("err %v, incomplete %v; want ErrIncomplete and an incomplete report", err, rep.Incomplete)
	}
	if rep.Records != nil {
		rep.Records.Close()
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || w.Code == "spool-error"
	}
	if !found || len(rep.Devices) == 0 {
		t.Errorf("want a spool-error warning and the devices; got warnings %+v and %d devices", rep.Warnings, len(rep.Devices))
	}
}

// The records formatted on any number of goroutines come out as Each
// gives them, formatted one after the other, masked alike; after
// StreamOnce one more stream works and the next fails (when the spools
// wrote runs to their file).
func TestFormattedRecordsSameWhateverWorkers(t *testing.T) {
	cfg := labConfig(t)
	cfg.Workers, cfg.KeepFlows, cfg.KeepEvents, cfg.SpoolRecords = 2, true, true, true
	cfg.SpoolDir, cfg.SpoolBudget = t.TempDir(), 4<<10
	for _, in := range scenarioInputs(t, 2000) {
		rep, err := Run(context.Background(), cfg, []string{in})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: %v", in, err)
		}
		format := func(dst []byte, event bool, rec []byte, strs audit.StringValues) ([]byte, error) {
			dst = append(dst, "flow "...)
			if event {
				dst = append(dst[:len(dst)-5], "event "...)
			}
			return append(throughStrings(dst, rec, strs), '\n'), nil
		}
		var want []byte
		add := func(event bool) func([]byte) error {
			return func(b []byte) error {
				want, _ = format(want, event, b, nil)
				return nil
			}
		}
		if err := rep.Records.Each(nil, add(false), add(true)); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 2, 7} {
			var got []byte
			sawEvents := false
			err := audit.EachFormatted(rep.Records, nil, workers, format, func(event bool, b []byte) error {
				if !event && sawEvents {
					t.Error("a flow record after the events")
				}
				sawEvents = sawEvents || event
				got = append(got, b...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, %d goroutines: %d bytes differ from Each's %d", filepath.Base(in), workers, len(got), len(want))
			}
		}
		rep.Records.(audit.OnceRecords).StreamOnce()
		if err := audit.EachFormatted(rep.Records, nil, 2, format, func(bool, []byte) error { return nil }); err != nil {
			t.Errorf("%s: the stream after StreamOnce: %v", filepath.Base(in), err)
		}
		spilled := false
		for _, w := range append(rep.Records.(*spooledRecords).flows, rep.Records.(*spooledRecords).events...) {
			spilled = spilled || w.SpilledBytes() > 0
		}
		if err := rep.Records.Each(nil, add(false), add(true)); err == nil && spilled {
			t.Errorf("%s: a second stream after StreamOnce worked", filepath.Base(in))
		}
		rep.Records.Close()
	}
}

// throughStrings appends rec, compact JSON, with its string values
// written through strs, as an audit.RecordFormat does.
func throughStrings(dst, rec []byte, strs audit.StringValues) []byte {
	var key []byte
	for i := 0; i < len(rec); i++ {
		if rec[i] != '"' {
			dst = append(dst, rec[i])
			continue
		}
		end := i + 1 // after the closing quote
		for end < len(rec) && rec[end] != '"' {
			if rec[end] == '\\' {
				end++
			}
			end++
		}
		end = min(end+1, len(rec))
		if end < len(rec) && rec[end] == ':' {
			key = rec[i+1 : end-1]
		} else if strs != nil {
			if out, e := strs(dst, rec, i, key); e >= 0 {
				dst, i = out, e-1
				continue
			}
		}
		dst = append(dst, rec[i:end]...)
		i = end - 1
	}
	return dst
}
