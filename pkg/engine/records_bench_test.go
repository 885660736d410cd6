//go:build unix

package engine

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/phonehome/phonehome/pkg/report"
)

// BenchmarkWriteSpooledRecords is the writing after the analysis for json
// and ndjson, as the CLI runs it, without the write system calls: the
// spools' merge, the numbering, masking and formatting of every record and
// the devices, into io.Discard. The capture is PHONEHOME_REAL_BENCH
// (skipped when unset); it is analysed once, and every iteration streams
// its records again.
func BenchmarkWriteSpooledRecords(b *testing.B) {
	in := realBench(b)
	cfg := genericConfig(b)
	cfg.KeepFlows, cfg.KeepEvents, cfg.SpoolRecords, cfg.SpoolDir = true, true, true, b.TempDir()
	rep, err := Run(context.Background(), cfg, []string{in})
	if err != nil && !errors.Is(err, ErrDamaged) {
		b.Fatal(err)
	}
	defer rep.Records.Close()
	for _, format := range []string{"json", "ndjson"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			cpu0 := cpuTime().Seconds()
			for b.Loop() {
				w := &countingWriter{}
				if err := report.Write(w, rep, report.Options{Format: format}); err != nil {
					b.Fatal(err)
				}
				n = w.n
			}
			b.SetBytes(n)
			b.ReportMetric((cpuTime().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// countingWriter counts what is written to it and keeps nothing.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
