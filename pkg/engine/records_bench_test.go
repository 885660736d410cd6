//go:build unix

package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/phonehome/phonehome/pkg/geo"
	"github.com/phonehome/phonehome/pkg/leak"
	"github.com/phonehome/phonehome/pkg/report"
	"github.com/phonehome/phonehome/pkg/signature"
)

// BenchmarkWriteSpooledRecords is the writing after the analysis for json
// and ndjson, as the CLI runs it, without the write system calls: the
// spools' merge, the numbering, masking and formatting of every record and
// the devices, into io.Discard. The capture is PHONEHOME_REAL_BENCH
// (skipped when unset); it is analysed once, and every iteration streams
// its records again.
func BenchmarkWriteSpooledRecords(b *testing.B) {
	in := os.Getenv("PHONEHOME_REAL_BENCH")
	if in == "" {
		b.Skip("PHONEHOME_REAL_BENCH not set: no real-traffic bench")
	}
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g, err := geo.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	sigs, err := signature.LoadEmbedded()
	if err != nil {
		b.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Scanner: sc, Geo: g, Signatures: sigs, KeepFlows: true, KeepEvents: true, SpoolRecords: true, SpoolDir: b.TempDir()}, []string{in})
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

// cpuSeconds is the process's user and system time so far: the figure to
// compare on a machine whose other load makes wall times meaningless.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
