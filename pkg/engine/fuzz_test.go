package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonehome/phonehome/fixtures/adversarial"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/report"
)

// FuzzRun feeds whole capture files through the pipeline (reader, L2-L4
// decoder, flow table, reassembly, protocol decoders, leak scan, report
// building). Seeds: the small adversarial captures (committed ones in
// testdata/fuzz/FuzzRun too). Run must return a report or ErrInput, never
// panic or hang.
func FuzzRun(f *testing.F) {
	for _, w := range []func(io.Writer) error{adversarial.Small, adversarial.SmallNG, adversarial.DNSLoops, adversarial.Injection,
		func(w io.Writer) error { return adversarial.HugeBlock(w, adversarial.HugeOption) },
		func(w io.Writer) error { return adversarial.Snaplen(w, 0) },
		func(w io.Writer) error { return adversarial.Backwards(w, 4) },
		scenario.HomeRouterLAN, // DHCP, ARP, router advertisement, DNS over TCP
		writeDoHCapture,        // DNS over HTTPS (h2c, HTTP/1.1) naming later rows
	} {
		var b bytes.Buffer
		if err := w(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	cfg := hostileConfig(f)
	dir := f.TempDir()
	// Records go through the spool (as for json and ndjson output), with
	// runs small enough that most inputs spill and merge.
	cfg.SpoolRecords, cfg.SpoolDir, cfg.SpoolBudget = true, f.TempDir(), 2<<10
	// And as for the flows table: a few records kept in memory, the
	// first by first frame.
	kept := hostileConfig(f)
	kept.KeepFlows, kept.MaxRecords = true, 3
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		path := filepath.Join(dir, "in.cap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), cfg, []string{path})
		switch {
		case err == nil, errors.Is(err, ErrDamaged):
			if rep == nil {
				t.Fatalf("no report with err %v", err)
			}
			if rep.Records != nil {
				werr := report.Write(io.Discard, rep, report.Options{Format: "ndjson"})
				if werr == nil {
					werr = report.Write(io.Discard, rep, report.Options{Format: "json"})
				}
				if cerr := rep.Records.Close(); werr != nil || cerr != nil {
					t.Fatalf("writing the spooled records: %v; removing the spool: %v", werr, cerr)
				}
			}
			krep, _ := Run(context.Background(), kept, []string{path})
			if krep == nil {
				t.Fatal("no report from the in-memory run")
			}
			if n := len(krep.Flows); n > kept.MaxRecords || uint64(n)+krep.Counters["flow_records_dropped"] != krep.Counters["flows"] {
				t.Fatalf("%d flow records kept and %d dropped of %d flows (cap %d)", n, krep.Counters["flow_records_dropped"], krep.Counters["flows"], kept.MaxRecords)
			}
			for i, fl := range krep.Flows {
				if fl.ID != uint64(i+1) || i > 0 && fl.FirstFrame < krep.Flows[i-1].FirstFrame {
					t.Fatalf("flow record %d: id %d, first frame %d after %d", i, fl.ID, fl.FirstFrame, krep.Flows[max(i-1, 0)].FirstFrame)
				}
			}
		case errors.Is(err, ErrInput):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
