//go:build unix

package engine

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// BenchmarkFinish is the end of the analysis alone (engine.finish: the
// workers' results merged, the pending pairs resolved, the devices built),
// as the CLI runs it for the table (no flow records) and for json
// (records spooled). The capture is PHONEHOME_REAL_BENCH (skipped when
// unset); every iteration reads it again, untimed, then times the end
// with the collector off, so that cpu-ms/op is the end's own work (what
// varies least on a loaded machine) and B/op what it leaves the collector.
func BenchmarkFinish(b *testing.B) {
	in := realBench(b)
	cfg := genericConfig(b)
	spooled := cfg
	spooled.KeepFlows, spooled.KeepEvents, spooled.SpoolRecords, spooled.SpoolDir = true, true, true, b.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"table", cfg},
		{"json", spooled},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				e := newRun(tc.cfg, 1)
				if err := e.readFile(context.Background(), in); err != nil {
					b.Fatal(err)
				}
				e.pool.close()
				runtime.GC()
				gc := debug.SetGCPercent(-1)
				b.StartTimer()
				cpu0 := cpuTime()
				e.finish()
				cpu += cpuTime() - cpu0
				b.StopTimer()
				debug.SetGCPercent(gc)
				if e.report.Records != nil {
					e.report.Records.Close()
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
